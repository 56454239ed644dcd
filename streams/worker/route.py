"""The `route` agent and the heartbeat timer: from aid.events.v1 to the lanes.

`route` (one actor per worker, on the partitions of aid.events.v1 it was given) decodes
and validates each message; a malformed one goes whole to aid.rejects.v1 with its reason
and position. A valid one, pseudonymised, goes to the partition of <app>-lanes that keeps
the state of each detector it feeds (`streams.worker.lanes`), marked with its source
partition. Every `tick_seconds` the heartbeat tells every lanes partition how far each
source partition has got, and that a source quiet for `idle_seconds` with nothing left to
read is idle: the watermark of each monitor is where all its active sources have got to
(`agents.clock`).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import faust
from faust.types import TP

from schemas.exceptions import InvalidEventError
from streams.kafka.topics import EVENTS
from streams.rejects import MAX_KEPT_RAW_BYTES, reject_record
from streams.worker.context import WorkerContext
from streams.worker.lanes import route

log = logging.getLogger("aidmon.worker")


async def route_events(ctx: WorkerContext, stream: faust.StreamT[bytes]) -> None:
    """The `route` agent: each message of aid.events.v1 to the lanes, or to the rejects."""
    async for event in stream.events():
        message = event.message
        ctx.offsets.handled(message)
        try:
            await _route_one(ctx, message.value, message.partition, message.offset, message.timestamp)
        except Exception as exc:  # an escaping exception would restart the actor
            log.exception("routing failed at %s[%d]@%d", EVENTS, message.partition, message.offset)
            error = InvalidEventError("internal_error", type(exc).__name__)
            await reject(ctx, message.value, message.partition, message.offset, error)


async def heartbeat(ctx: WorkerContext) -> None:
    """The heartbeat timer: announce each assigned source partition's progress, or its idleness."""
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
            await _broadcast(ctx, {"kind": "tick", "source": f"events-{p}", "time": at, "stamp": stamp})
        elif progress.quiet(p, now, idle_seconds) and caught_up(ctx, tp):
            progress.mark_idle(p)
            await _broadcast(ctx, {"kind": "idle", "source": f"events-{p}"})


async def reject(ctx: WorkerContext, value: bytes, partition: int, offset: int, error: InvalidEventError) -> None:
    """Count the message as rejected and keep it whole on aid.rejects.v1, with its position."""
    metrics = ctx.metrics
    metrics.rejects.labels(error.reason).inc()
    metrics.events.labels(*metrics.raw_labels(value), "rejected").inc()
    record = reject_record(f"{EVENTS}[{partition}]", offset, error, value, MAX_KEPT_RAW_BYTES)
    record["partition"], record["offset"] = partition, offset
    await ctx.topics.rejects.send(value=json.dumps(record, ensure_ascii=False).encode())


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


async def _route_one(ctx: WorkerContext, value: bytes, partition: int, offset: int, stamp: float) -> None:
    try:
        event = ctx.decode(value)
    except InvalidEventError as error:
        await reject(ctx, value, partition, offset, error)
        return
    ctx.metrics.events.labels(event.type, ctx.metrics.source(event.source), "accepted").inc()
    source = f"events-{partition}"
    for target, only, copy in route(event, ctx.settings.kafka.partitions):
        message = {"kind": "event", "source": source, "only": sorted(only), "stamp": stamp,
                   "event": copy.model_dump(mode="json")}
        await ctx.topics.lanes.send(key=event.subject.encode(), value=json.dumps(message).encode(), partition=target)
    ctx.progress.saw(partition, event.at, stamp)


async def _broadcast(ctx: WorkerContext, message: dict[str, Any]) -> None:
    value = json.dumps(message).encode()
    for partition in range(ctx.settings.kafka.partitions):
        await ctx.topics.lanes.send(value=value, partition=partition)
