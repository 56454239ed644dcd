"""The `deliver` agent over an AlertSink: each alert version once, acknowledged once it went out."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from types import SimpleNamespace

import pytest

from schemas.exceptions import InvalidAlertError
from streams.outputs.deliver import deliver_alerts
from streams.worker.progress import HandledOffsets

ALERT = b'{"alert_id": "a-1", "typology": "transit_loss", "severity": "high"}'


class Sink:
    """An AlertSink whose deliveries complete when the test says so."""

    def __init__(self) -> None:
        self.submitted: list[bytes] = []
        self.futures: list[asyncio.Future[None]] = []
        self.closed = False

    def submit(self, body: bytes) -> asyncio.Future[None]:
        if not body.startswith(b"{"):
            raise InvalidAlertError("not JSON")
        self.submitted.append(body)
        self.futures.append(asyncio.get_running_loop().create_future())
        return self.futures[-1]

    async def aclose(self) -> None:
        self.closed = True


class Table:
    def __init__(self, data: dict[bytes, bytes] | None = None) -> None:
        self.data = dict(data or {})
        self.changelog: list[tuple[int, bytes, bytes]] = []

    def send_changelog(self, partition: int, key: bytes, value: bytes) -> None:
        self.changelog.append((partition, key, value))


class Event:
    def __init__(self, offset: int, value: bytes | None, key: bytes = b"a-1") -> None:
        self.message = SimpleNamespace(topic="diversion.alerts.v1", partition=2, offset=offset, key=key, value=value)
        self.acked = False

    def ack(self) -> None:
        self.acked = True


class Stream:
    def __init__(self, events: list[Event]) -> None:
        self._events = events

    def noack(self) -> Stream:
        return self

    async def events(self) -> AsyncIterator[Event]:
        for event in self._events:
            yield event


def _run(sink: Sink, table: Table, events: list[Event]) -> HandledOffsets:
    offsets = HandledOffsets()
    asyncio.run(deliver_alerts(sink, table, offsets, Stream(events)))  # type: ignore[arg-type]
    return offsets


def test_tombstones_known_versions_and_non_alerts_are_acknowledged_without_delivery() -> None:
    """Nothing is submitted for a tombstone, a version already delivered or a message that is
    not an alert; each is acknowledged at once, and the offsets move past them all."""
    version = hashlib.sha256(ALERT).hexdigest().encode()
    sink, table = Sink(), Table({b"a-1": version})
    events = [Event(0, None), Event(1, ALERT), Event(2, b"not an alert", key=b"x")]
    offsets = _run(sink, table, events)
    assert sink.submitted == [] and all(event.acked for event in events)
    assert offsets.after("diversion.alerts.v1", 2) == 3 and sink.closed


def test_an_alert_is_acknowledged_and_recorded_only_once_delivered() -> None:
    """A new version is submitted; the message is acknowledged and the version recorded when
    its delivery completes, and never when it is cancelled (the worker stopping)."""
    sink, table = Sink(), Table()
    landed, cancelled = Event(0, ALERT), Event(1, ALERT.replace(b"high", b"low"), key=b"a-2")

    async def scenario() -> None:
        await deliver_alerts(sink, table, HandledOffsets(), Stream([landed, cancelled]))  # type: ignore[arg-type]
        assert not landed.acked and table.data == {}
        sink.futures[0].set_result(None)
        sink.futures[1].cancel()
        await asyncio.sleep(0)

    asyncio.run(scenario())
    assert sink.submitted == [ALERT, ALERT.replace(b"high", b"low")]
    assert landed.acked and not cancelled.acked
    assert table.data == {b"a-1": hashlib.sha256(ALERT).hexdigest().encode()}
    assert table.changelog == [(2, b"a-1", table.data[b"a-1"])]


def test_a_delivery_that_fails_on_our_side_is_said_and_not_acknowledged(caplog: pytest.LogCaptureFixture) -> None:
    """A delivery whose task raised (a fault of ours, not the receiver's) is not recorded as
    delivered nor acknowledged: one error line, and the alert goes out again after a restart."""
    sink, table = Sink(), Table()
    failed = Event(0, ALERT)

    async def scenario() -> None:
        await deliver_alerts(sink, table, HandledOffsets(), Stream([failed]))  # type: ignore[arg-type]
        sink.futures[0].set_exception(RuntimeError("a bug"))
        await asyncio.sleep(0)

    asyncio.run(scenario())
    assert not failed.acked and table.data == {} and table.changelog == []
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        "delivering alert a-1 failed (RuntimeError): not acknowledged, delivered again after a restart"]
