"""`RecoveryWatch`: a worker whose reading of the state back has stopped, stops.

After every rebalance Faust reads the assigned partitions of the state table's changelog
back before the agents go on. In one CI run (two workers, the second joining while the
first processed the stream, on a machine running two suites at once), one worker's
recovery got nothing from two changelog partitions with records left, for four minutes,
while the broker answered: Faust logged every five seconds that no event had come since
the recovery started, and waited for ever; the group's lag stayed. Ten runs of that scene
and of a worker joining mid-stream, on a loaded machine or not, did not show it again,
and the cause is not known. A restarted worker reads the changelog anew (a crash loses
nothing, and the tests hold it), so the watch stops the worker, one line and exit status
3 (`WorkerContext.stop`), once its recovery has not moved for
`kafka.recovery_stall_seconds` with records left to read, and its supervisor starts it
again. Time while the broker is away (as `BrokerWatch` last saw it) does not count:
waiting for it is not a stall of the worker's own. Faust starts an app's tasks only once
its first recovery is over, so the worker starts both watches at its first assignment.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping

from faust.types import TP

from streams.worker.context import WorkerContext

log = logging.getLogger("aidmon.worker")

CHECK_SECONDS = 5.0


class RecoveryWatch:
    """How long a recovery has read nothing, from what it has left and where it is."""

    def __init__(self, stall_seconds: float) -> None:
        self._stall_seconds = stall_seconds
        self._offsets: dict[TP, int] | None = None  # where the recovery was when last seen moving
        self._since = 0.0  # since when it has been there

    def observe(
        self, now: float, remaining: Mapping[TP, int], offsets: Mapping[TP, int], broker_up: bool
    ) -> str | None:
        """Note the recovery at `now`: `remaining` records to read per changelog partition
        (none outside a recovery), the `offsets` read so far. Why the worker should stop,
        if the recovery has not moved for the stall time with records left; else None."""
        left = {tp: n for tp, n in remaining.items() if n > 0}
        if not left or not broker_up:
            self._offsets = None
            return None
        where = {tp: offsets.get(tp, -1) for tp in left}
        if where != self._offsets:
            self._offsets, self._since = where, now
            return None
        stalled = now - self._since
        if stalled < self._stall_seconds:
            return None
        parts = ", ".join(f"{tp.topic}[{tp.partition}] {n} left" for tp, n in sorted(left.items()))
        return (f"reading the state back has not moved for {stalled:.0f} s while the broker answers ({parts}); "
                f"a restart reads it anew")


async def watch_recovery(ctx: WorkerContext) -> None:
    """The task: every `CHECK_SECONDS`, Faust's recovery to the watch; a stall stops the worker."""
    watch = RecoveryWatch(ctx.settings.kafka.recovery_stall_seconds)
    while True:
        await asyncio.sleep(CHECK_SECONDS)
        try:
            recovery = ctx.app.tables.recovery  # type: ignore[attr-defined]
            remaining = recovery.active_remaining() if recovery.in_recovery else {}
            reason = watch.observe(time.monotonic(), remaining, dict(recovery.active_offsets), ctx.broker.up)
        except Exception:  # the task must go on: a watch that stopped would hide the next stall
            log.exception("watching the recovery failed")
            continue
        if reason is not None:
            ctx.stop(reason)
            return
