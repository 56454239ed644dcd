"""Long sequences kept in leaves and nodes: the entries of a sorted list, whatever the order
they come in, and a few values written per entry however late it is."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

import agents.chunks
from agents.chunks import (
    Sequence,
    Weight,
    append,
    collect,
    count,
    drop,
    fold,
    from_last,
    holds,
    names,
    place,
    remove,
    split_at,
    start,
)
from tests.unit.agents.stores import Names, WrittenOnce

Entry = tuple[int, str, int]  # time, id, amount


def weigh(entries: list[Any]) -> Weight:
    return len(entries), sum(amount for _, _, amount in entries)


@contextmanager
def sized(leaf: int, fan: int) -> Iterator[None]:
    with mock.patch.object(agents.chunks, "LEAF", leaf), mock.patch.object(agents.chunks, "FAN", fan):
        yield


def every_entry(store: dict[str, Any], sequence: Sequence) -> list[Any]:
    _, entries = split_at(store, sequence, (float("-inf"),), weigh)
    return list(entries)


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(st.tuples(st.sampled_from(["add", "late", "remove", "fold"]), st.integers(0, 200)),
                   min_size=1, max_size=150),
    sizes=st.sampled_from([(1, 2), (2, 2), (3, 2), (2, 3), (16, 16)]),
)
def test_a_sequence_holds_the_entries_of_a_sorted_list_in_any_order(steps: list[tuple[str, int]],
                                                                    sizes: tuple[int, int]) -> None:
    """Entries added in order, placed late, taken out and folded away leave the sequence what
    a sorted list holds: the same entries, weights before any stamp, entries from the last,
    and in the store only what the sequence names (folding deletes what it drops), none of
    it written twice."""
    store = WrittenOnce()
    fresh = Names()
    model: list[Entry] = [(0, "e-first", 1)]
    sequence = start(model[0])
    with sized(*sizes):
        for n, (action, t) in enumerate(steps):
            entry = (t, f"e{n:03d}", n % 7 + 1)
            if action == "add":
                entry = (model[-1][0] + t % 3, entry[1], entry[2])
                if entry[:2] > model[-1][:2]:
                    append(store, sequence, entry, weigh, fresh)
                    model.append(entry)
            elif action == "late":
                assert place(store, sequence, entry[:2], entry, weigh, fresh)
                assert not place(store, sequence, entry[:2], entry, weigh, fresh)
                model = sorted([*model, entry])
            elif action == "remove" and len(model) > 1:
                gone = model[t % len(model)]
                assert remove(store, sequence, gone[:2], weigh, fresh)
                assert not remove(store, sequence, gone[:2], weigh, fresh)
                model.remove(gone)
            elif action == "fold":
                dropped = fold(store, sequence, (t,), weigh, fresh)
                if dropped is not None:
                    lines, amount = dropped
                    assert all(entry < (t,) for entry in model[:lines]) and lines < len(model)
                    assert amount == sum(amount for _, _, amount in model[:lines])
                    model = model[lines:]
            assert set(store) == set(names(store, sequence))
            assert every_entry(store, sequence) == model
            assert count(sequence) == len(model)
            probe = model[t % len(model)]
            before, after = split_at(store, sequence, probe[:2], weigh)
            at = model.index(probe)
            assert before == (at, sum(amount for _, _, amount in model[:at])) and list(after) == model[at:]
            assert holds(store, sequence, probe[:2]) and not holds(store, sequence, (probe[0], probe[1] + "x"))
            assert from_last(store, sequence, t % len(model)) == model[-1 - t % len(model)]


def test_a_sequence_that_goes_leaves_nothing_and_collect_takes_only_what_none_names() -> None:
    """`drop` deletes every leaf and node of a sequence; `collect` deletes a value no
    sequence names (one a checkpoint cut short left) and keeps those a sequence does."""
    store: dict[str, Any] = {}
    fresh = Names()
    kept, going = start((0, "k0", 1)), start((0, "g0", 1))
    for n in range(1, 300):
        append(store, kept, (n, f"k{n}", 1), weigh, fresh)
        append(store, going, (n, f"g{n}", 1), weigh, fresh)
    store["orphan"] = [(5, "o", 1)]
    named = set(names(store, kept))
    assert len(named) > 10 and len(set(names(store, going))) > 10
    drop(store, going)
    assert set(store) == named | {"orphan"}
    collect(store, named)
    assert set(store) == named
    assert every_entry(store, kept) == [(n, f"k{n}", 1) for n in range(300)]


def test_an_entry_however_late_writes_a_few_values() -> None:
    """In a sequence of 20,000 entries, one placed before them all, or in the middle, writes
    as many values as the tree is high (a leaf and the nodes above it), not the thousand
    leaves after it."""
    store = WrittenOnce()
    fresh = Names()
    sequence = start((0, "e0", 1))
    for n in range(1, 20_000):
        append(store, sequence, (n * 10, f"e{n}", 1), weigh, fresh)
    height = len(sequence) - 1
    assert height >= 3
    for late in [(-5, "first", 1), (100_005, "middle", 1), (199_985, "near the end", 1)]:
        written = len(store.written)
        assert place(store, sequence, late[:2], late, weigh, fresh)
        assert len(store.written) - written <= height
    assert count(sequence) == 20_003 and every_entry(store, sequence)[0] == (-5, "first", 1)
