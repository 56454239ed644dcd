"""The `detect` agent, the checkpoint task and the revocation handler: from the lanes to
diversion.alerts.v1.

`detect` (concurrency 1: it writes a table) hands each lanes message (events, ticks, idle
marks; `streams.worker.outbox`) to the detection process (`streams.worker.detection`) and
sends the last version of each alert its monitors raised or changed, keyed by alert id
(with a header, `TRIGGER_HEADER`, that gives the Kafka timestamp of the event that made it),
and to aid.rejects.v1 the events they would not apply (`expired`) or failed on
(`internal_error`; all the events of a message it failed on as a whole), with their
position in aid.events.v1. After a failure has rebuilt a
monitor, the heartbeat announces every source partition again, as it would to a monitor
taken over. It acknowledges its messages itself, only after a checkpoint has written the
state they changed; it goes on while the checkpoint is written (`streams.worker.checkpoints`).
On taking over a partition it sends again the latest version of the partition's alerts.
A worker losing partitions sends what its outbox holds and writes a checkpoint first,
then forgets them.
"""

from __future__ import annotations

import asyncio
import logging
import time

import faust
from faust.types import TP, Message

from schemas.exceptions import DetectionGoneError, DetectionProcessError, InvalidEventError, WorkerError
from streams.kafka.topics import EVENTS
from streams.outputs.metrics import Metrics
from streams.worker import route
from streams.worker.context import WorkerContext
from streams.worker.detection import QUIET_SECONDS, SWEEP_SECONDS
from streams.worker.detection_process import Outcome, Rejected
from streams.worker.intake import reject_at
from streams.worker.outbox import decode_batch

log = logging.getLogger("aidmon.worker")

TRIGGER_HEADER = "aidmon-trigger-timestamp"
BACKLOG_MESSAGES = 1000  # aid.events.v1 messages not routed yet, beyond which a backlog is read


async def detect_alerts(ctx: WorkerContext, stream: faust.StreamT[bytes]) -> None:
    """The `detect` agent: each lanes message through the detection process; the alerts out."""
    async for event in stream.noack().events():  # type: ignore[attr-defined]
        message = event.message
        missing = await ctx.before(message)
        if missing is None:
            continue  # read already (or the worker stops)
        try:
            for earlier in missing:  # a hole in what the consumer handed over, read on its own
                await _detect(ctx, earlier)
            items = await _detect(ctx, message)
        except DetectionGoneError as exc:
            ctx.stop(str(exc))
            return
        ctx.unacknowledged.hold(event, items)
        backlogged = _backlogged(ctx, message)
        if ctx.unacknowledged.due(backlogged=backlogged):
            try:
                await checkpoint(ctx, prompt=not backlogged)
            except DetectionGoneError as exc:
                ctx.stop(str(exc))
                return
            except DetectionProcessError as exc:  # its messages wait for a checkpoint that works
                log.error("checkpoint failed: %s", exc)


def _backlogged(ctx: WorkerContext, message: Message) -> bool:
    """A backlog is being read: more messages of `message`'s lanes partition wait (or its
    end is not known yet), or `route` is more than `BACKLOG_MESSAGES` behind the end of
    aid.events.v1 (catching up, `detect` often waits for `route`, and finds no lanes
    message waiting)."""
    consumer = ctx.app.consumer
    highwater = consumer.highwater(message.tp)
    if highwater is None or highwater > message.offset + 1:
        return True
    behind = 0
    for tp in consumer.assignment():
        if tp.topic == EVENTS:
            end, after = consumer.highwater(tp), ctx.offsets.after(EVENTS, tp.partition)
            if end is not None and after is not None:  # one not read yet: the others say it
                behind += max(0, end - after)
    return behind > BACKLOG_MESSAGES


async def _detect(ctx: WorkerContext, message: Message) -> int:
    """One lanes message through the detection process, its alerts and rejects out; how
    many items it carried."""
    ctx.offsets.handled(message)
    try:
        outcome = await ctx.detection.apply(message.partition, message.offset, message.value or b"", ctx.rows,
                                            ctx.sources())
    except DetectionGoneError:
        raise
    except DetectionProcessError as exc:  # e.g. no monitor could be built from the table
        log.error("detection failed at %s[%d]@%d: %s", message.topic, message.partition, message.offset, exc)
        outcome = Outcome(rejected=unapplied(message.value or b"", str(exc)))
    for alert_id, value, stamp in outcome.again + outcome.changed:
        await ctx.topics.alerts.send(key=alert_id.encode(), value=value, headers=trigger_headers(stamp))
    for rejected in outcome.rejected:
        error = InvalidEventError(rejected.reason, rejected.detail)
        await reject_at(ctx, rejected.partition, rejected.offset, rejected.body, error, rejected.batch_index)
    if outcome.rebuilt:
        ctx.progress.announce_again()
    if outcome.held:
        ctx.progress.held(outcome.held, time.monotonic())
    _count(ctx.metrics, outcome)
    return outcome.items


def trigger_headers(stamp: float | None) -> list[tuple[str, bytes]] | None:
    """The alert message's `TRIGGER_HEADER`: the Kafka timestamp (ms) of the message of
    aid.events.v1 whose event raised or changed it, or moved the event-time watermark past
    its deadline (a tick's), or the moment its partition was seen idle when that judged
    it; none for an alert sent again."""
    return None if stamp is None else [(TRIGGER_HEADER, str(round(stamp * 1000)).encode())]


async def checkpoint(ctx: WorkerContext, prompt: bool = True) -> None:
    """Take a checkpoint: the state changed since the last one, from the detection process
    (which then applies the retention: `Monitors.sweep`), into the table and its changelog
    in the background (`Checkpoints`), after those taken before; the lanes
    messages whose effects it holds are acknowledged once it is written. `detect` goes on
    meanwhile, unless `MAX_WAITING` checkpoints are not written yet. If the changelog
    cannot be written (the broker is away), the messages stay unacknowledged and the rows
    are written before the next checkpoint's. A `prompt` one (no backlog is read) lets the
    sweep stop detection for about `SWEEP_SECONDS`, the rest going on after the next ones;
    one taken while a backlog is read sweeps all that is due."""
    async with ctx.checkpointing:
        if ctx.checkpoints.full:
            await ctx.checkpoints.settle()
        held = ctx.unacknowledged.take()
        try:
            rows = await ctx.detection.checkpoint(SWEEP_SECONDS if prompt else None)
        except DetectionProcessError:
            ctx.unacknowledged.give_back(held)  # acknowledged with a checkpoint that works, if one does
            raise
        ctx.checkpoints.add(rows, held)


async def checkpoint_often(ctx: WorkerContext) -> None:
    """The checkpoint task: a quiet lanes topic still gets its messages acknowledged. (Not a
    Faust timer: one that raised would stop, and leave the last messages unacknowledged.)"""
    while True:
        await asyncio.sleep(QUIET_SECONDS / 2)
        try:
            if ctx.unacknowledged.due():
                await checkpoint(ctx)
            else:
                ctx.checkpoints.resume()  # a write that failed is tried again
        except DetectionGoneError:
            return  # `detect` stops the worker
        except Exception:  # the task must go on
            log.exception("checkpoint failed")


async def on_revoked(ctx: WorkerContext, revoked: set[TP]) -> None:
    """Partitions going to another worker: what was processed is written first, then forgotten."""
    ctx.gone.update(revoked)
    lanes = ctx.topics.lanes.get_topic_name()
    lost = {tp.partition for tp in revoked if tp.topic == lanes}
    await route.flush(ctx)
    await checkpoint(ctx)
    await ctx.checkpoints.settle()
    await ctx.detection.forget(lost)
    for tp in revoked:
        ctx.continuity.forget(tp)
        ctx.offsets.forget(tp.topic, tp.partition)
        if tp.topic == EVENTS:
            ctx.progress.forget(tp.partition)


def unapplied(value: bytes, why: str) -> list[Rejected]:
    """The events of a lanes message the detection process failed on as a whole, for the
    rejects (`internal_error`, with their place in aid.events.v1): kept, not lost."""
    try:
        items = decode_batch(value)
    except WorkerError:
        return []  # not a lanes message: the detection process logged it as such
    return [Rejected(int(item.source.removeprefix("events-")), item.offset, item.body, item.batch_index,
                     "internal_error", why) for item in items if item.kind == "event"]


def _count(metrics: Metrics, outcome: Outcome) -> None:
    """Alerts raised (not updates or re-sends) by kind; the delay of each one raised or changed."""
    for typology, severity in outcome.raised:
        metrics.alerts.labels(typology, severity).inc()
    now = time.time()
    for _, _, stamp in outcome.changed:
        if stamp is not None:
            metrics.event_to_alert.observe(max(0.0, now - stamp))
