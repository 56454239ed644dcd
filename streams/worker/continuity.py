"""`Continuity`: every message of aid.events.v1 and of the lanes, in order, from where the
group committed.

Faust's consumer can hand an agent a partition's messages with a hole in them. On a
worker's start, the stream partitions are resumed before they are sought to their
committed offsets: a batch fetched in between is still being handed over after the seek,
and as it goes Faust records its offsets as read, so the messages fetched again from the
committed offset are dropped as read already, and delivery goes on after the batch (seen
at every restart with a lanes backlog: partitions committed at 65 began at 72 to 78).
Faust also records the hole as a gap and commits over it: the events of the missing
messages would be lost without a trace.

`route` and `detect` ask `Continuity` about each message. The next expected one is
processed. One past it means a hole: the partition is sought back to the first missing
offset, in the consumer's own thread and without waiting for it (the agent must go on
taking the rest of the stale batch), and each message of that batch is skipped, putting
Faust's record of what was read back to the hole and dropping its record of the gap, until
the missing message comes. One before it was processed already.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from faust.types import TP

log = logging.getLogger("aidmon.worker")

SEEK_AGAIN_SECONDS = 10.0


class Continuity:
    """The next offset expected per partition, and the seeks back over holes."""

    def __init__(self, app: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self._app = app  # its consumer is read when needed (Faust builds it when the app starts)
        self._next: dict[TP, int] = {}
        self._sought: dict[TP, tuple[int, float]] = {}  # partition -> offset sought back to, when
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()

    def forget(self, tp: TP) -> None:
        """The partition was revoked, or assigned anew: its next owner starts where the group committed."""
        self._next.pop(tp, None)
        self._sought.pop(tp, None)

    def admit(self, tp: TP, offset: int) -> bool:
        """Whether the message at `offset` of `tp` is to be processed now (it is then
        expected to be followed by `offset + 1`); past a hole, seek back over it."""
        expected = self._next.get(tp)
        if expected is None:
            expected = self._committed(tp)
        consumer = self._app.consumer
        if expected is None or offset == expected:
            self._next[tp] = offset + 1
            if self._sought.pop(tp, None) is not None:
                self._forget_gap(consumer, tp)  # the stale batch has gone by: no gap of it is left
            return True
        if offset < expected:
            return False  # processed already
        read = getattr(consumer, "_read_offset", None)
        if read is not None:
            read[tp] = expected  # else the messages fetched again are dropped as read
        self._forget_gap(consumer, tp)
        sought, now = self._sought.get(tp), self._clock()
        if sought is None or sought[0] != expected or now - sought[1] >= SEEK_AGAIN_SECONDS:
            log.warning("%s[%d]: the consumer skipped offsets %d to %d; reading them again",
                        tp.topic, tp.partition, expected, offset - 1)
            self._sought[tp] = (expected, now)
            task = asyncio.ensure_future(consumer.seek_wait({tp: expected}))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return False

    @staticmethod
    def _forget_gap(consumer: Any, tp: TP) -> None:
        gaps = getattr(consumer, "_gap", None)
        if gaps is not None:
            gaps.pop(tp, None)  # Faust would commit over it

    def _committed(self, tp: TP) -> int | None:
        """Where the group resumed `tp` (Faust's record of it; None before any commit)."""
        committed = getattr(self._app.consumer, "_committed_offset", {}).get(tp)
        return int(committed) if committed is not None else None
