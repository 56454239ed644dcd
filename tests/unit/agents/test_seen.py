"""The seen event ids: buckets written once per checkpoint, forgotten whole by the retention."""

from __future__ import annotations

from typing import Any

from agents.seen import BUCKET_IDS, SeenEvents


def test_ids_seen_between_two_seals_share_one_bucket_and_the_next_ones_start_another() -> None:
    """A checkpoint's ids are one store value; after the seal a new key, the old one untouched."""
    store: dict[str, Any] = {}
    seen = SeenEvents(store)
    seen.add("a", 10.0)
    seen.add("b", 5.0)
    assert store == {"0": (10.0, ["a", "b"])}
    seen.seal()
    seen.add("c", 20.0)
    assert store == {"0": (10.0, ["a", "b"]), "1": (20.0, ["c"])}
    assert "a" in seen and "c" in seen and "d" not in seen and len(seen) == 3


def test_a_full_bucket_is_not_added_to() -> None:
    """Without seals (a replay), a bucket holds at most BUCKET_IDS ids."""
    store: dict[str, Any] = {}
    seen = SeenEvents(store)
    for n in range(BUCKET_IDS + 1):
        seen.add(f"e{n}", float(n))
    assert len(store["0"][1]) == BUCKET_IDS and store["1"] == (float(BUCKET_IDS), [f"e{BUCKET_IDS}"])


def test_a_bucket_is_forgotten_only_once_its_latest_event_is_behind_the_horizon() -> None:
    """A bucket that straddles the horizon keeps all its ids; one wholly behind it goes."""
    store: dict[str, Any] = {}
    seen = SeenEvents(store)
    seen.add("old", 1.0)
    seen.add("older", 0.5)
    seen.seal()
    seen.add("early", 2.0)
    seen.add("late", 9.0)
    seen.expire(horizon=5.0)
    assert set(store) == {"1"} and "old" not in seen and "older" not in seen
    assert "early" in seen and "late" in seen
    seen.expire(horizon=9.5)
    assert store == {} and len(seen) == 0


def test_a_monitor_built_on_the_store_knows_every_id_and_starts_a_new_bucket() -> None:
    """Read back (a restarted worker), the ids are there and no written bucket is added to."""
    store: dict[str, Any] = {}
    seen = SeenEvents(store)
    for n in range(5):
        seen.add(f"e{n}", float(n))
    again = SeenEvents(store)
    assert all(f"e{n}" in again for n in range(5))
    again.add("new", 7.0)
    assert store["0"] == (4.0, [f"e{n}" for n in range(5)]) and store["1"] == (7.0, ["new"])


def test_a_forgotten_id_is_no_longer_seen_and_its_bucket_keeps_the_others() -> None:
    store: dict[str, Any] = {}
    seen = SeenEvents(store)
    seen.add("a", 1.0)
    seen.add("b", 2.0)
    seen.forget("a")
    assert "a" not in seen and "b" in seen and store["0"] == (2.0, ["b"])
    seen.add("c", 3.0)  # the open bucket is still the one the store holds
    assert store["0"] == (3.0, ["b", "c"])
