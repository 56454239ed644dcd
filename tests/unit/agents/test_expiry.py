"""The retention's index of keys by day: a sweep finds what it may drop without reading every key."""

from __future__ import annotations

import pytest

from agents.collection import DuplicateCollectionDetector
from agents.config import DuplicateCollectionConfig
from agents.expiry import DAY_S, DayIndex


def test_keys_of_the_days_before_the_horizon_are_found_once_and_those_days_leave() -> None:
    """Days wholly before the horizon give their keys and go; the day it falls in gives them and stays."""
    index = DayIndex()
    index.rebuild({}, [("a", 0.5 * DAY_S), ("b", 1.5 * DAY_S), ("a", 1.7 * DAY_S), ("c", 3.0 * DAY_S)])
    assert index.before(1.6 * DAY_S) == ["a", "b"]
    assert sorted(index.days) == [1, 3]
    assert index.before(2.0 * DAY_S) == ["b", "a"]
    assert index.before(3.0 * DAY_S) == []
    assert sorted(index.days) == [3]


def test_a_detector_on_a_restored_table_reads_it_once_then_drops_its_old_rounds() -> None:
    """A table filled before the detector met it (a worker taking a partition over) is indexed by
    one scan: its old rounds go at the next sweep like those the detector wrote itself."""
    visit = (10.0 * DAY_S, "e1", "S1")
    table = {"tok_old": {"R1": (visit,)}, "tok_kept": {"R1": (visit,), "R2": ((50.0 * DAY_S, "e2", "S1"),)}}
    detector = DuplicateCollectionDetector(DuplicateCollectionConfig())
    detector.expire({detector.typology: table}, 20.0 * DAY_S)
    assert table == {"tok_kept": {"R2": ((50.0 * DAY_S, "e2", "S1"),)}}


def test_duplicate_collection_sweeps_its_tokens_a_part_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """In parts of SWEEP_TOKENS tokens, each part done when the sweep is advanced, a token
    served again between two parts keeping its new round: in the end, what `expire` leaves."""
    monkeypatch.setattr("agents.collection.SWEEP_TOKENS", 2)
    old, new = (10.0 * DAY_S, "e1", "S1"), (30.0 * DAY_S, "e9", "S1")
    table = {f"tok_{n}": {"R1": (old,)} for n in range(5)}
    detector = DuplicateCollectionDetector(DuplicateCollectionConfig())
    parts = detector.sweep({detector.typology: table}, 20.0 * DAY_S)
    next(parts)
    assert len(table) == 3  # the first two tokens
    table["tok_4"] = {"R1": (old,), "R2": (new,)}  # served again meanwhile (after the horizon)
    assert list(parts) == [None]  # two more parts: the last one ends the sweep
    assert table == {"tok_4": {"R2": (new,)}}
