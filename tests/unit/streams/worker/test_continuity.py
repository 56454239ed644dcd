"""Lanes messages in order from the committed offset: a hole in what the consumer hands
over is sought back over and read again, never passed over."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from faust.types import TP

from streams.worker.continuity import SEEK_AGAIN_SECONDS, Continuity

LANES = TP("app-lanes", 2)


class Consumer:
    """The parts of Faust's consumer `Continuity` reads: its committed offsets, its gaps, seek_wait()."""

    def __init__(self, committed: int | None) -> None:
        self._committed_offset = {LANES: committed}
        self._gap: dict[TP, Any] = {LANES: "a gap Faust would commit over"}
        self.sought: list[tuple[TP, int]] = []

    async def seek_wait(self, partitions: dict[TP, int]) -> None:
        self.sought.extend(partitions.items())


def _admitted(continuity: Continuity, offsets: list[int]) -> list[int]:
    async def run() -> list[int]:
        return [offset for offset in offsets if await continuity.admit(LANES, offset)]

    return asyncio.run(run())


def test_messages_in_order_from_the_committed_offset_are_all_admitted() -> None:
    consumer = Consumer(committed=67)
    continuity = Continuity(SimpleNamespace(consumer=consumer))
    assert _admitted(continuity, [67, 68, 69]) == [67, 68, 69] and consumer.sought == []


def test_a_hole_is_sought_back_once_and_read_again_before_anything_after_it() -> None:
    """The first message at 81 where 67 was committed: the partition is sought back to 67
    (once, Faust's gap dropped) and 81..83 are skipped; 67 onwards, then 81 again, pass;
    a message read again below the next expected one is skipped."""
    consumer = Consumer(committed=67)
    now = [100.0]
    continuity = Continuity(SimpleNamespace(consumer=consumer), clock=lambda: now[0])
    assert _admitted(continuity, [81, 82, 83]) == []
    assert consumer.sought == [(LANES, 67)] and LANES not in consumer._gap
    assert _admitted(continuity, [67, 68, *range(69, 82), 70]) == [67, 68, *range(69, 82)]
    assert consumer.sought == [(LANES, 67)]


def test_a_seek_that_brings_nothing_is_asked_again_after_a_while() -> None:
    consumer = Consumer(committed=10)
    now = [0.0]
    continuity = Continuity(SimpleNamespace(consumer=consumer), clock=lambda: now[0])
    _admitted(continuity, [12])
    now[0] += SEEK_AGAIN_SECONDS / 2
    _admitted(continuity, [13])
    now[0] += SEEK_AGAIN_SECONDS
    _admitted(continuity, [14])
    assert consumer.sought == [(LANES, 10), (LANES, 10)]


def test_a_partition_forgotten_starts_again_where_the_group_committed() -> None:
    consumer = Consumer(committed=5)
    continuity = Continuity(SimpleNamespace(consumer=consumer))
    assert _admitted(continuity, [5, 6]) == [5, 6]
    continuity.forget(LANES)
    consumer._committed_offset[LANES] = 6
    assert _admitted(continuity, [6, 7]) == [6, 7]


def test_a_new_group_takes_the_first_message_it_gets() -> None:
    """No commit yet (Faust records offset 0 as None): whatever comes first is where it starts."""
    continuity = Continuity(SimpleNamespace(consumer=Consumer(committed=None)))
    assert _admitted(continuity, [3, 4]) == [3, 4]
