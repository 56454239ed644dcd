"""The `route` agent, the flush timer and the heartbeat: from aid.events.v1 to the lanes.

`route` (one actor per worker, on the partitions of aid.events.v1 it was given) takes
each message in (`streams.worker.intake`): decoded and validated once, rejected whole or
queued, pseudonymised, for the partition of <app>-lanes that keeps the state of each
detector it feeds, marked with its source partition. The `Outbox` sends each partition's
queue as one lanes message when due (`Outbox.due`) or when a batch is full; a message of
aid.events.v1 is acknowledged once its items were sent. Every `tick_seconds` the heartbeat
queues, for every lanes partition, how far each source partition has got, and that a
source quiet for `idle_seconds` with nothing left to read is idle: the watermark of each
monitor is where all its active sources have got to (`agents.clock`). The heartbeat also
pauses a partition read too far ahead of the others in event time
(`streams.worker.alignment`).
"""

from __future__ import annotations

import asyncio
import logging
import time

import faust
from faust.exceptions import NotReady
from faust.types import TP, Message

from schemas.exceptions import InvalidEventError
from streams.kafka.topics import EVENTS
from streams.worker.alignment import ahead
from streams.worker.context import WorkerContext
from streams.worker.intake import reject, take_in
from streams.worker.outbox import CAUGHT_UP_SECONDS, LaneItem

log = logging.getLogger("aidmon.worker")


async def route_events(ctx: WorkerContext, stream: faust.StreamT[bytes]) -> None:
    """The `route` agent: each message of aid.events.v1 to the outbox, or to the rejects."""
    async for event in stream.noack().events():  # type: ignore[attr-defined]
        message = event.message
        missing = await ctx.before(message)
        if missing is None:
            continue  # read already (or the worker stops)
        for earlier in missing:  # a hole in what the consumer handed over, read on its own
            await _route(ctx, earlier)
        await _route(ctx, message)
        ctx.outbox.hold(event)
        if ctx.outbox.full:
            await flush(ctx)


async def _route(ctx: WorkerContext, message: Message) -> None:
    ctx.offsets.handled(message)
    try:
        await take_in(ctx, message)
    except Exception as exc:  # an escaping exception would restart the actor
        log.exception("routing failed at %s[%d]@%d", EVENTS, message.partition, message.offset)
        error = InvalidEventError("internal_error", type(exc).__name__)
        await reject(ctx, message, message.value or b"", error)


async def flush(ctx: WorkerContext) -> None:
    """Send what the outbox holds, one message per lanes partition, then acknowledge the
    messages of aid.events.v1 it came from. One flush at a time: the lanes messages of a
    partition leave in order."""
    async with ctx.flushing:
        messages, held = ctx.outbox.take()
        for partition, value in messages:
            await ctx.topics.lanes.send(value=value, partition=partition)
        ctx.acknowledge(held)


async def send_lanes(ctx: WorkerContext) -> None:
    """The outbox task: the outbox is sent when due (`Outbox.due`: every `FLUSH_SECONDS`
    while a backlog is read, within `CAUGHT_UP_SECONDS` when nothing more waits), and
    every `tick_seconds` the heartbeat is queued first. (Not Faust timers: they warn at
    every round that takes longer than its interval, which a busy worker's often do.)"""
    tick_seconds = ctx.settings.kafka.tick_seconds
    next_beat = time.monotonic()
    while True:
        await asyncio.sleep(CAUGHT_UP_SECONDS)
        try:
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + tick_seconds
                heartbeat(ctx)
            if ctx.outbox.due(lambda: all_caught_up(ctx)):
                await flush(ctx)
        except NotReady:  # the worker is stopping (its detection process ended, a signal): not a fault of its own
            log.warning("the lanes were not sent: the producer has stopped; their events stay unacknowledged")
        except Exception:  # the task must go on; what was not sent stays unacknowledged
            log.exception("sending the lanes failed")


def heartbeat(ctx: WorkerContext) -> None:
    """Queue each assigned source partition's progress, or its idleness, for every lanes partition."""
    if not recovered(ctx.app):
        return  # the tables are being read back and nothing is routed: no partition is idle yet
    now = time.monotonic()
    progress, idle_seconds = ctx.progress, ctx.settings.kafka.idle_seconds
    for tp in ctx.app.consumer.assignment():
        if tp.topic != EVENTS:
            continue
        p = tp.partition
        progress.track(p, now)
        tick = progress.due_tick(p)
        if tick is not None:
            at, stamp = tick
            _broadcast(ctx, LaneItem("tick", f"events-{p}", (), stamp, at))
        elif p not in ctx.alignment.paused and progress.quiet(p, now, idle_seconds) and caught_up(ctx, tp):
            progress.mark_idle(p)
            _broadcast(ctx, LaneItem("idle", f"events-{p}", stamp=time.time()))  # the trigger of what it judges
    align(ctx, now)


def align(ctx: WorkerContext, now: float) -> None:
    """Pause the partitions of aid.events.v1 read too far ahead of the slowest one with a
    backlog, resume the others (`streams.worker.alignment`). A paused partition is never
    idle: the end of it the consumer knows is that of its last fetch, and may be older
    than what it holds. One resumed is quiet again only `idle_seconds` after its resumption,
    time for a fetch to tell its end anew; marked idle sooner, the watermark would pass the
    messages it still holds."""
    assigned = [tp for tp in ctx.app.consumer.assignment() if tp.topic == EVENTS]
    backlog = [tp.partition for tp in assigned if not caught_up(ctx, tp)]
    paused = ahead(ctx.progress.times(), backlog, ctx.settings.kafka.read_ahead_hours * 3600.0)
    if paused or ctx.alignment.paused:
        for p in ctx.alignment.paused - paused:
            ctx.progress.resumed(p, now)
        ctx.alignment.apply(ctx.app, paused)
        ctx.metrics.read_ahead.set(len(paused))


def recovered(app: faust.App) -> bool:
    """The tables are read back and no rebalance is under way: the agents are running."""
    recovery = app.tables.recovery  # type: ignore[attr-defined]
    return bool(recovery.completed.is_set() and not recovery.in_recovery and not app.rebalancing)


def caught_up(ctx: WorkerContext, tp: TP) -> bool:
    """Nothing left to read: the offset after the last message routed (or, before the
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


def all_caught_up(ctx: WorkerContext) -> bool:
    """Every assigned partition of aid.events.v1 is caught up (`caught_up`)."""
    return all(caught_up(ctx, tp) for tp in ctx.app.consumer.assignment() if tp.topic == EVENTS)


def _broadcast(ctx: WorkerContext, item: LaneItem) -> None:
    for partition in range(ctx.settings.kafka.partitions):
        ctx.outbox.add(partition, item)
