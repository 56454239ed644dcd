"""`DirectReader` on a real broker: the group's committed offset of a partition, and the
messages of a range of offsets, read outside Faust's consumer."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # type: ignore[import-untyped]
from faust.types import TP

from streams.worker.continuity import DirectReader
from tests.integration.test_broker import create_topic


async def _fill(bootstrap: str, topic: str, count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for n in range(count):
            await producer.send_and_wait(topic, value=f"m{n}".encode(), key=b"k", partition=0)
    finally:
        await producer.stop()


async def _commit(bootstrap: str, group: str, topic: str, offset: int) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        await consumer.commit({TopicPartition(topic, 0): offset})
    finally:
        await consumer.stop()


def test_a_range_of_offsets_is_read_with_its_values_and_the_committed_offset_is_the_groups(
    kafka_bootstrap: str,
) -> None:
    topic, group = create_topic(kafka_bootstrap, partitions=1), f"group-{uuid.uuid4().hex[:8]}"
    reader = DirectReader(f"kafka://{kafka_bootstrap}", group, timeout_seconds=20)
    tp = TP(topic, 0)

    async def run() -> tuple[list[tuple[int, bytes | None]], int | None, int | None]:
        await _fill(kafka_bootstrap, topic, 10)
        before = await reader.committed(tp)
        await _commit(kafka_bootstrap, group, topic, 6)
        messages = await reader.read(tp, 3, 7)
        return [(m.offset, m.value) for m in messages], before, await reader.committed(tp)

    read, before, after = asyncio.run(run())
    assert read == [(3, b"m3"), (4, b"m4"), (5, b"m5"), (6, b"m6")]
    assert before is None and after == 6
