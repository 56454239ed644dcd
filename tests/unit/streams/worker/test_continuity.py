"""Messages in order from the committed offset: a hole in what the consumer hands over is
found (the worker then stops rather than let Faust commit over it)."""

from __future__ import annotations

from types import SimpleNamespace

from faust.types import TP

from streams.worker.continuity import Continuity

LANES = TP("app-lanes", 2)


def _continuity(committed: int | None) -> Continuity:
    """Over a consumer whose record of the group's commit for LANES is `committed`."""
    return Continuity(SimpleNamespace(consumer=SimpleNamespace(_committed_offset={LANES: committed})))


def test_messages_in_order_from_the_committed_offset_have_no_hole() -> None:
    continuity = _continuity(67)
    assert [continuity.hole(LANES, offset) for offset in (67, 68, 69)] == [None, None, None]


def test_a_first_message_past_the_committed_offset_is_a_hole_and_stays_one() -> None:
    """81 where 67 was committed: 67 to 80 are missing, and still missing at 82."""
    continuity = _continuity(67)
    assert continuity.hole(LANES, 81) == (67, 80)
    assert continuity.hole(LANES, 82) == (67, 81)


def test_a_hole_in_the_middle_is_found_and_a_message_read_again_is_none() -> None:
    continuity = _continuity(5)
    assert [continuity.hole(LANES, offset) for offset in (5, 6, 6, 9)] == [None, None, None, (7, 8)]


def test_a_partition_forgotten_starts_again_where_the_group_committed() -> None:
    continuity = _continuity(5)
    assert [continuity.hole(LANES, offset) for offset in (5, 6)] == [None, None]
    continuity.forget(LANES)
    assert continuity.hole(LANES, 9) == (5, 8)


def test_a_new_group_takes_the_first_message_it_gets() -> None:
    """No commit yet (Faust records offset 0 as None): whatever comes first is where it starts."""
    continuity = _continuity(None)
    assert [continuity.hole(LANES, offset) for offset in (3, 4)] == [None, None]
