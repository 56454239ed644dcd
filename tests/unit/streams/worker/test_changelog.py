"""The changelog writer keeps what it could not deliver for the next checkpoint, and writes
checkpoints one after another, each whole before the next."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from streams.worker.changelog import ChangelogWriter


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens there once the socket is closed


def test_checkpoints_a_write_could_not_deliver_stay_pending_unmerged() -> None:
    """No broker: the write raises, and its checkpoint waits for the next write, which
    keeps the two apart (a key changed in both is written twice, once with each)."""
    writer = ChangelogWriter(f"kafka://127.0.0.1:{_closed_port()}", "app-state-changelog")

    async def attempt(rows: dict[int, dict[bytes, bytes | None]]) -> None:
        with pytest.raises(Exception):  # noqa: B017 - the client's own connection error
            await writer.write(rows)

    asyncio.run(attempt({0: {b"0|seen_events|a": b"1", b"0|seen_events|b": b"1"}}))
    assert writer.pending == 2
    asyncio.run(attempt({0: {b"0|seen_events|b": None}, 3: {b"3|sites|x": b"2"}}))
    assert writer.pending == 4
    asyncio.run(writer.stop())


class _Batch:
    def __init__(self) -> None:
        self.records: list[tuple[bytes, bytes | None]] = []

    def append(self, key: bytes, value: bytes | None, timestamp: None) -> object:
        self.records.append((key, value))
        return object()

    def record_count(self) -> int:
        return len(self.records)


class _Producer:
    """Delivers each batch one loop turn after it was sent, and says what happened when."""

    def __init__(self, fail_from: int | None = None) -> None:
        self.log: list[tuple[str, list[bytes]]] = []
        self.fail_from = fail_from

    def create_batch(self) -> _Batch:
        return _Batch()

    async def send_batch(self, batch: _Batch, topic: str, partition: int) -> Any:
        keys = [key for key, _ in batch.records]
        self.log.append(("sent", keys))
        future = asyncio.get_running_loop().create_future()
        failing = self.fail_from is not None and len(self.log) > self.fail_from

        def deliver() -> None:
            self.log.append(("delivered", keys))
            if failing:
                future.set_exception(ConnectionError("the broker went away"))
            else:
                future.set_result(None)

        asyncio.get_running_loop().call_soon(deliver)
        return future


def test_a_checkpoint_is_sent_only_once_the_one_before_is_delivered_whole() -> None:
    """Two checkpoints pending (the first write failed half-way): the next write sends the
    first again, and the second only once every batch of the first is delivered, each in
    its write order (the events seen last)."""
    writer = ChangelogWriter("kafka://127.0.0.1:1", "app-state-changelog")
    first = {0: {b"0|seen_events|e1": b"1", b"0|timers|t": b"2"}, 1: {b"1|sites|s": b"3"}}
    second = {0: {b"0|sites|s": None, b"0|seen_events|e2": b"4"}}

    async def run() -> list[tuple[str, list[bytes]]]:
        writer._producer = _Producer(fail_from=1)
        with pytest.raises(ConnectionError):
            await writer.write(first)
        assert writer.pending == 3
        writer._producer = producer = _Producer()
        await writer.write(second)
        assert writer.pending == 0
        return producer.log

    log = asyncio.run(run())
    assert log == [
        ("sent", [b"0|timers|t", b"0|seen_events|e1"]), ("sent", [b"1|sites|s"]),
        ("delivered", [b"0|timers|t", b"0|seen_events|e1"]), ("delivered", [b"1|sites|s"]),
        ("sent", [b"0|sites|s", b"0|seen_events|e2"]), ("delivered", [b"0|sites|s", b"0|seen_events|e2"]),
    ]


def test_a_big_checkpoint_gives_the_event_loop_back_while_its_batches_fill() -> None:
    """A sweep's thousands of deletions fit few record batches: the writer still lets the
    event loop run (`route` and `detect` go on) every `RECORDS_AT_ONCE` records."""
    writer = ChangelogWriter("kafka://127.0.0.1:1", "app-state-changelog")
    rows: dict[int, dict[bytes, bytes | None]] = {0: {b"0|seen_events|%05d" % n: None for n in range(5000)}}

    async def run() -> list[int]:
        writer._producer = producer = _Producer()
        batches: list[_Batch] = []
        create = producer.create_batch

        def tracked() -> _Batch:
            batches.append(create())
            return batches[-1]

        producer.create_batch = tracked  # type: ignore[method-assign]
        seen: list[int] = []

        async def other_work() -> None:
            while True:
                seen.append(sum(len(batch.records) for batch in batches))
                await asyncio.sleep(0)

        other = asyncio.create_task(other_work())
        await asyncio.sleep(0)
        await writer.write(rows)
        other.cancel()
        return seen

    seen = asyncio.run(run())
    assert len([count for count in seen if 0 < count < 5000]) >= 4
