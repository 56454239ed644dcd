"""The Kafka side of the streaming benchmark: a local broker of its own, publishing (in
bulk or paced), the bare aiokafka consumer, end offsets, committed offsets and the alerts
topic read with each message's Kafka timestamp."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from stream_data import BATCH_CONTENT_TYPE, Message

from streams.kafka.topics import ALERTS, EVENTS, REJECTS

__all__ = ["ALERTS", "EVENTS", "REJECTS"]  # the topics' names, for the other modules
PARTITIONS = 6  # the worker's default [kafka] partitions: aid.events.v1 is created with as many


@contextmanager
def local_broker(data_dir: Path) -> Iterator[str]:
    """A broker of its own in `data_dir`, on ports the kernel picks (a fixed range would meet
    other people's brokers and publishers on a shared machine); stopped on the way out,
    whatever happens."""
    from streams.dev.local_broker import start_broker, stop_broker

    with ExitStack() as held:  # both sockets held while choosing, so the two ports differ
        sockets = [held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(2)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        port, controller_port = (int(sock.getsockname()[1]) for sock in sockets)
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        yield start_broker(data_dir, port, controller_port)
    finally:
        stop_broker(data_dir)


def create_topics(bootstrap: str, app_id: str) -> None:
    from streams.kafka.topics import create_topics as create
    from streams.settings import KafkaSettings

    create(f"kafka://{bootstrap}", KafkaSettings(app_id=app_id, partitions=PARTITIONS))


def _producer(bootstrap: str, linger_ms: int) -> Any:
    from kafka import KafkaProducer

    return KafkaProducer(bootstrap_servers=[bootstrap], acks="all", linger_ms=linger_ms, batch_size=512 * 1024,
                         max_request_size=8 * 1024 * 1024, client_id="stream-benchmark")


def publish(bootstrap: str, messages: list[Message], batch: bool = False) -> None:
    """Every message to aid.events.v1, as fast as the broker takes them (batch messages
    carry the CloudEvents batch content type in a header)."""
    producer = _producer(bootstrap, linger_ms=20)
    headers = [("content-type", BATCH_CONTENT_TYPE)] if batch else None
    try:
        for m in messages:
            producer.send(EVENTS, key=m.key, value=m.value, headers=headers)
        producer.flush(timeout=300)
    finally:
        producer.close()


def create_topic(bootstrap: str, name: str) -> None:
    """A topic of the benchmark's own, with aid.events.v1's partitions."""
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=[bootstrap], client_id="stream-benchmark")
    try:
        admin.create_topics([NewTopic(name, num_partitions=PARTITIONS, replication_factor=1)])
    finally:
        admin.close()


def publish_paced(bootstrap: str, messages: list[Message], rate: float, topic: str = EVENTS) -> list[int]:
    """The messages at `rate` a second to aid.events.v1 (or `topic`); the Kafka timestamp
    (ms) each was sent with.

    Partitions are the default partitioner's (murmur2 of the key, as any Kafka client),
    worked out before the clock starts, so a slow machine does not hold the publisher back."""
    from kafka.partitioner.default import murmur2

    partitions = [(murmur2(m.key) & 0x7FFFFFFF) % PARTITIONS for m in messages]
    producer, stamps = _producer(bootstrap, linger_ms=2), []
    producer.partitions_for(topic)  # the topic's metadata fetched before the clock starts
    started = time.monotonic()
    try:
        for n, (m, partition) in enumerate(zip(messages, partitions, strict=True)):
            ahead = started + n / rate - time.monotonic()
            if ahead > 0.001:
                time.sleep(ahead)
            stamp = int(time.time() * 1000)
            producer.send(topic, key=m.key, value=m.value, partition=partition, timestamp_ms=stamp)
            stamps.append(stamp)
        producer.flush(timeout=300)
    finally:
        producer.close()
    return stamps


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=[bootstrap], group_id=None, client_id="stream-benchmark")
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        return {tp.partition: end for tp, end in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()


def commit_offsets(bootstrap: str, group: str, topic: str, offsets: dict[int, int]) -> None:
    """Start a consumer group that has not run yet at `offsets` instead of the beginning."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    consumer = KafkaConsumer(bootstrap_servers=[bootstrap], group_id=group, enable_auto_commit=False,
                             client_id="stream-benchmark")
    try:
        consumer.assign([TopicPartition(topic, p) for p in offsets])
        consumer.commit({TopicPartition(topic, p): OffsetAndMetadata(o, "", -1) for p, o in offsets.items()})
    finally:
        consumer.close()


def read_alerts(bootstrap: str, start: dict[int, int] | None = None) -> list[tuple[int, dict[str, Any]]]:
    """(Kafka timestamp in ms, alert) of every message of the alerts topic from `start`
    (default: the beginning) to the end offsets of now, in each partition's order."""
    return [(stamp, alert) for stamp, alert, _ in read_alert_records(bootstrap, start)]


def read_alert_records(bootstrap: str, start: dict[int, int] | None = None
                       ) -> list[tuple[int, dict[str, Any], dict[str, bytes]]]:
    """`read_alerts`, each with the message's headers."""
    from kafka import KafkaConsumer, TopicPartition

    ends = end_offsets(bootstrap, ALERTS)
    consumer = KafkaConsumer(bootstrap_servers=[bootstrap], group_id=None, enable_auto_commit=False,
                             client_id="stream-benchmark")
    found: list[tuple[int, dict[str, Any], dict[str, bytes]]] = []
    try:
        wanted = {p: end for p, end in ends.items() if end > (start or {}).get(p, 0)}
        consumer.assign([TopicPartition(ALERTS, p) for p in wanted])
        for p in wanted:
            consumer.seek(TopicPartition(ALERTS, p), (start or {}).get(p, 0))
        deadline = time.monotonic() + 120
        while wanted and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=500).items():
                for record in records:
                    if record.offset < wanted.get(tp.partition, -1):
                        found.append((record.timestamp, json.loads(record.value), dict(record.headers or [])))
                    if record.offset + 1 >= wanted.get(tp.partition, 0):
                        wanted.pop(tp.partition, None)
    finally:
        consumer.close()
    return found


async def _bare_consumer(bootstrap: str, count: int) -> float:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(EVENTS, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                                enable_auto_commit=False, client_id="stream-benchmark-bare")
    await consumer.start()
    try:
        seen, began = 0, time.monotonic()
        while seen < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            seen += sum(len(records) for records in batches.values())
        return time.monotonic() - began
    finally:
        await consumer.stop()


def bare_consumer(bootstrap: str, count: int) -> float:
    """Seconds a bare aiokafka consumer takes from its first fetch to its `count`-th message."""
    return asyncio.run(_bare_consumer(bootstrap, count))
