"""Faust's commit offset, kept moving when a gap covers offsets acknowledged already.

Faust commits a partition up to the first run of consecutive offsets in its list of
acknowledged ones (`Consumer._new_offset`). Before that it adds the offsets of the
partition's gaps (offsets it saw its read offset jump over, and the holes
`streams.worker.continuity` read on their own) to that list, without looking at what is
there. On a restart, Faust's consumer can hand over a batch fetched before it sought the
partitions to their committed offsets, then messages from the committed offset again
(`streams.worker.continuity`): a gap recorded over offsets `route` has acknowledged
already puts them in the list a second time. A list with each offset twice has runs of
two: each commit then moved the partition by one or two offsets, and a group 290 messages
behind after a SIGKILL stayed behind for minutes (seen in CI, read from the hung worker's
consumer: its acknowledged offsets of aid.events.v1[2] were 5333, 5334, 5334, 5335,
5335, ..., its committed offset 5333).

`install` wraps `_new_offset` so that the gaps are merged first, each offset once, and
Faust's own code then finds no duplicate.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

_MARK = "_aidmon_gaps_merged"


def install() -> None:
    """Wrap Faust's `Consumer._new_offset` (idempotent)."""
    from faust.transport.consumer import Consumer

    method = getattr(Consumer, "_new_offset", None)
    if method is None:
        raise RuntimeError("Faust's consumer has no _new_offset: streams/worker/commits.py needs updating")
    if not getattr(method, _MARK, False):
        wrapped = functools.wraps(method)(merging_gaps(method))
        setattr(wrapped, _MARK, True)
        setattr(Consumer, "_new_offset", wrapped)  # noqa: B010 - a method replaced, as backoff.py does


def merging_gaps(new_offset: Callable[[Any, Any], int | None]) -> Callable[[Any, Any], int | None]:
    """`new_offset(consumer, tp)` after the gaps below the highest acknowledged offset are
    merged into the acknowledged ones, each offset once."""
    def merged(consumer: Any, tp: Any) -> int | None:
        acked: list[int] = consumer._acked[tp]
        gaps = consumer._gap[tp]
        if acked and gaps:
            top = max(acked)
            filled = {offset for gap in gaps.overlap(0, top) for offset in range(gap.begin, gap.end)}
            if filled:
                gaps.chop(0, max(max(filled), top) + 1)
                acked.extend(filled)
        if len(set(acked)) != len(acked):
            acked[:] = sorted(set(acked))
        return new_offset(consumer, tp)

    return merged
