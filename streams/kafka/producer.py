"""`aidmon publish`: validate a JSONL file and send its valid events to aid.events.v1."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO

from schemas.decode import Decoder
from schemas.exceptions import InvalidEventError
from schemas.privacy import Pseudonymiser, tokenised
from streams.kafka.topics import EVENTS, bootstrap_servers


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


def publish(
    lines: Iterable[bytes],
    broker: str,
    pseudonymiser: Pseudonymiser,
    rate: float | None = None,
    report: IO[str] = sys.stderr,
) -> PublishSummary:
    """Send every valid line keyed by its subject (idempotent producer, acks=all)."""
    from kafka import KafkaProducer

    decode = Decoder(pseudonymiser)
    summary = PublishSummary()
    producer = KafkaProducer(
        bootstrap_servers=bootstrap_servers(broker),
        acks="all",
        enable_idempotence=True,
        linger_ms=10,
        client_id="aidmon-publish",
    )
    futures = []
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
            value = tokenised(line.rstrip(b"\r\n"), pseudonymiser)
            futures.append(producer.send(EVENTS, key=event.subject.encode("utf-8"), value=value))
            summary.sent += 1
        producer.flush(timeout=60)
    finally:
        for future in futures:
            try:
                future.get(timeout=30)
                summary.acknowledged += 1
            except Exception as exc:  # delivery failed: counted and reported, never silent
                summary.failed += 1
                print(f"delivery failed: {type(exc).__name__}: {exc}", file=report)
        producer.close(timeout=10)
    return summary
