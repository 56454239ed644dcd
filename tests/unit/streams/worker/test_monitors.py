"""Monitors per lanes partition: acknowledgement after checkpoint, alerts sent again on take-over."""

from __future__ import annotations

import pytest

from schemas.events import Event
from schemas.exceptions import WorkerError
from streams.settings import Settings
from streams.worker.lanes import route
from streams.worker.monitors import CHECKPOINT_ITEMS, Monitors
from streams.worker.outbox import LaneItem
from tests import support as s


class Table(dict[bytes, bytes]):
    """The parts of a Faust table the monitors use: a mapping and its data."""

    @property
    def data(self) -> dict[bytes, bytes]:
        return self


class Held:
    """A Faust event that records how much of the table was written when it was acknowledged."""

    def __init__(self, table: Table, acked: list[int]) -> None:
        self.table, self.acked = table, acked

    def ack(self) -> None:
        self.acked.append(len(self.table.data))


def _lane(event: Event) -> LaneItem:
    """The lanes item the router makes of `event` with one partition."""
    [(_, only, copy)] = route(event, 1)
    return LaneItem("event", "events-0", tuple(sorted(only)), 1.0, None, copy.model_dump_json().encode())


def _short_delivery() -> list[Event]:
    return [s.dispatch("SHP-1", time=s.at()), s.receipt("SHP-1", items=[("maize", "kg", 500)], time=s.at(hours=3))]


def test_a_checkpoint_hands_over_the_changed_rows_with_the_events_they_hold() -> None:
    """Held events are neither acknowledged nor written before checkpoint(), which puts the
    changes in the table and returns them for the changelog with the events to acknowledge
    once they are written; a checkpoint that could not be written gives its events back."""
    table, acked = Table(), []
    monitors = Monitors(Settings(), None, table)
    for event in _short_delivery():
        monitors.apply(0, _lane(event))
        monitors.hold(Held(table, acked), 1)  # type: ignore[arg-type]
    assert acked == [] and table.data == {} and not monitors.due()
    rows, held = monitors.checkpoint()
    assert acked == [] and len(held) == 2 and table.data
    assert list(rows) == [0] and rows[0] == table.data
    assert not monitors.due() and monitors.checkpoint() == ({}, [])
    monitors.hold_back(held)
    assert monitors.checkpoint() == ({}, held)


def test_a_checkpoint_is_due_after_enough_items() -> None:
    """Held lanes messages carrying CHECKPOINT_ITEMS items make a checkpoint due at once."""
    table = Table()
    monitors = Monitors(Settings(), None, table)
    monitors.hold(Held(table, []), CHECKPOINT_ITEMS - 2)  # type: ignore[arg-type]
    assert not monitors.due()
    monitors.hold(Held(table, []), 1)  # type: ignore[arg-type]
    assert not monitors.due()
    monitors.hold(Held(table, []), 1)  # type: ignore[arg-type]
    assert monitors.due()


def test_a_partition_taken_over_sends_its_alerts_again_and_counts_them_as_raised() -> None:
    """A new owner's first message of a partition returns the partition's alerts to send again;
    they are not counted as raised a second time."""
    table = Table()
    first = Monitors(Settings(), None, table)
    raised = [alert for event in _short_delivery() for alert in first.apply(0, _lane(event))[1]]
    assert raised and first.first_raised(raised) == raised
    first.checkpoint()
    first.forget([0])
    second = Monitors(Settings(), None, table)
    again, _ = second.apply(0, LaneItem("tick", "events-0", (), None, s.at(hours=4).timestamp()))
    assert [a.alert_id for a in again] == [a.alert_id for a in raised]
    assert second.first_raised(again) == []


def test_an_unknown_lanes_item_is_a_worker_error() -> None:
    """A lanes item of a kind the router never writes raises WorkerError."""
    monitors = Monitors(Settings(), None, Table())
    with pytest.raises(WorkerError, match="unknown lanes item kind"):
        monitors.apply(0, LaneItem("nonsense", "events-0"))  # type: ignore[arg-type]
