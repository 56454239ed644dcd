"""Long sequences in time order, kept in small values so that an entry, in order or late,
changes a few of them, however long the sequence and however late the entry.

Entries are plain tuples that start with their stamp, which orders them (time first). The
sequence is a tree whose nodes are values of a store, never written over under a name:
a leaf holds up to `LEAF` entries, a node up to `FAN` index entries `(first, name,
weight)` of the nodes (or leaves) below it: the first entry under it, its name in the
store and its weight, `(count, *sums)` of its entries as the sequence's `weigh` gives it.

The newest part of the tree, one open node per height, is kept in the sequence's owner's
record: `sequence[0]` is the open leaf (the latest entries), `sequence[h]` the open node of
height `h`, holding the closed nodes of height `h - 1` that come before everything in
the open nodes below it. An entry in time order goes at the end of the open leaf; a full
open node goes into the store under a new name, its index entry at the end of the open
node above it. An entry that comes late goes into the leaf that holds its place: that
leaf, and the closed nodes above it up to an open one, are stored again under new names
(a node grown to twice its size is split in two) and their old names deleted. So a late
entry writes a few values (the tree's height), and an entry in order writes one (its
open leaf, in the record) plus, every `LEAF` entries, a leaf.

The owner's record names the tree's top, and so decides which version of the sequence
holds. A checkpoint writes nodes before the records that name them and deletions after
both (`agents.monitor.write_rank`): one cut short anywhere leaves each record with its
old sequence whole, or its new one. Names come from the owner and are never used twice,
so a node written by a checkpoint cut short, which no record names, is only written over
when its events are applied again, or collected by the retention (`collect`).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from agents.state import Store

LEAF = 16  # entries a leaf holds before it goes into the store
FAN = 16  # index entries a node holds before it does

Sequence = list[list[Any]]
"""`[open leaf, open node of height 1, ...]`: the part of the tree its owner keeps."""

Weight = tuple[Any, ...]
"""`(count, *sums)` of a leaf's entries (what `Weigh` gives) or of a node's (its entries' summed)."""

Weigh = Callable[[list[Any]], Weight]
Names = Callable[[], str]
"""Gives a name no node of the store has had."""

Place = list[tuple[list[Any], int]]
"""Where an entry goes: from the open node that holds it down to its leaf, each node and
the index (in it) of the entry or child on the way; a node other than the first is read
from the store."""


def start(entry: Any) -> Sequence:
    """A sequence of one entry."""
    return [[entry]]


def last(sequence: Sequence) -> Any:
    """The sequence's latest entry."""
    return sequence[0][-1]


def append(store: Store, sequence: Sequence, entry: Any, weigh: Weigh, fresh: Names) -> None:
    """Add `entry`, which goes after every entry of the sequence, at its end."""
    leaf = sequence[0]
    if len(leaf) >= LEAF:
        _close(store, sequence, 0, weigh, fresh)
        leaf = sequence[0]
    leaf.append(entry)


def place(store: Store, sequence: Sequence, stamp: tuple[Any, ...], entry: Any, weigh: Weigh,
          fresh: Names) -> bool:
    """Put `entry` (stamped `stamp`) in its place; False when an entry with that stamp is
    there already."""
    where = _find(store, sequence, stamp)
    leaf, _ = where[-1]
    index = bisect.bisect_left(leaf, stamp)
    if index < len(leaf) and leaf[index][:len(stamp)] == stamp:
        return False
    _change(store, sequence, where, [*leaf[:index], entry, *leaf[index:]], weigh, fresh)
    return True


def remove(store: Store, sequence: Sequence, stamp: tuple[Any, ...], weigh: Weigh, fresh: Names) -> bool:
    """Take the entry stamped `stamp` out; False when there is none."""
    where = _find(store, sequence, stamp)
    leaf, _ = where[-1]
    index = bisect.bisect_left(leaf, stamp)
    if index == len(leaf) or leaf[index][:len(stamp)] != stamp:
        return False
    _change(store, sequence, where, [*leaf[:index], *leaf[index + 1:]], weigh, fresh)
    return True


def holds(store: Store, sequence: Sequence, stamp: tuple[Any, ...]) -> bool:
    """Whether an entry stamped `stamp` is in the sequence."""
    leaf, _ = _find(store, sequence, stamp)[-1]
    index = bisect.bisect_left(leaf, stamp)
    return index < len(leaf) and leaf[index][:len(stamp)] == stamp


def count(sequence: Sequence) -> int:
    """How many entries the sequence holds."""
    n: int = len(sequence[0])
    for node in sequence[1:]:
        for _, _, weight in node:
            n += weight[0]
    return n


def from_last(store: Store, sequence: Sequence, steps: int) -> Any:
    """The entry `steps` entries before the last one of the sequence (0: the last)."""
    leaf = sequence[0]
    if steps < len(leaf):
        return leaf[-1 - steps]
    steps -= len(leaf)
    for height, node in enumerate(sequence[1:]):  # the entries of an open node are `height` high
        for _, name, weight in reversed(node):
            if steps < weight[0]:
                return _from_last_under(store, name, height, steps)
            steps -= weight[0]
    raise IndexError("the sequence is shorter than that")


def split_at(store: Store, sequence: Sequence, stamp: tuple[Any, ...], weigh: Weigh,
             skip: Callable[[Weight], bool] | None = None) -> tuple[Weight, Iterator[Any]]:
    """The weight of the entries stamped before `stamp`, and the entries from it on, in
    order; those of each closed leaf or node, as the iteration comes to it, left out if
    `skip` says so given its weight."""
    where = _find(store, sequence, stamp)
    top = _height(sequence, where)
    weights = [weight for node in sequence[top + 1:] for _, _, weight in node]
    for node, index in where[:-1]:
        weights += [weight for _, _, weight in node[:index]]
    leaf, _ = where[-1]
    index = bisect.bisect_left(leaf, stamp)
    weights.append(weigh(leaf[:index]))
    return add(weights), _after(store, sequence, where, top, leaf[index:], skip)


def names(store: Store, sequence: Sequence) -> Iterator[str]:
    """The names of the sequence's nodes and leaves in the store."""
    for height, node in enumerate(sequence[1:]):
        for _, name, _ in node:
            yield from _names_under(store, name, height)


def fold(store: Store, sequence: Sequence, limit: tuple[Any, ...], weigh: Weigh, fresh: Names) -> Weight | None:
    """Drop the leaves all of whose entries are before `limit` (never the open leaf), and
    delete them and the nodes above them that go; the weight dropped, or None when none was.
    The closed nodes that lose some of their leaves are stored again under new names."""
    dropped: list[Weight] = []
    for height in range(len(sequence) - 1, 0, -1):
        node = sequence[height]
        while node and _first_after(sequence, height, 0) <= limit:
            _, name, weight = node.pop(0)
            _delete_under(store, name, height - 1)
            dropped.append(weight)
        if not node:
            continue
        if height > 1 and node[0][0] < limit:  # its first leaves may be
            more, item = _fold_node(store, node[0], height - 1, _first_after(sequence, height, 0), limit, weigh,
                                    fresh)
            if item is not None:
                node[0] = item
                dropped += more
        break
    return add(dropped) if dropped else None


def drop(store: Store, sequence: Sequence) -> None:
    """Delete the closed leaves and nodes of a sequence that goes."""
    for name in list(names(store, sequence)):
        del store[name]


def collect(store: Store, kept: set[str]) -> None:
    """Delete every value of the store that no sequence holds (`kept`: the names the
    sequences hold): those of a checkpoint cut short that no record came to name (`fold`
    and `drop` delete what they take out themselves)."""
    for name in [name for name in store if name not in kept]:
        del store[name]


def add(weights: Iterable[Weight]) -> Weight:
    """Weights summed, term by term."""
    return tuple(map(sum, zip(*weights, strict=True)))


def _close(store: Store, sequence: Sequence, height: int, weigh: Weigh, fresh: Names) -> None:
    """Store the open node of `height`, its index entry at the end of the open node above."""
    node = sequence[height]
    name = fresh()
    store[name] = node
    sequence[height] = []
    if height + 1 == len(sequence):
        sequence.append([])
    above = sequence[height + 1]
    above.append(_index(node, height, name, weigh))
    if len(above) >= FAN:
        _close(store, sequence, height + 1, weigh, fresh)


def _index(node: list[Any], height: int, name: str, weigh: Weigh) -> tuple[Any, str, Weight]:
    """The index entry of a leaf (`height` 0) or node stored under `name`."""
    if height == 0:
        return node[0], name, weigh(node)
    return node[0][0], name, add(weight for _, _, weight in node)


def _find(store: Store, sequence: Sequence, stamp: tuple[Any, ...]) -> Place:
    """Where an entry stamped `stamp` goes: the last leaf whose first entry is not after it,
    or the first leaf of all."""
    width = len(stamp)
    leaf = sequence[0]
    if leaf and leaf[0][:width] <= stamp:
        return [(leaf, 0)]
    for height in range(1, len(sequence)):
        if sequence[height] and sequence[height][0][0][:width] <= stamp:
            break
    else:  # before every entry: the first leaf of the highest open node that has one
        height = max((h for h in range(len(sequence)) if sequence[h]), default=0)
        if height == 0:
            return [(leaf, 0)]
    node = sequence[height]
    where: Place = []
    while height:
        index = max(0, bisect.bisect_right(node, stamp, key=lambda item: item[0][:width]) - 1)
        where.append((node, index))
        node = store[node[index][1]]
        height -= 1
    where.append((node, 0))
    return where


def _height(sequence: Sequence, where: Place) -> int:
    """The height of the open node a place starts from."""
    node, _ = where[0]
    for height, held in enumerate(sequence):
        if held is node:
            return height
    raise LookupError("the place does not start at an open node")


def _change(store: Store, sequence: Sequence, where: Place, entries: list[Any], weigh: Weigh,
            fresh: Names) -> None:
    """The leaf at the end of `where` now holds `entries` (none, or up to twice its size
    and more): store it, and the closed nodes above it, again under new names."""
    top = _height(sequence, where)
    if top == 0:
        sequence[0] = entries
        _settle_open(store, sequence, weigh, fresh)
        return
    items = _pieces(entries, LEAF, 0, weigh, store, fresh)
    for depth in range(top - 1, -1, -1):  # the node at `depth` is `top - depth` high
        node, index = where[depth]
        _, old, weight = node[index]
        del store[old]
        changed = [*node[:index], *items, *node[index + 1:]]
        if depth == 0:
            sequence[top] = changed
        else:
            above, at = where[depth - 1]
            _, _, total = above[at]  # the node's weight before: what changed is the child's
            total = tuple(term - was + sum(now) for term, was, *now in zip(total, weight, *(w for _, _, w in items),
                                                                          strict=True))
            items = _pieces(changed, FAN, top - depth, weigh, store, fresh, total)
    if len(sequence[top]) >= FAN:
        _close(store, sequence, top, weigh, fresh)


def _pieces(entries: list[Any], size: int, height: int, weigh: Weigh, store: Store, fresh: Names,
            weight: Weight | None = None) -> list[tuple[Any, str, Weight]]:
    """A leaf's or node's entries (of `weight`, when known) stored under new names, in two
    halves once past twice `size`; the index entries naming them (none when it is empty)."""
    if not entries:
        return []
    if weight is not None and len(entries) <= 2 * size:
        name = fresh()
        store[name] = entries
        return [(entries[0][0], name, weight)]
    half = len(entries) // 2
    items = []
    for piece in [entries] if len(entries) <= 2 * size else [entries[:half], entries[half:]]:
        name = fresh()
        store[name] = piece
        items.append(_index(piece, height, name, weigh))
    return items


def _settle_open(store: Store, sequence: Sequence, weigh: Weigh, fresh: Names) -> None:
    """After the open leaf changed: one grown past twice its size closes its first half;
    one emptied takes the latest closed leaf back (the sequence empty, it stays empty)."""
    leaf = sequence[0]
    if len(leaf) > 2 * LEAF:
        half = len(leaf) // 2
        sequence[0] = leaf[:half]
        _close(store, sequence, 0, weigh, fresh)
        sequence[0] = leaf[half:]
        return
    if leaf:
        return
    height = next((h for h in range(1, len(sequence)) if sequence[h]), 0)
    while height:
        _, name, _ = sequence[height].pop()
        sequence[height - 1] = list(store[name])
        del store[name]
        height -= 1


def _first_after(sequence: Sequence, height: int, index: int) -> Any:
    """The first entry after the one at `index` of the open node of `height`, in the
    sequence's order."""
    node = sequence[height]
    if index + 1 < len(node):
        return node[index + 1][0]
    for lower in range(height - 1, 0, -1):
        if sequence[lower]:
            return sequence[lower][0][0]
    return sequence[0][0]


def _fold_node(store: Store, item: tuple[Any, str, Weight], height: int, after: Any, limit: tuple[Any, ...],
               weigh: Weigh, fresh: Names) -> tuple[list[Weight], tuple[Any, str, Weight] | None]:
    """`fold` within a closed node `height` high (at least 1) whose first entry is before
    `limit` and whose next (`after`) is not: the weights dropped, and the node's new index
    entry (None when nothing was dropped)."""
    _, name, _ = item
    children = store[name]
    dropped = []
    keep = 0
    while keep + 1 < len(children) and children[keep + 1][0] <= limit:
        _, below, weight = children[keep]
        _delete_under(store, below, height - 1)
        dropped.append(weight)
        keep += 1
    rest = children[keep:]
    if height > 1 and rest[0][0] < limit:
        more, first = _fold_node(store, rest[0], height - 1, rest[1][0] if len(rest) > 1 else after, limit, weigh,
                                 fresh)
        if first is not None:
            rest = [first, *rest[1:]]
            dropped += more
    if not dropped:
        return [], None
    del store[name]
    fresh_name = fresh()
    store[fresh_name] = rest
    return dropped, _index(rest, height, fresh_name, weigh)


def _after(store: Store, sequence: Sequence, where: Place, top: int, rest: list[Any],
           skip: Callable[[Weight], bool] | None) -> Iterator[Any]:
    """The entries after a place in the sequence: `rest` of its leaf, then those of every
    leaf after it (see `split_at`)."""
    yield from rest
    for depth in range(len(where) - 2, -1, -1):  # the node at `depth` is `top - depth` high
        node, index = where[depth]
        yield from _entries_under(store, node[index + 1:], top - depth - 1, skip)
    for height in range(top - 1, 0, -1):
        yield from _entries_under(store, sequence[height], height - 1, skip)
    if top:
        yield from sequence[0]


def _entries_under(store: Store, items: list[Any], height: int, skip: Callable[[Weight], bool] | None) -> Iterator[Any]:
    """The entries of the leaves or nodes (`height` high) that `items` index."""
    for _, name, weight in items:
        if skip is not None and skip(weight):
            continue
        if height:
            yield from _entries_under(store, store[name], height - 1, skip)
        else:
            yield from store[name]


def _names_under(store: Store, name: str, height: int) -> Iterator[str]:
    yield name
    if height:
        for _, below, _ in store[name]:
            yield from _names_under(store, below, height - 1)


def _delete_under(store: Store, name: str, height: int) -> None:
    for gone in list(_names_under(store, name, height)):
        del store[gone]


def _from_last_under(store: Store, name: str, height: int, steps: int) -> Any:
    node = store[name]
    while height:
        for _, below, weight in reversed(node):
            if steps < weight[0]:
                node = store[below]
                break
            steps -= weight[0]
        height -= 1
    return node[-1 - steps]
