"""The heartbeat: how far each source partition of aid.events.v1 has got, told to every
partition's monitor.

Every `tick_seconds` the worker tells every partition how far each source partition it
holds has got (a tick), and that a source quiet for `idle_seconds` with nothing left to
read is idle: the watermark of each monitor is where all its active sources have got to
(`agents.clock`). The source's own partition hears it at once; the others in their next
lanes message, after the events that came before it.
"""

from __future__ import annotations

import time

import faust
from faust.types import TP

from schemas.alerts import Alert
from streams.kafka.topics import EVENTS
from streams.worker.context import WorkerContext
from streams.worker.outbox import LaneItem


def beat(ctx: WorkerContext) -> list[Alert]:
    """Announce each assigned source partition's progress, or its idleness; the alerts that
    the source's own partition raised on hearing it."""
    if not recovered(ctx.app):
        return []  # the monitors' state is being read back: nothing may touch it yet
    now = time.monotonic()
    progress, idle_seconds = ctx.progress, ctx.settings.kafka.idle_seconds
    alerts: list[Alert] = []
    for tp in ctx.app.consumer.assignment():
        if tp.topic != EVENTS:
            continue
        p = tp.partition
        progress.track(p, now)
        tick = progress.due_tick(p)
        if tick is not None:
            at, stamp = tick
            alerts += _tell(ctx, p, LaneItem("tick", f"events-{p}", (), stamp, at))
        elif progress.quiet(p, now, idle_seconds) and caught_up(ctx, tp):
            progress.mark_idle(p)
            alerts += _tell(ctx, p, LaneItem("idle", f"events-{p}"))
    return alerts


def recovered(app: faust.App) -> bool:
    """The tables are read back and no rebalance is under way: the agents may run."""
    recovery = app.tables.recovery  # type: ignore[attr-defined]
    return bool(recovery.completed.is_set() and not recovery.in_recovery and not app.rebalancing)


def caught_up(ctx: WorkerContext, tp: TP) -> bool:
    """Nothing left to read: the offset after the last message handled (or, before the
    first, where the group resumes) has reached the partition's end. A partition whose
    backlog waits behind another's, or is not fetched yet, is never idle, or the watermark
    would pass events still to come. (Not the consumer's position(): it can wait for ever
    on a partition without one, and it holds one of the two workers of Faust's consumer
    thread while it waits.)"""
    consumer = ctx.app.consumer
    highwater, position = consumer.highwater(tp), ctx.offsets.after(EVENTS, tp.partition)
    if position is None:
        committed = getattr(consumer, "_committed_offset", {}).get(tp)  # Faust's record of where it resumed
        position = committed if committed is not None else 0
    return highwater is not None and position >= highwater


def _tell(ctx: WorkerContext, home: int, item: LaneItem) -> list[Alert]:
    for partition in range(ctx.settings.kafka.partitions):
        if partition != home:
            ctx.outbox.add(partition, item)
    return ctx.monitors.apply(home, item)
