"""`ChangelogWriter`: a checkpoint's changed keys to the state table's changelog, as record batches.

Faust's own path (`Table.send_changelog`) sends each key as a message of its own through
the app's producer buffer: most of a checkpoint's cost when thousands of small keys
changed (a profile put a fifth of the worker's time there). The writer has a producer of
its own and appends a checkpoint's records for each partition to as few record batches as
fit, then waits until the broker has them all: only then are the events whose effects
they hold acknowledged. Faust reads the same topic back on recovery, record by record.

Checkpoints go one after another, in order, each whole before the next is sent, never
merged: a worker that dies while writing leaves every checkpoint before the one cut short
whole, and that one cut short in its write order (`write_order`), as if the checkpoints
had been written one at a time. (The retention sweeps right after a checkpoint is taken:
its deletions and the events applied after it go with the next checkpoint, and must not
land before the last one is whole; see `Monitors.sweep`.) A checkpoint a failed write
could not deliver stays pending and goes first, whole, at the next write, so a broker that
is away for a while loses no state change: the events stay unacknowledged meanwhile and,
if the worker dies, are processed again by the next owner.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from schemas.exceptions import WorkerError
from streams.kafka.servers import bootstrap_servers
from streams.worker.table_store import write_order

log = logging.getLogger("aidmon.worker")

MAX_BATCH_BYTES = 512 * 1024  # a record batch stays well under the broker's 1 MB message limit
RECORDS_AT_ONCE = 1000  # records appended before the event loop is given back (~3 ms; a batch holds ~12,000 deletions)

Rows = dict[int, dict[bytes, bytes | None]]  # partition -> table key -> value (None: deleted)


class ChangelogWriter:
    """Writes rows of the state table to its changelog topic, partition by partition."""

    def __init__(self, broker: str, topic: str) -> None:
        self._broker = broker
        self._topic = topic
        self._producer: Any = None
        self._pending: list[Rows] = []  # checkpoints not delivered yet (a write failed), oldest first

    async def write(self, rows: Rows) -> None:
        """Deliver the checkpoint `rows`, after whatever an earlier write left pending, each
        checkpoint whole before the next; raises if the broker did not take them all, and
        those it did not are kept for the next write."""
        if any(rows.values()):
            self._pending.append(rows)
        while self._pending:
            producer = await self._started()
            futures = []
            for partition, changes in self._pending[0].items():  # the stores in their order
                futures += await self._send(producer, partition, dict(sorted(changes.items(), key=write_order)))
            await asyncio.gather(*futures)
            self._pending.pop(0)

    @property
    def pending(self) -> int:
        """Rows failed writes left for the next one (a key changed in two checkpoints counts twice)."""
        return sum(len(changes) for rows in self._pending for changes in rows.values())

    async def stop(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()

    async def _started(self) -> Any:
        if self._producer is None:
            from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]

            producer = AIOKafkaProducer(
                bootstrap_servers=bootstrap_servers(self._broker), acks="all", client_id="aidmon-changelog",
                max_batch_size=MAX_BATCH_BYTES, max_request_size=2 * MAX_BATCH_BYTES,
            )
            try:
                await producer.start()
            except BaseException:
                await producer.stop()  # a producer that could not start still holds its client
                raise
            self._producer = producer
        return self._producer

    async def _send(self, producer: Any, partition: int, changes: dict[bytes, bytes | None]) -> list[Any]:
        """Send `changes` as record batches; the futures of their delivery."""
        futures = []
        batch = producer.create_batch()
        for count, (key, value) in enumerate(changes.items(), 1):
            if batch.append(key=key, value=value, timestamp=None) is None:  # full: send it, start another
                futures.append(await producer.send_batch(batch, self._topic, partition=partition))
                batch = producer.create_batch()
                if batch.append(key=key, value=value, timestamp=None) is None:  # chunking keeps records smaller
                    raise WorkerError(f"a state record of {len(value or b'')} bytes does not fit a record batch")
            if count % RECORDS_AT_ONCE == 0:
                await asyncio.sleep(0)  # the event loop's turn: a sweep's deletions fill batches of thousands
        if batch.record_count():
            futures.append(await producer.send_batch(batch, self._topic, partition=partition))
        return futures
