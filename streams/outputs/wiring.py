"""The worker's ways out, wired onto its Faust app: the alert view and HTTP API, webhook
delivery, and the metrics of the flow.

    diversion.alerts.v1 ──(every partition, every worker)──► AlertBook ──► GET /alerts, SSE
    diversion.alert-status.v1 ──────────────────────────────┘  ▲
                                       POST /alerts/{id}/status ┘ (an audit record each)
    diversion.alerts.v1 ──deliver (a group: each alert once)──► webhooks ──► dead letters
    POST /events ──► aid.events.v1 (the same path as any publisher)
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from typing import Any

import faust
from prometheus_client import CollectorRegistry

from schemas.decode import Decoder
from schemas.events import Event
from schemas.exceptions import InvalidAlertError, InvalidEventError
from schemas.lifecycle import StatusChange
from schemas.privacy import Pseudonymiser
from streams.api.alert_book import AlertBook
from streams.api.alert_reader import AlertReader
from streams.api.ingest import Rejected
from streams.api.views import ApiContext, register_api
from streams.kafka.topics import ALERT_STATUS, EVENTS, WEBHOOK_DEAD_LETTERS
from streams.outputs.metrics import Metrics, create
from streams.rejects import MAX_KEPT_RAW_BYTES, reject_record
from streams.settings import Settings

log = logging.getLogger("aidmon.outputs")

RAW: dict[str, Any] = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
SEND_TIMEOUT_SECONDS = 30.0
GAUGE_SECONDS = 5.0
READER_RETRY_SECONDS = 5.0
MAX_OUTSTANDING = 10_000  # alerts being delivered (or retried) at once, before `deliver` waits


def attach_outputs(
    app: faust.App, settings: Settings, pseudonymiser: Pseudonymiser, state: Any, alerts_topic: Any,
    rejects_topic: Any, read: dict[tuple[str, int], int],
) -> Metrics:
    """Add the alert view, API, webhooks and gauges to `app`; return the metrics bundle
    for the detection path to count with. `read` holds the offset after the last message
    each agent handled, by (topic, partition): the lag gauge's measure."""
    registry = CollectorRegistry()
    metrics = create(registry)
    metrics.start_at_zero(tuple(s.name for s in settings.webhooks.subscriptions))
    book = AlertBook()
    reader = AlertReader(settings.broker, book)
    status_topic = app.topic(ALERT_STATUS, partitions=1, **RAW)
    events_out = app.topic(EVENTS, **RAW)

    @app.task  # type: ignore[untyped-decorator]
    async def read_alerts() -> None:
        try:
            while True:  # reading again from the beginning is harmless: the book ignores what it has
                try:
                    await reader.run()
                except Exception as exc:  # a broker unreachable at start, say: try again, never give up
                    log.warning("reading the alerts failed (%s: %s); again in %.0f s", type(exc).__name__, exc,
                                READER_RETRY_SECONDS)
                    await asyncio.sleep(READER_RETRY_SECONDS)
        finally:
            book.close()

    delivered = _attach_webhooks(app, settings, metrics, alerts_topic, read)

    def readiness() -> dict[str, bool]:
        recovery = app.tables.recovery  # type: ignore[attr-defined]
        return {
            "partitions_assigned": bool(app.consumer.assignment()),
            "tables_recovered": recovery.completed.is_set() and not recovery.in_recovery and not app.rebalancing,
            "alerts_loaded": reader.caught_up.is_set(),
        }

    @app.timer(interval=GAUGE_SECONDS)  # type: ignore[untyped-decorator]
    async def gauges() -> None:
        # Never the consumer's position(): it can wait for ever on a partition that has
        # none, holding one of the two workers of Faust's consumer thread.
        consumer = app.consumer
        lags: dict[tuple[str, str], int] = {}
        for tp in consumer.assignment():
            highwater, done = consumer.highwater(tp), read.get((tp.topic, tp.partition))
            if highwater is not None and done is not None:  # a topic an agent reads, not a changelog
                lags[(tp.topic, str(tp.partition))] = max(0, highwater - done)
        metrics.consumer_lag.clear()
        for (topic, partition), lag in lags.items():
            metrics.consumer_lag.labels(topic, partition).set(lag)
        metrics.table_entries.labels("state").set(len(state.data))
        metrics.table_entries.labels("alert_view").set(len(book))
        if delivered is not None:
            metrics.table_entries.labels("webhook_delivered").set(len(delivered.data))
        metrics.ready.set(1 if all(readiness().values()) else 0)

    async def publish(accepted: list[tuple[Event, bytes]]) -> None:
        pending = [await events_out.send(key=event.subject.encode(), value=value) for event, value in accepted]
        await asyncio.wait_for(asyncio.gather(*pending), SEND_TIMEOUT_SECONDS)

    async def keep_rejects(rejected: list[Rejected], name: str) -> None:
        """To aid.rejects.v1; a failure is logged, never the caller's: it has its answer."""
        try:
            for item in rejected:
                error = InvalidEventError(item.reason, item.detail)
                record = reject_record(f"http:{name}", item.index, error, item.raw, MAX_KEPT_RAW_BYTES)
                await rejects_topic.send(value=json.dumps(record, ensure_ascii=False).encode())
        except Exception as exc:
            log.warning("could not keep %d rejected events from %s: %s", len(rejected), name, type(exc).__name__)

    async def record_change(change: StatusChange) -> int:
        key = f"{change.alert_id}/{change.change_id}".encode()
        pending = await status_topic.send(key=key, value=change.model_dump_json().encode(), partition=0)
        metadata = await asyncio.wait_for(pending, SEND_TIMEOUT_SECONDS)
        return int(metadata.offset)

    if settings.api.enabled:
        context = ApiContext(settings.api, book, metrics, registry, Decoder(pseudonymiser), pseudonymiser,
                             readiness, publish, keep_rejects, record_change)
        register_api(app, context)
    return metrics


def _attach_webhooks(
    app: faust.App, settings: Settings, metrics: Metrics, alerts_topic: Any, read: dict[tuple[str, int], int]
) -> Any:
    """The `deliver` agent, when subscriptions are configured: each alert version once per
    subscription (a table remembers what was delivered, so the re-sends of a restarted
    worker are not delivered again); a message is acknowledged once every delivery of it
    has landed or gone to the dead letters."""
    if not settings.webhooks.subscriptions:
        return None
    from streams.outputs.webhooks import WebhookSink, make_client

    dead_letters = app.topic(WEBHOOK_DEAD_LETTERS, **RAW)
    delivered = app.Table("webhook-delivered", partitions=settings.kafka.partitions, key_type=bytes, value_type=bytes)

    async def dead_letter(record: dict[str, Any]) -> None:
        await dead_letters.send(value=json.dumps(record, ensure_ascii=False).encode())

    @app.agent(alerts_topic, name="deliver", concurrency=1)
    async def deliver(stream: faust.StreamT[bytes]) -> None:
        async with make_client(settings.webhooks) as client:
            sink = WebhookSink(settings.webhooks, client, metrics, dead_letter)
            try:
                async for event in stream.noack().events():  # type: ignore[attr-defined]
                    read[(event.message.topic, event.message.partition)] = event.message.offset + 1
                    await _deliver_one(event, sink, delivered)
            finally:
                await sink.aclose()

    return delivered


async def _deliver_one(event: Any, sink: Any, delivered: Any) -> None:
    message = event.message
    if message.value is None:
        event.ack()
        return
    version = hashlib.sha256(message.value).hexdigest().encode()
    key = message.key or b""
    if delivered.data.get(key) == version:
        event.ack()  # a re-send of a version already delivered
        return
    try:
        done = sink.submit(message.value)
    except InvalidAlertError as exc:
        log.warning("not delivered: %s[%d]@%d: %s", message.topic, message.partition, message.offset, exc)
        event.ack()
        return
    done.add_done_callback(_finish(event, delivered, key, version))
    if len(sink.tasks) >= MAX_OUTSTANDING:  # a receiver down for long: stop reading until some land
        await asyncio.wait(set(sink.tasks), return_when=asyncio.FIRST_COMPLETED)


def _finish(event: Any, delivered: Any, key: bytes, version: bytes) -> Any:
    started = time.monotonic()

    def finish(done: asyncio.Future[Any]) -> None:
        if done.cancelled():
            return  # the worker stops: not acknowledged, delivered again after the restart
        partition = event.message.partition
        delivered.data[key] = version
        delivered.send_changelog(partition, key, version)
        event.ack()
        log.debug("alert %s delivered in %.3f s", key.decode(errors="replace"), time.monotonic() - started)

    return finish
