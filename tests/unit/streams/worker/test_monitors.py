"""Monitors per lanes partition: acknowledgement after checkpoint, alerts sent again on take-over."""

from __future__ import annotations

import json
from typing import Any

import pytest

from schemas.events import Event
from schemas.exceptions import WorkerError
from streams.settings import Settings
from streams.worker.lanes import route
from streams.worker.monitors import CHECKPOINT_MESSAGES, Monitors
from tests import support as s


class Table(dict[bytes, bytes]):
    """The parts of a Faust table the monitors use: a mapping, its data and its changelog."""

    def __init__(self) -> None:
        super().__init__()
        self.changelog: list[tuple[int, bytes, bytes | None]] = []

    @property
    def data(self) -> dict[bytes, bytes]:
        return self

    def send_changelog(self, partition: int, key: bytes, value: bytes | None, **kwargs: Any) -> None:
        self.changelog.append((partition, key, value))


class Held:
    """A Faust event that records how much of the table was written when it was acknowledged."""

    def __init__(self, table: Table, acked: list[int]) -> None:
        self.table, self.acked = table, acked

    def ack(self) -> None:
        self.acked.append(len(self.table.data))


def _lane(event: Event) -> bytes:
    """The lanes message the router makes of `event` with one partition."""
    [(_, only, copy)] = route(event, 1)
    return json.dumps({"kind": "event", "source": "events-0", "only": sorted(only), "stamp": 1.0,
                       "event": copy.model_dump(mode="json")}).encode()


def _short_delivery() -> list[Event]:
    return [s.dispatch("SHP-1", time=s.at()), s.receipt("SHP-1", items=[("maize", "kg", 500)], time=s.at(hours=3))]


def test_events_are_acknowledged_only_after_a_checkpoint_wrote_their_state() -> None:
    """Held events stay unacknowledged until checkpoint(), which writes the table first."""
    table, acked = Table(), []
    monitors = Monitors(Settings(), None, table)
    for event in _short_delivery():
        monitors.handle(0, _lane(event))
        monitors.hold(Held(table, acked))  # type: ignore[arg-type]
    assert acked == [] and table.data == {} and not monitors.due()
    monitors.checkpoint()
    assert acked == [len(table.data)] * 2 and table.data
    assert {key for _, key, _ in table.changelog} == set(table.data)
    assert not monitors.due()


def test_a_checkpoint_is_due_after_enough_messages() -> None:
    """CHECKPOINT_MESSAGES held events make a checkpoint due at once."""
    table = Table()
    monitors = Monitors(Settings(), None, table)
    for _ in range(CHECKPOINT_MESSAGES - 1):
        monitors.hold(Held(table, []))  # type: ignore[arg-type]
    assert not monitors.due()
    monitors.hold(Held(table, []))  # type: ignore[arg-type]
    assert monitors.due()


def test_a_partition_taken_over_sends_its_alerts_again_and_counts_them_as_raised() -> None:
    """A new owner's first message of a partition returns the partition's alerts to send again;
    they are not counted as raised a second time."""
    table = Table()
    first = Monitors(Settings(), None, table)
    raised = [alert for event in _short_delivery() for alert in first.handle(0, _lane(event))[1]]
    assert raised and first.first_raised(raised) == raised
    first.checkpoint()
    first.forget([0])
    second = Monitors(Settings(), None, table)
    tick = json.dumps({"kind": "tick", "source": "events-0", "time": s.at(hours=4).timestamp()}).encode()
    again, _, stamp = second.handle(0, tick)
    assert [a.alert_id for a in again] == [a.alert_id for a in raised] and stamp is None
    assert second.first_raised(again) == []


def test_an_unknown_lanes_message_is_a_worker_error() -> None:
    """A lanes message of a kind the router never writes raises WorkerError."""
    monitors = Monitors(Settings(), None, Table())
    with pytest.raises(WorkerError, match="unknown lanes message kind"):
        monitors.handle(0, json.dumps({"kind": "nonsense", "source": "events-0"}).encode())
