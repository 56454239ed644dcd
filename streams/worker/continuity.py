"""`Continuity`: every message of aid.events.v1 and of the lanes, in order, from where the
group committed.

Faust's consumer can hand an agent a partition's messages with a hole in them. On a
worker's start, the stream partitions are resumed before they are sought to their
committed offsets: a batch fetched in between is still being handed over after the seek,
and as it goes Faust records its offsets as read, so the messages fetched again from the
committed offset are dropped as read already, and delivery goes on after the batch (seen
at every restart with a lanes backlog: partitions committed at 65 began at 72 to 78).
Faust would not commit past such a hole either: the partition's lag would stay for ever.

`route` and `detect` ask `Continuity` about each message. The next expected one is
processed. One before it was processed already. One past it means a hole: the missing
messages are read by a consumer of their own (`DirectReader`: no group, the partition
assigned by hand), handed back to be processed first, and recorded as a gap in Faust's
consumer, so that its commit goes past them once the messages after them are
acknowledged. Faust's own consumer is not sought back: a seek racing the stale batch
stalled partitions.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

from faust.types import TP, Message

from schemas.exceptions import WorkerError
from streams.kafka.servers import bootstrap_servers

log = logging.getLogger("aidmon.worker")

READ_TIMEOUT_SECONDS = 60.0  # a hole the broker does not give back within this stops the worker


class Reader(Protocol):
    """Reads a partition outside Faust's consumer."""

    async def committed(self, tp: TP) -> int | None:
        """The group's committed offset of `tp`, None if it has none."""

    async def read(self, tp: TP, first: int, end: int) -> list[Message]:
        """The messages at offsets [first, end) of `tp`."""


class Continuity:
    """The next offset expected per partition; holes read again by `reader`."""

    def __init__(self, app: Any, reader: Reader) -> None:
        self._app = app  # its consumer is read when needed (Faust builds it when the app starts)
        self._reader = reader
        self._next: dict[TP, int] = {}

    def forget(self, tp: TP) -> None:
        """The partition was revoked, or assigned anew: its next owner starts where the group committed."""
        self._next.pop(tp, None)

    async def before(self, tp: TP, offset: int) -> list[Message] | None:
        """What to process before the message at `offset` of `tp`: nothing in order, the
        messages of a hole before it, or None when it was processed already."""
        expected = self._next.get(tp)
        if expected is None:
            expected = await self._start(tp)
        if offset < expected:
            return None
        if offset == expected:
            self._next[tp] = offset + 1
            return []
        log.warning("%s[%d]: the consumer skipped offsets %d to %d; reading them on their own",
                    tp.topic, tp.partition, expected, offset - 1)
        missing = await self._reader.read(tp, expected, offset)  # raises: still expected, nothing passes it
        self._record_gap(tp, expected, offset)
        self._next[tp] = offset + 1
        return missing

    async def _start(self, tp: TP) -> int:
        """Where the group resumes `tp`: its committed offset as the broker has it (Faust's
        record of it may be from before the stale batch, or from an earlier assignment),
        or the log's start if it has none."""
        committed = await self._reader.committed(tp)
        if committed is not None:
            return committed
        earliest = await self._app.consumer.earliest_offsets(tp)
        return int(earliest.get(tp) or 0)

    def _record_gap(self, tp: TP, first: int, end: int) -> None:
        """Faust commits over a gap once the messages after it are acknowledged."""
        gaps = getattr(self._app.consumer, "_gap", None)
        if gaps is not None:
            gaps[tp].addi(first, end)
            gaps[tp].merge_overlaps()


class DirectReader:
    """Reads the group's committed offsets, and offsets [first, end) of a partition, with
    clients of its own."""

    def __init__(self, broker: str, group_id: str, timeout_seconds: float = READ_TIMEOUT_SECONDS) -> None:
        self._broker = broker
        self._group_id = group_id
        self._timeout_seconds = timeout_seconds

    async def committed(self, tp: TP) -> int | None:
        from aiokafka import TopicPartition  # type: ignore[import-untyped]
        from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped]

        partition = TopicPartition(tp.topic, tp.partition)
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers(self._broker), client_id="aidmon-holes",
                                    request_timeout_ms=int(self._timeout_seconds * 1000))
        deadline = time.monotonic() + self._timeout_seconds
        try:
            await admin.start()
            while True:
                try:
                    offsets = await admin.list_consumer_group_offsets(self._group_id, partitions=[partition])
                    break
                except Exception as exc:  # e.g. no coordinator yet for a group the broker has not seen
                    if not getattr(exc, "retriable", False) or time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.2)
        finally:
            await admin.close()
        found = offsets.get(partition)
        return found.offset if found is not None and found.offset >= 0 else None

    async def read(self, tp: TP, first: int, end: int) -> list[Message]:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        partition = TopicPartition(tp.topic, tp.partition)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers(self._broker), group_id=None, enable_auto_commit=False,
            auto_offset_reset="earliest", client_id="aidmon-holes",
        )
        messages: list[Message] = []
        try:
            await consumer.start()
            consumer.assign([partition])
            consumer.seek(partition, first)
            deadline = time.monotonic() + self._timeout_seconds
            while await consumer.position(partition) < end:
                if time.monotonic() > deadline:
                    raise WorkerError(f"{tp.topic}[{tp.partition}]: offsets {first} to {end - 1} could not be "
                                      f"read again within {self._timeout_seconds:.0f} s")
                batches = await consumer.getmany(partition, timeout_ms=1000)
                messages += [_message(tp, r) for r in batches.get(partition, ()) if r.offset < end]
        finally:
            await consumer.stop()
        return messages


def _message(tp: TP, record: Any) -> Message:
    """An aiokafka record as the Faust message the agents take."""
    stamp = record.timestamp / 1000.0 if record.timestamp is not None else None
    return Message(record.topic, record.partition, record.offset, stamp, record.timestamp_type,  # type: ignore[arg-type]
                   record.headers, record.key, record.value, record.checksum, tp=tp)
