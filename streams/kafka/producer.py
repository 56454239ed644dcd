"""`aidmon publish`: validate a JSONL file and send its valid events to aid.events.v1, one a
message keyed by its subject, or with `--batch N` as CloudEvents JSON batches (a JSON array
of up to N events in one message, header `content-type: application/cloudevents-batch+json`,
keyed by its first event's subject): the contract's batch form for bulk publishers."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from schemas.decode import Decoder
from schemas.envelope import BATCH_CONTENT_TYPE
from schemas.exceptions import InvalidEventError
from schemas.privacy import Pseudonymiser, tokenised
from streams.kafka.servers import bootstrap_servers
from streams.kafka.topics import EVENTS


@dataclass
class PublishSummary:
    lines: int = 0
    sent: int = 0
    acknowledged: int = 0
    failed: int = 0
    rejects: Counter[str] = field(default_factory=Counter)

    def render(self) -> str:
        rejects = ", ".join(f"{k} {v}" for k, v in sorted(self.rejects.items())) or "none"
        return (
            f"lines read: {self.lines}; sent: {self.sent}, acknowledged: {self.acknowledged}, "
            f"failed: {self.failed}; rejected: {sum(self.rejects.values())} ({rejects})"
        )


BATCH_TYPE = BATCH_CONTENT_TYPE.encode("ascii")  # the Kafka header's value
MAX_BATCH_BYTES = 900 * 1024  # a batch is one Kafka message: under the broker's 1 MB default


class Sender:
    """Sends events one a message, or `batch` at a time as CloudEvents JSON batches; keeps
    each send's future with the number of events it carries."""

    def __init__(self, producer: Any, batch: int) -> None:
        self._producer, self._batch = producer, batch
        self._waiting: list[tuple[bytes, bytes]] = []  # (key, value) of the batch being filled
        self._size = 1  # bytes of the message the waiting events make
        self.futures: list[tuple[Any, int]] = []

    def add(self, key: bytes, value: bytes) -> None:
        if self._batch <= 1:
            self.futures.append((self._producer.send(EVENTS, key=key, value=value), 1))
            return
        if self._waiting and self._size + len(value) + 1 > MAX_BATCH_BYTES:
            self.flush()
        self._waiting.append((key, value))
        self._size += len(value) + 1  # the message: "[" + the values, one "," or "]" after each
        if len(self._waiting) >= self._batch:
            self.flush()

    def flush(self) -> None:
        """Send the batch being filled, keyed by its first event's subject."""
        if not self._waiting:
            return
        value = b"[" + b",".join(v for _, v in self._waiting) + b"]"
        future = self._producer.send(EVENTS, key=self._waiting[0][0], value=value,
                                     headers=[("content-type", BATCH_TYPE)])
        self.futures.append((future, len(self._waiting)))
        self._waiting, self._size = [], 1


def publish(
    lines: Iterable[bytes],
    broker: str,
    pseudonymiser: Pseudonymiser,
    rate: float | None = None,
    report: IO[str] = sys.stderr,
    batch: int = 1,
) -> PublishSummary:
    """Send every valid line keyed by its subject (idempotent producer, acks=all); with
    `batch` > 1, as CloudEvents JSON batches of up to `batch` events a message."""
    from kafka import KafkaProducer

    decode = Decoder(pseudonymiser)
    summary = PublishSummary()
    producer = KafkaProducer(
        bootstrap_servers=bootstrap_servers(broker), acks="all", enable_idempotence=True, linger_ms=10,
        client_id="aidmon-publish",
    )
    sender = Sender(producer, batch)
    started = time.monotonic()
    try:
        for number, line in enumerate(lines, start=1):
            summary.lines += 1
            if not line.strip():
                continue
            try:
                event = decode(line)
            except InvalidEventError as error:
                summary.rejects[error.reason] += 1
                print(f"line {number}: rejected: {error}", file=report)
                continue
            if rate:
                delay = started + summary.sent / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            sender.add(event.subject.encode("utf-8"), tokenised(line.strip(), pseudonymiser))
            summary.sent += 1
        sender.flush()
        producer.flush(timeout=60)
    finally:
        _confirm(sender.futures, summary, report)
        producer.close(timeout=10)
    return summary


def _confirm(futures: list[tuple[Any, int]], summary: PublishSummary, report: IO[str]) -> None:
    """Count what the broker acknowledged; a failed delivery is counted and reported, never silent."""
    for future, count in futures:
        try:
            future.get(timeout=30)
            summary.acknowledged += count
        except Exception as exc:
            summary.failed += count
            print(f"delivery failed: {type(exc).__name__}: {exc}", file=report)
