"""The worker's Prometheus metrics, as one typed bundle built on an injected registry.

Every label has a bounded set of values: event types and reasons from the contract,
typologies and severities, subscription names and topics from the settings,
partitions up to the configured count, and publishers' `source` through a `Bounded`
set that admits the first `MAX_SOURCES` and calls the rest "other". No label ever
holds a beneficiary token, an event id, an alert id or a subject.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from schemas.alerts import SEVERITIES, TYPOLOGIES
from schemas.decode import REJECT_REASONS
from schemas.events import EVENT_TYPES

MAX_SOURCES = 100
MAX_CACHED_CHILDREN = 1000  # (type, source) pairs whose counter child is kept at hand
EXTRA_REJECT_REASONS = (  # judged past decoding
    "expired", "internal_error", "unreadable_body", "source_not_allowed", "too_large")
WEBHOOK_OUTCOMES = ("delivered", "retried", "dead_lettered")
OTHER = "other"

# From the triggering event's Kafka timestamp to the alert's send. Most findings are
# judged as soon as their event is processed (well under a second), but order-sensitive
# ones wait for the event-time watermark (an hour of allowed lateness by default) and
# overdue shipments for a deadline: hence buckets up to a few hours.
EVENT_TO_ALERT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0,
                          7200.0, 14400.0)
# One HTTP POST to a subscriber: milliseconds on a LAN, seconds over the Internet, and
# never more than the configured timeout (10 s by default).
WEBHOOK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Bounded:
    """A label's values: the first `limit` distinct ones as they are, the rest `OTHER`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self.seen:
            return value
        if len(self.seen) < self.limit:
            self.seen.add(value)
            return value
        return OTHER


@dataclass(frozen=True)
class Metrics:
    events: Counter  # type, source, outcome (accepted | rejected)
    rejects: Counter  # reason
    alerts: Counter  # typology, severity: alerts raised (not updates, not re-sends)
    event_to_alert: Histogram
    webhook_deliveries: Counter  # subscription, outcome (delivered | retried | dead_lettered)
    webhook_seconds: Histogram  # subscription: one try, answered or not
    webhook_pending: Gauge  # subscription
    consumer_lag: Gauge  # topic, partition
    table_entries: Gauge  # table
    http_requests: Counter  # route (the template), method, code
    sse_clients: Gauge
    ready: Gauge
    broker_up: Gauge
    read_ahead: Gauge
    source: Bounded
    _accepted: dict[tuple[str, str], Any] = field(default_factory=dict)  # (type, source) -> counter child

    def count_accepted(self, event_type: str, source: str) -> None:
        """One event accepted: `events` by type and source, the child looked up once per pair."""
        child = self._accepted.get((event_type, source))
        if child is None:
            child = self.events.labels(event_type, self.source(source), "accepted")
            if len(self._accepted) < MAX_CACHED_CHILDREN:
                self._accepted[(event_type, source)] = child
        child.inc()

    @staticmethod
    def event_type_label(value: str | None) -> str:
        return value if value is not None and value in EVENT_TYPES else "unknown"

    def raw_labels(self, value: bytes | None) -> tuple[str, str]:
        """(type, source) labels of a message that failed validation, as far as it says."""
        try:
            parsed = json.loads(value or b"")
        except (ValueError, UnicodeDecodeError):
            return "unknown", "unknown"
        if not isinstance(parsed, dict):
            return "unknown", "unknown"
        kind, source = parsed.get("type"), parsed.get("source")
        return self.event_type_label(kind if isinstance(kind, str) else None), (
            self.source(source[:200]) if isinstance(source, str) and source else "unknown")

    def start_at_zero(self, subscriptions: tuple[str, ...] = ()) -> None:
        """Create the counters' known children at 0, so that Prometheus sees the first
        alert, reject or dead letter as an increase (a child born at 1 has none)."""
        for typology in TYPOLOGIES:
            for severity in SEVERITIES:
                self.alerts.labels(typology, severity)
        for reason in (*REJECT_REASONS, *EXTRA_REJECT_REASONS):
            self.rejects.labels(reason)
        for name in subscriptions:
            for outcome in WEBHOOK_OUTCOMES:
                self.webhook_deliveries.labels(name, outcome)
            self.webhook_pending.labels(name)


def create(registry: CollectorRegistry) -> Metrics:
    """The metrics, registered on `registry` (a fresh one per test)."""
    return Metrics(
        events=Counter("aidmon_events_total", "Events read, by type, publishing source and outcome",
                       ["type", "source", "outcome"], registry=registry),
        rejects=Counter("aidmon_rejects_total", "Messages rejected as malformed, by reason", ["reason"],
                        registry=registry),
        alerts=Counter("aidmon_alerts_total", "Alerts raised, by typology and severity", ["typology", "severity"],
                       registry=registry),
        event_to_alert=Histogram("aidmon_event_to_alert_seconds",
                                 "From the triggering event's Kafka timestamp to the alert's send",
                                 buckets=EVENT_TO_ALERT_BUCKETS, registry=registry),
        webhook_deliveries=Counter("aidmon_webhook_deliveries_total",
                                   "Webhook tries, by subscription and outcome (delivered, retried, dead_lettered)",
                                   ["subscription", "outcome"], registry=registry),
        webhook_seconds=Histogram("aidmon_webhook_delivery_seconds", "Duration of one webhook try",
                                  ["subscription"], buckets=WEBHOOK_BUCKETS, registry=registry),
        webhook_pending=Gauge("aidmon_webhook_pending", "Deliveries waiting or being retried, by subscription",
                              ["subscription"], registry=registry),
        consumer_lag=Gauge("aidmon_consumer_lag_messages", "Messages behind the end of each assigned partition",
                           ["topic", "partition"], registry=registry),
        table_entries=Gauge("aidmon_table_entries", "Entries held by this worker, by table", ["table"],
                            registry=registry),
        http_requests=Counter("aidmon_http_requests_total", "HTTP requests, by route template, method and status",
                              ["route", "method", "code"], registry=registry),
        sse_clients=Gauge("aidmon_sse_clients", "Clients following GET /alerts/stream", registry=registry),
        ready=Gauge("aidmon_ready", "1 once partitions are assigned, tables recovered and the alert view loaded",
                    registry=registry),
        broker_up=Gauge("aidmon_broker_up", "1 while the Kafka broker answers the worker, 0 while it is away",
                        registry=registry),
        read_ahead=Gauge("aidmon_read_ahead_paused_partitions",
                         "Partitions of aid.events.v1 waiting, read more than kafka.read_ahead_hours of event time "
                         "ahead of the slowest one with messages left", registry=registry),
        source=Bounded(MAX_SOURCES),
    )
