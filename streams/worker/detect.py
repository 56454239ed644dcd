"""The `detect` agent, the checkpoint timer and the revocation handler: from the lanes to
diversion.alerts.v1.

`detect` (concurrency 1: it writes a table) hands each lanes message to the partition's
monitor (`streams.worker.monitors`) and sends the alerts it raises or changes, keyed by
alert id. It acknowledges its messages itself, only after a checkpoint has written the
state they changed. On taking over a partition it sends again the latest version of the
partition's alerts. A worker losing partitions writes a checkpoint first, then forgets them.
"""

from __future__ import annotations

import logging
import time

import faust
from faust.types import TP

from schemas.alerts import Alert
from streams.kafka.topics import EVENTS
from streams.outputs.metrics import Metrics
from streams.worker.context import WorkerContext

log = logging.getLogger("aidmon.worker")


async def detect_alerts(ctx: WorkerContext, stream: faust.StreamT[bytes]) -> None:
    """The `detect` agent: each lanes message through its monitor, the alerts out."""
    monitors = ctx.monitors
    async for event in stream.noack().events():  # type: ignore[attr-defined]
        message = event.message
        ctx.offsets.handled(message)
        try:
            again, alerts, stamp = monitors.handle(message.partition, message.value)
        except Exception:  # an escaping exception would restart the actor
            log.exception("detection failed at %s[%d]@%d", message.topic, message.partition, message.offset)
            again, alerts, stamp = [], [], None
        monitors.hold(event)
        for alert in again + alerts:
            await ctx.topics.alerts.send(key=alert.alert_id.encode(), value=alert.model_dump_json().encode())
        _count(ctx.metrics, monitors.first_raised(alerts), alerts, stamp)
        if monitors.due():
            monitors.checkpoint()


async def checkpoint(ctx: WorkerContext) -> None:
    """The checkpoint timer: a quiet lanes topic still gets its messages acknowledged."""
    if ctx.monitors.due():
        ctx.monitors.checkpoint()


async def on_revoked(ctx: WorkerContext, revoked: set[TP]) -> None:
    """Partitions going to another worker: what was processed is written first, then forgotten."""
    lanes = ctx.topics.lanes.get_topic_name()
    lost = {tp.partition for tp in revoked if tp.topic == lanes}
    ctx.monitors.checkpoint()
    ctx.monitors.forget(lost)
    for tp in revoked:
        ctx.offsets.forget(tp.topic, tp.partition)
        if tp.topic == EVENTS:
            ctx.progress.forget(tp.partition)


def _count(metrics: Metrics, raised: list[Alert], alerts: list[Alert], stamp: float | None) -> None:
    """Alerts raised (not updates or re-sends) by kind; the delay of each one raised or changed."""
    for alert in raised:
        metrics.alerts.labels(alert.typology, alert.severity).inc()
    if stamp is not None:
        for _ in alerts:
            metrics.event_to_alert.observe(max(0.0, time.time() - stamp))
