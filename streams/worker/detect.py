"""The `detect` agent, the checkpoint task and the revocation handler: from the lanes to
diversion.alerts.v1.

`detect` (concurrency 1: it writes a table) hands each item of a lanes message (an event,
a tick, an idle mark; `streams.worker.outbox`) to the partition's monitor
(`streams.worker.monitors`) and sends the last version of each alert they raised or
changed, keyed by alert id. It acknowledges its messages itself, only after a checkpoint
has written the state they changed. On taking over a partition it sends again the latest
version of the partition's alerts. A worker losing partitions sends what its outbox holds
and writes a checkpoint first, then forgets them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import faust
from faust.types import TP

from schemas.alerts import Alert
from schemas.exceptions import WorkerError
from streams.kafka.topics import EVENTS
from streams.outputs.metrics import Metrics
from streams.worker import route
from streams.worker.context import WorkerContext
from streams.worker.monitors import CHECKPOINT_SECONDS
from streams.worker.outbox import LaneItem, decode_batch

log = logging.getLogger("aidmon.worker")


async def detect_alerts(ctx: WorkerContext, stream: faust.StreamT[bytes]) -> None:
    """The `detect` agent: each lanes message, item by item, through its monitor; the alerts out."""
    monitors = ctx.monitors
    async for event in stream.noack().events():  # type: ignore[attr-defined]
        message = event.message
        ctx.offsets.handled(message)
        try:
            items = decode_batch(message.value or b"")
        except WorkerError as exc:
            log.error("skipped %s[%d]@%d: %s", message.topic, message.partition, message.offset, exc)
            items = []
        decoded = ctx.outbox.handoff.take(message.value) if items else None
        again, changed = _apply(ctx, message.partition, message.offset, items, decoded)
        monitors.hold(event, len(items))
        for alert in again + [alert for alert, _ in changed]:
            await ctx.topics.alerts.send(key=alert.alert_id.encode(), value=alert.model_dump_json().encode())
        _count(ctx.metrics, monitors.first_raised([alert for alert, _ in changed]), changed)
        if monitors.due():
            await checkpoint(ctx)


def _apply(
    ctx: WorkerContext, partition: int, offset: int, items: list[LaneItem], decoded: list[Any] | None
) -> tuple[list[Alert], list[tuple[Alert, float | None]]]:
    """Alerts to send again, and the last version of each alert the items raised or
    changed, with the Kafka timestamp of the event that brought it. `decoded` holds the
    items' events if this worker queued the message (`outbox.Handoff`)."""
    again: list[Alert] = []
    changed: dict[str, tuple[Alert, float | None]] = {}
    for index, item in enumerate(items):
        try:
            resent, alerts = ctx.monitors.apply(partition, item, decoded[index] if decoded else None)
        except Exception:  # an escaping exception would restart the actor
            log.exception("detection failed at %s[%d]@%d, item %d", ctx.topics.lanes.get_topic_name(),
                          partition, offset, index)
            continue
        again += resent
        for alert in alerts:
            changed.pop(alert.alert_id, None)  # the latest version goes, in the order of the last changes
            changed[alert.alert_id] = (alert, item.stamp)
    return again, list(changed.values())


async def checkpoint(ctx: WorkerContext) -> None:
    """Write the changed state to the table and its changelog, then acknowledge the lanes
    messages whose effects it holds. If the changelog cannot be written (the broker is
    away), the messages stay unacknowledged and the rows go with the next checkpoint."""
    async with ctx.checkpointing:
        rows, held = ctx.monitors.checkpoint()
        try:
            await ctx.changelog.write(rows)
        except Exception as exc:  # the writer keeps the rows; the next checkpoint tries again
            log.error("checkpoint not written to the changelog (%s: %s); tried again at the next one",
                      type(exc).__name__, exc)
            ctx.monitors.hold_back(held)
            return
        ctx.acknowledge(held)


async def checkpoint_often(ctx: WorkerContext) -> None:
    """The checkpoint task: a quiet lanes topic still gets its messages acknowledged. (Not a
    Faust timer: one that raised would stop, and leave the last messages unacknowledged.)"""
    while True:
        await asyncio.sleep(CHECKPOINT_SECONDS / 4)
        try:
            if ctx.monitors.due():
                await checkpoint(ctx)
        except Exception:  # the task must go on
            log.exception("checkpoint failed")


async def on_revoked(ctx: WorkerContext, revoked: set[TP]) -> None:
    """Partitions going to another worker: what was processed is written first, then forgotten."""
    ctx.gone.update(revoked)
    lanes = ctx.topics.lanes.get_topic_name()
    lost = {tp.partition for tp in revoked if tp.topic == lanes}
    await route.flush(ctx)
    await checkpoint(ctx)
    ctx.monitors.forget(lost)
    for tp in revoked:
        ctx.offsets.forget(tp.topic, tp.partition)
        if tp.topic == EVENTS:
            ctx.progress.forget(tp.partition)


def _count(metrics: Metrics, raised: list[Alert], changed: list[tuple[Alert, float | None]]) -> None:
    """Alerts raised (not updates or re-sends) by kind; the delay of each one raised or changed."""
    for alert in raised:
        metrics.alerts.labels(alert.typology, alert.severity).inc()
    now = time.time()
    for _, stamp in changed:
        if stamp is not None:
            metrics.event_to_alert.observe(max(0.0, now - stamp))
