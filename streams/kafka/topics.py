"""The topics of the live path, their partitions and settings, and their creation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from streams.kafka.servers import bootstrap_servers
from streams.settings import KafkaSettings

EVENTS = "aid.events.v1"  # agencies publish here, keyed by `subject`
REJECTS = "aid.rejects.v1"  # malformed messages, whole, with reason and position (administrators only)
ALERTS = "diversion.alerts.v1"  # alerts, keyed by alert_id; compacted: the last version of each stays
ALERT_STATUS = "diversion.alert-status.v1"  # lifecycle audit records, one key each: compacted, never lost
WEBHOOK_DEAD_LETTERS = "diversion.webhook-dead-letters.v1"  # deliveries that failed their last try

WEEK_MS = 7 * 24 * 3600 * 1000
MAX_EVENT_BYTES = 900 * 1024  # one event is one Kafka message, and one lanes message: under the 1 MB defaults


def too_large(event: bytes) -> str:
    """The reject detail of an event over MAX_EVENT_BYTES (reason `too_large`)."""
    return f"an event may be at most {MAX_EVENT_BYTES} bytes (one Kafka message); this one is {len(event)}"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str]


def lanes_topic(app_id: str) -> str:
    """Internal: events routed to the partition that keeps each detector's state."""
    return f"{app_id}-lanes"


def state_changelog(app_id: str) -> str:
    """Internal: the changelog of the detectors' state table (Faust's naming)."""
    return f"{app_id}-state-changelog"


def topic_specs(kafka: KafkaSettings) -> list[TopicSpec]:
    """Every topic the worker reads or writes, with explicit partitions and settings."""
    p = kafka.partitions
    keep = {"retention.ms": "-1"}  # the events are the record of what happened: keep them
    return [
        TopicSpec(EVENTS, p, keep),
        TopicSpec(REJECTS, 1, {"retention.ms": str(4 * WEEK_MS)}),
        TopicSpec(ALERTS, p, {"cleanup.policy": "compact"}),
        TopicSpec(ALERT_STATUS, 1, {"cleanup.policy": "compact"}),  # one partition: one order of changes
        TopicSpec(WEBHOOK_DEAD_LETTERS, 1, {"retention.ms": str(4 * WEEK_MS)}),
        TopicSpec(lanes_topic(kafka.app_id), p, {"retention.ms": str(WEEK_MS)}),
        TopicSpec(state_changelog(kafka.app_id), p, {"cleanup.policy": "compact"}),
    ]


def create_topics(broker: str, kafka: KafkaSettings) -> list[tuple[str, str]]:
    """Create the missing topics; return (name, "created" | "exists") for each."""
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers(broker), client_id="aidmon-topics")
    try:
        existing = set(admin.list_topics())
        missing = [spec for spec in topic_specs(kafka) if spec.name not in existing]
        if missing:
            admin.create_topics(
                [NewTopic(s.name, s.partitions, 1, topic_configs=s.config) for s in missing], timeout_ms=30_000
            )
        created = {s.name for s in missing}
        return [(s.name, "created" if s.name in created else "exists") for s in topic_specs(kafka)]
    finally:
        admin.close()


def missing_topics(broker: str, names: Sequence[str]) -> list[str]:
    """The topics of `names` that `broker` does not have, in the order given."""
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers(broker), client_id="aidmon-topics")
    try:
        existing = set(admin.list_topics())
    finally:
        admin.close()
    return [name for name in names if name not in existing]
