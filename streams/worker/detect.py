"""The `detect` agent and its timers: aid.events.v1 and the lanes in, diversion.alerts.v1 out.

`detect` (concurrency 1: it writes a table) reads both topics, co-partitioned: partition P
of aid.events.v1 and of `<app>-lanes` go to the same worker, whose monitor of P holds the
state of P's keys. A message of aid.events.v1 is taken in where it arrives
(`streams.worker.intake`); a lanes message brings the items other partitions queued for
P. Alerts raised or changed go out keyed by alert id. Messages are acknowledged only after
the checkpoint that wrote the state they changed, and after what they queued for other
partitions was handed to the producer (which Faust flushes before it commits offsets).
On taking over a partition the worker sends its alerts again: delivery is at least once,
alert ids stable. A worker losing partitions writes a checkpoint first, then forgets them.
"""

from __future__ import annotations

import logging
import time

import faust
from faust.types import TP, EventT

from schemas.alerts import Alert
from streams.kafka.topics import EVENTS
from streams.worker import heartbeat, intake
from streams.worker.context import WorkerContext
from streams.worker.outbox import decode_batch

log = logging.getLogger("aidmon.worker")


async def detect_alerts(ctx: WorkerContext, stream: faust.StreamT[bytes]) -> None:
    """The `detect` agent: each message through the monitor of its partition, the alerts out."""
    async for event in stream.noack().events():  # type: ignore[attr-defined]
        message = event.message
        ctx.offsets.handled(message)
        try:
            await _handle(ctx, event)
        except Exception:  # an escaping exception would restart the actor
            log.exception("detection failed at %s[%d]@%d", message.topic, message.partition, message.offset)
        ctx.monitors.hold(event)
        if ctx.monitors.due() or ctx.outbox.full:
            await flush(ctx)


async def flush(ctx: WorkerContext) -> None:
    """Send the lanes messages waiting in the outbox; write a checkpoint when one is due."""
    for partition, value in ctx.outbox.take():
        await ctx.topics.lanes.send(value=value, partition=partition)
    if ctx.monitors.due():
        ctx.monitors.checkpoint()


async def tick(ctx: WorkerContext) -> None:
    """The heartbeat timer: announce the sources' progress, send what it raised here."""
    await send_alerts(ctx, heartbeat.beat(ctx), None)


async def on_revoked(ctx: WorkerContext, revoked: set[TP]) -> None:
    """Partitions going to another worker: what was processed is sent and written first,
    then forgotten."""
    for partition, value in ctx.outbox.take():
        await ctx.topics.lanes.send(value=value, partition=partition)
    ctx.monitors.checkpoint()
    lost = {tp.partition for tp in revoked if tp.topic == EVENTS}
    ctx.monitors.forget(lost)
    for tp in revoked:
        ctx.offsets.forget(tp.topic, tp.partition)
        if tp.topic == EVENTS:
            ctx.progress.forget(tp.partition)


async def send_alerts(ctx: WorkerContext, alerts: list[Alert], stamp: float | None) -> None:
    """Send `alerts` keyed by id; count those raised for the first time, and the delay of
    each from the Kafka timestamp of the message that raised it."""
    for alert in alerts:
        await ctx.topics.alerts.send(key=alert.alert_id.encode(), value=alert.model_dump_json().encode())
    metrics = ctx.metrics
    for alert in ctx.monitors.first_raised(alerts):
        metrics.alerts.labels(alert.typology, alert.severity).inc()
    if stamp is not None and alerts:
        delay = max(0.0, time.time() - stamp)
        for _ in alerts:
            metrics.event_to_alert.observe(delay)


async def _handle(ctx: WorkerContext, event: EventT[bytes]) -> None:
    message = event.message
    if message.topic == EVENTS:
        await send_alerts(ctx, await intake.take_in(ctx, message), message.timestamp)
        return
    for item in decode_batch(message.value or b""):
        await send_alerts(ctx, ctx.monitors.apply(message.partition, item), item.stamp)
