"""The detection process's side: the `Monitors`, served over two pipes.

The worker (`streams.worker.detection`) sends requests, one at a time, each a pickled
tuple framed by its length (4 bytes, big-endian); every request gets one reply, framed the
same way:

    ("load", partition, rows, sources)   -> None      take over a partition: its state rows
    ("apply", partition, offset, value)  -> Outcome   a lanes message, as read
    ("checkpoint", budget)               -> Rows      the state changed since the last one (then,
                                                      once the reply is sent, the retention is
                                                      applied: `Monitors.sweep`, within `budget`
                                                      seconds if not None)
    ("forget", partitions)               -> None      partitions gone to another worker
    ("context", kind, subject_id, at)    -> dict|None an alert's map (`Monitors.context`)

A request that fails is answered with `Failed` and the process goes on. It ends when the
worker closes the pipe (or dies: the pipe closes with it). The pipes carry only what the
worker's own process sent, so pickle is safe here; the state itself crosses them as the
bytes the `state` table holds.
"""

from __future__ import annotations

import gc
import logging
import pickle
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from schemas.exceptions import WorkerError
from streams.worker.changelog import Rows
from streams.worker.monitors import Monitors, Read
from streams.worker.outbox import decode_batch

log = logging.getLogger("aidmon.worker")

FRAME = struct.Struct(">I")
SLOW_CHECKPOINT_SECONDS = 0.5


@dataclass(frozen=True)
class Rejected:
    """An event to keep on aid.rejects.v1: where it was in aid.events.v1, its bytes, why."""

    partition: int
    offset: int | None
    body: bytes
    batch_index: int | None
    reason: str
    detail: str


@dataclass
class Outcome:
    """What one lanes message gave, ready to send: the alerts to send again (a partition
    just taken over) and the last version of each alert raised or changed, as (alert id,
    JSON, Kafka timestamp of the item that brought it); the typology and severity of those
    raised for the first time; the events to reject; whether a failure had a partition's
    monitor rebuilt; the source partitions a wake made hold the watermark (`agents.clock`);
    and how many items the message held."""

    again: list[tuple[str, bytes, float | None]] = field(default_factory=list)
    changed: list[tuple[str, bytes, float | None]] = field(default_factory=list)
    raised: list[tuple[str, str]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    rebuilt: bool = False
    held: list[int] = field(default_factory=list)
    items: int = 0


@dataclass(frozen=True)
class Failed:
    """A request that raised, as its reply."""

    error: str


def apply(monitors: Monitors, partition: int, offset: int, value: bytes) -> Outcome:
    """Apply the lanes message at `offset` of `partition` and hold it for the next checkpoint."""
    try:
        items = decode_batch(value)
    except WorkerError as exc:
        log.error("skipped lanes partition %d, offset %d: %s", partition, offset, exc)
        items = []
    applied = monitors.apply(partition, offset, items)
    monitors.hold(Read(partition, offset, value))
    changed = list(applied.changed.values())
    return Outcome(
        again=[(alert.alert_id, alert.model_dump_json().encode(), None) for alert in applied.again],
        changed=[(alert.alert_id, alert.model_dump_json().encode(), stamp) for alert, stamp in changed],
        raised=[(alert.typology, alert.severity) for alert in monitors.first_raised([a for a, _ in changed])],
        rejected=[Rejected(int(item.source.removeprefix("events-")), item.offset, item.body, item.batch_index,
                           error.reason, error.detail) for item, error in applied.rejected],
        rebuilt=applied.rebuilt,
        held=sorted(int(source.removeprefix("events-")) for source in applied.held),
        items=len(items),
    )


def checkpoint(monitors: Monitors, budget: float | None = None) -> tuple[Rows, Callable[[], None]]:
    """The rows changed since the last checkpoint, and the work to do once they are sent:
    the retention's sweep, whose deletions go with the next checkpoint (`Monitors.sweep`).
    The worker writes the rows to its changelog while this process sweeps, and the next
    request waits for the sweep, so no event is applied between a checkpoint and its sweep.
    With a `budget`, the two together take about `budget` seconds (the sweep at least one
    step), the rest of the sweep after the next checkpoints. A slow one is logged (alerts
    wait behind it). What the process made until now is then moved out of the cyclic
    collector's sight (`gc.freeze`)."""
    started = time.monotonic()
    rows = monitors.checkpoint()

    def sweep() -> None:
        monitors.sweep(None if budget is None else max(0.0, budget - (time.monotonic() - started)))
        gc.freeze()
        took = time.monotonic() - started
        if took >= SLOW_CHECKPOINT_SECONDS:
            size = sum(len(value or b"") for changes in rows.values() for value in changes.values())
            log.warning("a checkpoint took %.1f s: %d state records changed, %.1f MiB", took,
                        sum(len(changes) for changes in rows.values()), size / 2**20)

    return rows, sweep


def handle(monitors: Monitors, request: tuple[Any, ...]) -> tuple[Any, Callable[[], None] | None]:
    """The reply to one request, and what to do once it is sent (if anything)."""
    kind, *args = request
    if kind == "apply":
        return apply(monitors, *args), None
    if kind == "checkpoint":
        return checkpoint(monitors, *args)
    if kind == "load":
        monitors.load(*args)
        return None, None
    if kind == "forget":
        monitors.forget(*args)
        return None, None
    if kind == "context":
        return monitors.context(*args), None
    raise WorkerError(f"the detection process has no request {kind!r}")


def serve(requests: BinaryIO, replies: BinaryIO, monitors: Monitors) -> None:
    """Answer requests until the other end closes."""
    while True:
        header = requests.read(FRAME.size)
        if len(header) < FRAME.size:
            return
        (size,) = FRAME.unpack(header)
        body = requests.read(size)
        if len(body) < size:
            return
        after = None
        try:
            reply, after = handle(monitors, pickle.loads(body))  # noqa: S301 - written by the worker that started this process
        except Exception as exc:  # one request failed; the others may not
            log.exception("the detection process failed on a request")
            reply = Failed(f"{type(exc).__name__}: {exc}")
        data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        replies.write(FRAME.pack(len(data)))
        replies.write(data)
        replies.flush()
        if after is not None:
            try:
                after()
            except Exception:  # the next request is answered as usual
                log.exception("the detection process failed after a reply")
