"""The `detect` agent, the checkpoint task and the revocation handler: from the lanes to
diversion.alerts.v1.

`detect` (concurrency 1: it writes a table) hands each item of a lanes message (an event,
a tick, an idle mark; `streams.worker.outbox`) to the partition's monitor
(`streams.worker.monitors`) and sends the last version of each alert they raised or
changed, keyed by alert id, and to aid.rejects.v1 the events the monitors would not apply
(`expired`) or failed on (`internal_error`), with their position in aid.events.v1. After a
failure has rebuilt a monitor, the heartbeat announces every source partition again, as
it would to a monitor taken over. It acknowledges its messages itself, only after a checkpoint
has written the state they changed. On taking over a partition it sends again the latest
version of the partition's alerts. A worker losing partitions sends what its outbox holds
and writes a checkpoint first, then forgets them.
"""

from __future__ import annotations

import asyncio
import logging
import time

import faust
from faust.types import TP

from schemas.alerts import Alert
from schemas.exceptions import WorkerError
from streams.kafka.topics import EVENTS
from streams.outputs.metrics import Metrics
from streams.worker import route
from streams.worker.context import WorkerContext
from streams.worker.intake import reject_at
from streams.worker.monitors import CHECKPOINT_SECONDS, Applied
from streams.worker.outbox import decode_batch

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
        try:
            applied = monitors.apply(message.partition, message.offset, items, decoded)
        except Exception:  # no monitor could be built from the table (escaping, it would restart the actor)
            log.exception("detection failed at %s[%d]@%d", message.topic, message.partition, message.offset)
            applied = Applied()
        monitors.hold(event, len(items))
        changed = list(applied.changed.values())
        for alert in applied.again + [alert for alert, _ in changed]:
            await ctx.topics.alerts.send(key=alert.alert_id.encode(), value=alert.model_dump_json().encode())
        for item, error in applied.rejected:
            source = int(item.source.removeprefix("events-"))
            await reject_at(ctx, source, item.offset, item.body, error, item.batch_index)
        if applied.rebuilt:
            ctx.progress.announce_again()
        _count(ctx.metrics, monitors.first_raised([alert for alert, _ in changed]), changed)
        if monitors.due():
            await checkpoint(ctx)


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
