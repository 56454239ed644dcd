"""`Continuity`: every message of aid.events.v1 and of the lanes, in order, from where the
group committed.

Faust's consumer can hand an agent a partition's messages with a hole in them: on a
worker's start, messages fetched while the table is being recovered are dropped when
the stream partitions are sought to their committed offsets, and fetching goes on after
them (measured in the live crash tests: a partition whose committed offset was 67 began
at 81). Faust then records the hole as a gap and commits over it, so the events of the
missing messages would be lost without a trace. `route` and `detect` ask `Continuity`
about each message: the next one expected is processed; one past it means a hole, and the partition
is sought back to the first missing offset (Faust's record of the gap is dropped, so
that no commit passes over it) while the messages read past the hole are skipped until
the missing one comes; one before it was processed already (read again after a seek).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from faust.types import TP

log = logging.getLogger("aidmon.worker")

SEEK_AGAIN_SECONDS = 5.0


class Continuity:
    """The next offset expected per partition, and the seeks back over holes."""

    def __init__(self, app: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self._app = app  # its consumer is read when needed (Faust builds it when the app starts)
        self._next: dict[TP, int] = {}
        self._sought: dict[TP, tuple[int, float]] = {}  # partition -> offset sought back to, when
        self._clock = clock

    def forget(self, tp: TP) -> None:
        """The partition was revoked, or assigned anew: its next owner starts where the group committed."""
        self._next.pop(tp, None)
        self._sought.pop(tp, None)

    async def admit(self, tp: TP, offset: int) -> bool:
        """Whether the message at `offset` of `tp` is the next to process (then expected
        to be followed by `offset + 1`); if a hole comes before it, seek back over it."""
        expected = self._next.get(tp)
        if expected is None:
            expected = self._committed(tp)
        if expected is None or offset == expected:
            self._next[tp] = offset + 1
            self._sought.pop(tp, None)
            return True
        if offset < expected:
            return False  # processed already: read again after a seek back
        sought = self._sought.get(tp)
        now = self._clock()
        if sought is None or sought[0] != expected or now - sought[1] >= SEEK_AGAIN_SECONDS:
            log.warning("%s[%d]: the consumer skipped offsets %d to %d; reading them again",
                        tp.topic, tp.partition, expected, offset - 1)
            self._sought[tp] = (expected, now)
            consumer = self._app.consumer
            gaps = getattr(consumer, "_gap", None)
            if gaps is not None:
                gaps.pop(tp, None)  # Faust would commit over the hole
            await consumer.seek_wait({tp: expected})  # in the consumer's own thread (seek() is not)
        return False

    def _committed(self, tp: TP) -> int | None:
        """Where the group resumed `tp` (Faust's record of it; None before any commit)."""
        committed = getattr(self._app.consumer, "_committed_offset", {}).get(tp)
        return int(committed) if committed is not None else None
