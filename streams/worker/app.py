"""The Faust worker: the detectors of `agents/` on Kafka.

    aid.events.v1 --route--> <app>-lanes --detect--> diversion.alerts.v1
         |                      ^  (ticks, idle marks)
         +--> aid.rejects.v1    +-- heartbeat timer

`route` (one actor per worker, on the partitions of aid.events.v1 it was given) decodes
and validates each message; a malformed one goes whole to aid.rejects.v1 with its reason
and position. A valid one, pseudonymised, goes to the partition of <app>-lanes that keeps
the state of each detector it feeds (`streams.worker.lanes`), marked with its source partition.
Every `tick_seconds` a timer tells every lanes partition how far each source partition
has got, and that a source quiet for `idle_seconds` with nothing left to read is idle: the
watermark of each monitor is where all its active sources have got to (`agents.clock`).

`detect` (concurrency 1: it writes a table) runs one `Monitor` per lanes partition, its
state in the table `state` (`streams.worker.table_store`), and sends alerts keyed by alert id. It
acknowledges its messages itself, only after a checkpoint has written the state they
changed (every `CHECKPOINT_MESSAGES` messages or `CHECKPOINT_SECONDS`), so a worker that
dies re-processes what its changelog may lack. On taking over a partition it sends again
the latest version of the partition's alerts: delivery is at least once, alert ids stable.

The HTTP API, webhook delivery and the metrics are wired on by `streams.outputs.wiring`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import faust
from faust.types import TP

from agents.monitor import Monitor
from agents.names import ListedName
from schemas.alerts import Alert
from schemas.decode import Decoder
from schemas.events import IncidentReported
from schemas.exceptions import InvalidEventError, WorkerError
from schemas.privacy import Pseudonymiser
from streams.kafka.topics import ALERTS, EVENTS, REJECTS, lanes_topic
from streams.outputs.metrics import Metrics
from streams.rejects import MAX_KEPT_RAW_BYTES, reject_record
from streams.settings import Settings
from streams.worker.lanes import route
from streams.worker.table_store import PartitionStores

log = logging.getLogger("aidmon.worker")

CHECKPOINT_MESSAGES = 500
CHECKPOINT_SECONDS = 0.5


def _no_raw_identifiers(value: str) -> str:
    raise ValueError("a raw beneficiary identifier on the lanes topic: the router pseudonymises them all")


def _strip_name(incident: IncidentReported) -> IncidentReported:
    return incident.model_copy(update={"data": incident.data.model_copy(update={"shipment_id": None})})


class Progress:
    """How far each source partition of aid.events.v1 has got, as this worker saw it."""

    def __init__(self) -> None:
        self.times: dict[int, float] = {}
        self.stamps: dict[int, float] = {}  # Kafka timestamp of the message that moved `times`
        self.announced: dict[int, float] = {}  # the time last broadcast
        self.last_seen: dict[int, float] = {}  # wall clock (monotonic) of the last message or assignment
        self.idle: set[int] = set()

    def saw(self, partition: int, event_time: float, stamp: float) -> None:
        self.last_seen[partition] = time.monotonic()
        self.idle.discard(partition)
        if event_time > self.times.get(partition, float("-inf")):
            self.times[partition] = event_time
            self.stamps[partition] = stamp


class Monitors:
    """One monitor per lanes partition, made when the partition's first message arrives."""

    def __init__(self, settings: Settings, sanctions: list[ListedName] | None, table: Any) -> None:
        self.settings = settings
        self.sanctions = sanctions
        self.table = table
        self.by_partition: dict[int, tuple[Monitor, PartitionStores]] = {}
        self.raised: set[str] = set()  # ids of alerts raised here or found on taking over
        self.decode = Decoder(_no_raw_identifiers)
        self.unacked: list[Any] = []  # events whose effects the next checkpoint writes
        self.checkpointed_at = time.monotonic()

    def get(self, partition: int) -> tuple[Monitor, list[Alert]]:
        """The partition's monitor, and the alerts to send again if it was just taken over."""
        known = self.by_partition.get(partition)
        if known is not None:
            return known[0], []
        stores = PartitionStores(self.table, partition)
        monitor = Monitor(self.settings.detectors, self.sanctions, stores)
        self.by_partition[partition] = (monitor, stores)
        again = monitor.alerts()
        self.raised.update(alert.alert_id for alert in again)
        return monitor, again

    def handle(self, partition: int, value: bytes) -> tuple[list[Alert], list[Alert], float | None]:
        """Alerts to send again (a partition taken over), alerts raised or changed, and the
        Kafka timestamp of the event that triggered them."""
        monitor, again = self.get(partition)
        message = json.loads(value)
        kind, source, stamp = message["kind"], message["source"], message.get("stamp")
        if kind == "event":
            only = frozenset(message["only"]) if message["only"] else frozenset()
            event = self.decode(json.dumps(message["event"]))
            return again, monitor.process(event, source=source, only=only), stamp
        if kind == "tick":
            return again, monitor.tick(source, float(message["time"])), stamp
        if kind == "idle":
            return again, monitor.idle(source), stamp
        raise WorkerError(f"unknown lanes message kind {kind!r}")

    def first_raised(self, alerts: list[Alert]) -> list[Alert]:
        new = [alert for alert in alerts if alert.alert_id not in self.raised]
        self.raised.update(alert.alert_id for alert in new)
        return new

    def due(self) -> bool:
        return len(self.unacked) >= CHECKPOINT_MESSAGES or (
            bool(self.unacked) and time.monotonic() - self.checkpointed_at >= CHECKPOINT_SECONDS
        )

    def checkpoint(self) -> None:
        """Write the changed state of every partition, then acknowledge the events whose
        effects it holds."""
        table = self.table
        for partition, (_, stores) in list(self.by_partition.items()):

            def write(key: bytes, data: bytes | None, partition: int = partition) -> None:
                if data is None:
                    table.data.pop(key, None)
                    table.send_changelog(partition, key, None, value_serializer="raw")
                else:
                    table.data[key] = data
                    table.send_changelog(partition, key, data)

            stores.checkpoint(write)
        for event in self.unacked:
            event.ack()
        self.unacked.clear()
        self.checkpointed_at = time.monotonic()

    def forget(self, partitions: Iterable[int]) -> None:
        for partition in partitions:
            self.by_partition.pop(partition, None)


def build_app(
    settings: Settings,
    sanctions: list[ListedName] | None,
    pseudonymiser: Pseudonymiser,
    data_dir: Path,
    web_port: int | None = None,
) -> faust.App:
    """The Faust app with its topics, table, agents, timers, HTTP API and webhooks;
    `faust.Worker(app)` runs it."""
    from streams.outputs.wiring import attach_outputs  # the ways out: API, webhooks, metrics

    kafka, api = settings.kafka, settings.api
    app = faust.App(
        kafka.app_id,
        broker=settings.broker,
        store="memory://",
        datadir=str(data_dir),
        topic_partitions=kafka.partitions,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",  # a new group misses nothing published before it
        table_standby_replicas=0,
        producer_acks=-1,
        # Agents acknowledge their own messages: `detect` after a checkpoint, `deliver` once the
        # webhooks landed. Waiting for those on shutdown or rebalance would wait for the next
        # checkpoint or a subscriber that is down; processing is idempotent, so what was not
        # acknowledged is processed again by the next owner instead.
        stream_wait_empty=False,
        web_enabled=api.enabled,
        web_port=web_port or api.port,
        web_host=api.host,
        web_router_enabled=False,  # Faust's own pages would show table contents: only the API is served
        web_tables_enabled=False,
        web_stats_enabled=False,
        web_graph_enabled=False,
    )
    raw: dict[str, Any] = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
    events_topic = app.topic(EVENTS, partitions=kafka.partitions, **raw)
    lanes = app.topic(lanes_topic(kafka.app_id), partitions=kafka.partitions, internal=True, **raw)
    rejects_topic = app.topic(REJECTS, **raw)
    alerts_topic = app.topic(ALERTS, **raw)
    table = app.Table("state", partitions=kafka.partitions, key_type=bytes, value_type=bytes)  # raw both ways
    decode = Decoder(pseudonymiser)
    progress = Progress()
    monitors = Monitors(settings, sanctions, table)
    read: dict[tuple[str, int], int] = {}  # (topic, partition) -> the offset after the last message handled
    metrics: Metrics = attach_outputs(app, settings, pseudonymiser, table, alerts_topic, rejects_topic, read)

    async def broadcast(message: dict[str, Any]) -> None:
        value = json.dumps(message).encode()
        for partition in range(kafka.partitions):
            await lanes.send(value=value, partition=partition)

    @app.agent(events_topic, name="route")
    async def route_events(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            message = event.message
            read[(EVENTS, message.partition)] = message.offset + 1
            try:
                await _route_one(message.value, message.partition, message.offset, message.timestamp)
            except Exception as exc:  # an escaping exception would restart the actor
                log.exception("routing failed at %s[%d]@%d", EVENTS, message.partition, message.offset)
                error = InvalidEventError("internal_error", type(exc).__name__)
                await _reject(message.value, message.partition, message.offset, error)

    async def _reject(value: bytes, partition: int, offset: int, error: InvalidEventError) -> None:
        metrics.rejects.labels(error.reason).inc()
        metrics.events.labels(*metrics.raw_labels(value), "rejected").inc()
        record = reject_record(f"{EVENTS}[{partition}]", offset, error, value, MAX_KEPT_RAW_BYTES)
        record["partition"], record["offset"] = partition, offset
        await rejects_topic.send(value=json.dumps(record, ensure_ascii=False).encode())

    async def _route_one(value: bytes, partition: int, offset: int, stamp: float) -> None:
        try:
            event = decode(value)
        except InvalidEventError as error:
            await _reject(value, partition, offset, error)
            return
        metrics.events.labels(event.type, metrics.source(event.source), "accepted").inc()
        source = f"events-{partition}"
        for target, only, copy in route(event, kafka.partitions, _strip_name):
            message = {"kind": "event", "source": source, "only": sorted(only), "stamp": stamp,
                       "event": copy.model_dump(mode="json")}
            await lanes.send(key=event.subject.encode(), value=json.dumps(message).encode(), partition=target)
        progress.saw(partition, event.at, stamp)

    def caught_up(tp: TP) -> bool:
        """Nothing left to read: a partition whose backlog waits behind another's batch is
        never idle, or the watermark would pass events still to come. (Not the consumer's
        position(): it can wait for ever on a partition without one, and it holds one of
        the two workers of Faust's consumer thread while it waits.)"""
        highwater, routed = app.consumer.highwater(tp), read.get((EVENTS, tp.partition))
        return highwater is None or routed is None or routed >= highwater

    @app.timer(interval=kafka.tick_seconds)  # type: ignore[untyped-decorator]
    async def heartbeat() -> None:
        now = time.monotonic()
        for tp in app.consumer.assignment():
            if tp.topic != EVENTS:
                continue
            p = tp.partition
            progress.last_seen.setdefault(p, now)
            at = progress.times.get(p)
            if at is not None and at > progress.announced.get(p, float("-inf")):
                progress.announced[p] = at
                await broadcast({"kind": "tick", "source": f"events-{p}", "time": at, "stamp": progress.stamps.get(p)})
            elif p not in progress.idle and now - progress.last_seen[p] >= kafka.idle_seconds and caught_up(tp):
                progress.idle.add(p)
                await broadcast({"kind": "idle", "source": f"events-{p}"})

    @app.agent(lanes, name="detect", concurrency=1)
    async def detect(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.noack().events():  # type: ignore[attr-defined]
            message = event.message
            read[(message.topic, message.partition)] = message.offset + 1
            try:
                again, alerts, stamp = monitors.handle(message.partition, message.value)
            except Exception:
                log.exception("detection failed at %s[%d]@%d", message.topic, message.partition, message.offset)
                again, alerts, stamp = [], [], None
            monitors.unacked.append(event)
            for alert in again + alerts:
                await alerts_topic.send(key=alert.alert_id.encode(), value=alert.model_dump_json().encode())
            for alert in monitors.first_raised(alerts):
                metrics.alerts.labels(alert.typology, alert.severity).inc()
            if stamp is not None:
                for _ in alerts:
                    metrics.event_to_alert.observe(max(0.0, time.time() - stamp))
            if monitors.due():
                monitors.checkpoint()

    @app.timer(interval=CHECKPOINT_SECONDS)  # type: ignore[untyped-decorator]
    async def checkpoint() -> None:
        if monitors.due():
            monitors.checkpoint()

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def on_revoked(app: faust.App, revoked: set[TP], **kwargs: Any) -> None:
        lost = {tp.partition for tp in revoked if tp.topic == lanes.get_topic_name()}
        monitors.checkpoint()  # what was processed is written before another worker takes over
        monitors.forget(lost)
        for tp in revoked:
            read.pop((tp.topic, tp.partition), None)
            if tp.topic == EVENTS:
                for known in (progress.times, progress.stamps, progress.announced, progress.last_seen):
                    known.pop(tp.partition, None)
                progress.idle.discard(tp.partition)

    return app
