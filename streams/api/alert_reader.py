"""Fills a worker's `AlertBook` from the alerts and status topics, every partition.

Not a group member: each worker reads both topics whole, from the beginning, so each
sees every alert and every lifecycle change. `caught_up` is set once it has read up to
the end offsets the topics had when it started: until then /readyz says not ready.
Tombstones on either topic are skipped; a record that cannot be read is logged and skipped.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition  # type: ignore[import-untyped]
from pydantic import ValidationError

from schemas.lifecycle import StatusChange
from streams.api.alert_book import AlertBook
from streams.kafka.servers import bootstrap_servers
from streams.kafka.topics import ALERT_STATUS, ALERTS

log = logging.getLogger("aidmon.api")


class AlertReader:
    def __init__(self, broker: str, book: AlertBook) -> None:
        self.broker = broker
        self.book = book
        self.caught_up = asyncio.Event()
        self.remaining: dict[TopicPartition, int] = {}  # end offsets still to reach

    async def run(self) -> None:
        """Read until cancelled; a broken connection is retried by the client."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers(self.broker), group_id=None, enable_auto_commit=False,
            auto_offset_reset="earliest",  # never "latest", even for a moment: the view is read whole
            client_id="aidmon-alert-reader",
        )
        await consumer.start()
        try:
            partitions = await self._assign(consumer)
            ends = await consumer.end_offsets(partitions)
            self.remaining = {tp: end for tp, end in ends.items() if end > 0}
            await consumer.seek_to_beginning(*partitions)
            self._check_caught_up()
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=1000)
                for tp, records in batches.items():
                    for record in records:
                        self._apply(tp.topic, record.offset, record.value)
                for tp, end in list(self.remaining.items()):
                    if await consumer.position(tp) >= end:
                        del self.remaining[tp]
                self._check_caught_up()
        finally:
            await consumer.stop()

    async def _assign(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        while True:
            # fresh metadata: aiokafka's consumer refreshes its own only every few minutes
            cluster = await consumer._client.fetch_all_metadata()
            found = {topic: cluster.partitions_for_topic(topic) for topic in (ALERTS, ALERT_STATUS)}
            missing = [topic for topic, parts in found.items() if not parts]
            if not missing:
                partitions = [TopicPartition(t, p) for t, parts in found.items() for p in sorted(parts or ())]
                consumer.assign(partitions)
                return partitions
            log.warning("waiting for topics %s (run `aidmon topics create`)", ", ".join(missing))
            await asyncio.sleep(2.0)

    def _apply(self, topic: str, offset: int, value: bytes | None) -> None:
        """One record into the book; a tombstone (a key, no value: an alert id or audit record
        deleted by compaction tools or an administrator) holds nothing and is skipped."""
        if value is None:
            return
        try:
            if topic == ALERTS:
                self.book.add_alert(value)
            else:
                self.book.add_change(offset, StatusChange.model_validate_json(value))
        except (ValueError, KeyError, TypeError, ValidationError):
            log.warning("skipped an unreadable record at %s@%d", topic, offset)

    def _check_caught_up(self) -> None:
        if not self.remaining and not self.caught_up.is_set():
            self.caught_up.set()
            log.info("alert view loaded: %d alerts", len(self.book))
