"""`Continuity`: every message of aid.events.v1 and of the lanes, in order, from where the
group committed.

Faust's consumer can hand an agent a partition's messages with a hole in them: on a
worker's start, messages fetched while the table is being recovered are dropped when the
stream partitions are sought to their committed offsets, and fetching goes on after them
(seen in the live crash tests: partitions committed at 74 to 76 began 9 messages later).
Faust then records the hole as a gap and commits over it, so the events of the missing
messages would be lost without a trace. Seeking back from the agent stopped the
partition's delivery altogether (aiokafka and Faust's fetcher run in another thread), so
a worker that meets a hole stops instead: `route` and `detect` ask `Continuity` about each
message, and on a hole they process nothing more, say so in one line, and stop the
worker (exit status 3). Nothing past the hole was acknowledged, so the commit stays
before it, and the restarted worker reads the missing messages.
"""

from __future__ import annotations

from typing import Any

from faust.types import TP


class Continuity:
    """The next offset expected per partition."""

    def __init__(self, app: Any) -> None:
        self._app = app  # its consumer is read when needed (Faust builds it when the app starts)
        self._next: dict[TP, int] = {}

    def forget(self, tp: TP) -> None:
        """The partition was revoked, or assigned anew: its next owner starts where the group committed."""
        self._next.pop(tp, None)

    def hole(self, tp: TP, offset: int) -> tuple[int, int] | None:
        """None if the message at `offset` of `tp` is the next expected (it is then expected
        to be followed by `offset + 1`) or was read before; else the offsets missing before it."""
        expected = self._next.get(tp)
        if expected is None:
            expected = self._committed(tp)
        if expected is None or offset <= expected:
            self._next[tp] = max(offset + 1, self._next.get(tp, 0))
            return None
        return expected, offset - 1

    def _committed(self, tp: TP) -> int | None:
        """Where the group resumed `tp` (Faust's record of it; None before any commit)."""
        committed = getattr(self._app.consumer, "_committed_offset", {}).get(tp)
        return int(committed) if committed is not None else None
