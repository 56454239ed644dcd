"""Reading the alerts topic (`aidmon alerts export|tail`) and the worker group's lag (`aidmon lag`)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator
from typing import IO, Any

from streams.kafka.servers import bootstrap_servers
from streams.kafka.topics import ALERTS, EVENTS

log = logging.getLogger("aidmon")


def read_alerts(broker: str, idle_seconds: float | None) -> Iterator[dict[str, Any]]:
    """Alerts from the beginning of the topic; stops after `idle_seconds` without a new
    message (None: follows it for ever). Tombstones are skipped (`alerts_of`)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        ALERTS,
        bootstrap_servers=bootstrap_servers(broker),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        client_id="aidmon-alerts",
    )
    try:
        last = time.monotonic()
        while idle_seconds is None or time.monotonic() - last < idle_seconds:
            batches = consumer.poll(timeout_ms=500)
            for records in batches.values():
                last = time.monotonic()
                yield from alerts_of(records)
    finally:
        consumer.close()


def alerts_of(records: Iterable[Any]) -> Iterator[dict[str, Any]]:
    """The alerts of the alerts topic's records. A tombstone (a key and no value, as compaction
    tools and administrators write to delete an alert id) holds no alert: it is skipped. So
    is a record that is not an alert (a tool writing to the wrong topic), with a warning
    that says where it is."""
    for record in records:
        if record.value is None:
            continue
        try:
            alert = json.loads(record.value)
        except ValueError:
            alert = None
        if isinstance(alert, dict) and isinstance(alert.get("alert_id"), str):
            yield alert
        else:
            log.warning("skipped a record of %s that is not an alert (partition %s, offset %s)",
                        ALERTS, record.partition, record.offset)


def export_alerts(broker: str, out: IO[str], idle_seconds: float, every_update: bool = False) -> int:
    """Write the last version of each alert (or every version); return how many lines."""
    latest: dict[str, dict[str, Any]] = {}
    written = 0
    for alert in read_alerts(broker, idle_seconds):
        if every_update:
            out.write(json.dumps(alert, ensure_ascii=False) + "\n")
            written += 1
        else:
            latest[alert["alert_id"]] = alert
    for alert in sorted(latest.values(), key=lambda a: (str(a.get("raised_at", "")), a["alert_id"])):
        out.write(json.dumps(alert, ensure_ascii=False) + "\n")
        written += 1
    return written


def render_alert(alert: dict[str, Any], seen: set[str] | None = None) -> str:
    """One line for a monitor's terminal: when it was raised, `new` or `update`, its id,
    severity, typology, subject and summary. With `seen` (the ids shown so far, which this
    adds to), an alert whose id was shown before is an `update`; the first is `new`.

    `new` thus means the first version of that id seen in this run, not the alert's first
    version: the alerts topic is compacted (an alert raised before the run may first show at
    a later version), and an alert says nothing of its own version (`updated_at` is the time
    of its latest evidence, which differs from `raised_at` in first versions too: an overdue
    shipment's evidence, its dispatch, comes before it is overdue)."""
    subject = alert.get("subject") or {}
    alert_id = str(alert.get("alert_id", "?"))
    change = "update" if seen is not None and alert_id in seen else "new"
    if seen is not None:
        seen.add(alert_id)
    return (
        f"{alert.get('raised_at', '?')}  {change:6}  {alert_id}  {alert.get('severity', '?'):8}  "
        f"{alert.get('typology', '?'):21} {subject.get('kind', '?')} {subject.get('id', '?')}: "
        f"{alert.get('summary', '')}"
    )


def group_lag(broker: str, group_id: str) -> dict[str, int]:
    """Messages not yet consumed by the group, per topic it reads (internal ones included)."""
    from kafka import KafkaAdminClient, KafkaConsumer

    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers(broker), client_id="aidmon-lag")
    # no group of its own and so nothing to commit: without enable_auto_commit=False,
    # kafka-python warns "group_id is None: disabling auto-commit" at every run
    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers(broker), group_id=None, enable_auto_commit=False,
                             client_id="aidmon-lag")
    try:
        committed = admin.list_group_offsets({group_id: None}).get(group_id, {})
        topics = {tp.topic for tp in committed} or {EVENTS}  # a new group will read every event
        partitions = [tp for tp in _partitions(consumer, topics)]
        ends = consumer.end_offsets(partitions) if partitions else {}
        lag: dict[str, int] = {topic: 0 for topic in topics}
        for tp, end in ends.items():
            meta = committed.get(tp)
            done = meta.offset if meta is not None and meta.offset >= 0 else 0
            lag[tp.topic] += max(0, end - done)
        return lag
    finally:
        consumer.close()
        admin.close()


def _partitions(consumer: Any, topics: set[str]) -> Iterator[Any]:
    from kafka import TopicPartition

    for topic in sorted(topics):
        for partition in sorted(consumer.partitions_for_topic(topic) or ()):
            yield TopicPartition(topic, partition)
