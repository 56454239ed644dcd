"""Long sequences in time order, kept as a chain of short chunks that are never rewritten.

A chunk is a short list of entries in order and the name of the chunk before it in a store
(None: the first). Entries are plain tuples that start with their stamp, which orders
them (time first). The sequence's owner keeps its latest chunk in its own record; the
earlier ones are values of the store. An entry in time order goes at the end of the
latest chunk; after `CHUNK_SIZE` entries that chunk goes into the store under a new name
and a new one starts, so what an entry in order changes has a bounded size, however long
the sequence.

A chunk in the store is never written again under its name: an entry that arrives late
walks back over the chunks it goes before, and those are stored again under new names
(`rewrite`), their old names deleted. The owner's record, holding the latest chunk and so
the name of the one before it, decides which version of the sequence holds. A checkpoint
writes chunks before the records that name them and deletions after both
(`agents.monitor.write_rank`): one cut short anywhere leaves each record with its old
sequence whole, or its new one. Names come from the owner and are never used twice, so a
chunk written by a checkpoint cut short, which no record names, is only written over when
its events are applied again, or collected by the retention.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from agents.state import Store

CHUNK_SIZE = 16

Chunk = tuple[str | None, list[Any]]
"""Entries in order, and the name of the chunk before them (None: the first)."""

Walked = list[tuple[str | None, Chunk]]
"""Chunks from the latest back, with their names (None for the latest: its owner keeps it)."""

Names = Callable[[], str]
"""Gives a name no chunk of the store has had."""


def push(store: Store, latest: Chunk, entry: Any, fresh: Names) -> Chunk:
    """Append `entry`, in order, to the latest chunk; the latest chunk after it (a new one,
    once the latest is full and has gone into the store)."""
    _, entries = latest
    if len(entries) < CHUNK_SIZE:
        entries.append(entry)
        return latest
    name = fresh()
    store[name] = latest
    return name, [entry]


def walk_back(store: Store, latest: Chunk, stamp: tuple[Any, ...], floor: str | None = None) -> Walked:
    """The chunks from the latest back to the one an entry stamped `stamp` goes in: the first
    whose first entry is not after it, or the first of all (the one after `floor`, when the
    sequence's earlier chunks were folded away up to that one)."""
    width = len(stamp)
    walked: Walked = [(None, latest)]
    before, entries = latest
    while before is not None and before != floor and (not entries or entries[0][:width] > stamp):
        chunk: Chunk = store[before]
        walked.append((before, chunk))
        before, entries = chunk
    return walked


def rewrite(store: Store, walked: Walked, fresh: Names) -> Chunk:
    """Store the walked chunks, whose entries were changed, again under new names, from the
    earliest (a chunk emptied goes, one grown past twice the size is split in two), delete
    their old names, and return the latest chunk, for its owner to keep."""
    _, (before, _) = walked[-1]
    pieces: list[list[Any]] = []
    for _, (_, entries) in reversed(walked):
        if len(entries) > 2 * CHUNK_SIZE:
            half = len(entries) // 2
            pieces += [entries[:half], entries[half:]]
        elif entries:
            pieces.append(entries)
    for name, _ in walked:
        if name is not None:
            del store[name]
    if not pieces:
        return before, []
    for entries in pieces[:-1]:
        name = fresh()
        store[name] = (before, entries)
        before = name
    return before, pieces[-1]


def from_last(store: Store, latest: Chunk, steps: int) -> Any:
    """The entry `steps` entries before the last one of the sequence (0: the last)."""
    before, entries = latest
    while steps >= len(entries):
        steps -= len(entries)
        if before is None:
            raise IndexError("the sequence is shorter than that")
        before, entries = store[before]
    return entries[-1 - steps]


def chain(store: Store, latest: Chunk, floor: str | None = None) -> Iterable[str]:
    """The names of the sequence's chunks in the store, from the latest back."""
    before, _ = latest
    while before is not None and before != floor:
        yield before
        before, _ = store[before]


def collect(store: Store, kept: set[str]) -> None:
    """Delete every chunk of the store that no sequence holds any more (`kept`: the names
    the sequences hold): those folded away or of sequences that went, and those of a
    checkpoint cut short that no record came to name."""
    for name in [name for name in store if name not in kept]:
        del store[name]
