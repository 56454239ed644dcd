"""Messages in order from the committed offset: past a hole in what the consumer hands
over, the partition is sought back and Faust's records of what was read and of the gap are
put back, until the missing message comes."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from faust.types import TP

from streams.worker.continuity import SEEK_AGAIN_SECONDS, Continuity

LANES = TP("app-lanes", 2)


class Consumer:
    """The parts of Faust's consumer `Continuity` uses."""

    def __init__(self, committed: int | None) -> None:
        self._committed_offset = {LANES: committed}
        self._read_offset: dict[TP, int] = {}
        self._gap: dict[TP, Any] = {}
        self.sought: list[tuple[TP, int]] = []

    async def seek_wait(self, partitions: dict[TP, int]) -> None:
        self.sought.extend(partitions.items())


def _admitted(continuity: Continuity, consumer: Consumer, offsets: list[int]) -> list[int]:
    """The offsets admitted, as the stale batch would hand them over (Faust marking each read)."""
    async def run() -> list[int]:
        admitted = []
        for offset in offsets:
            consumer._read_offset[LANES] = offset
            consumer._gap[LANES] = "the gap Faust recorded"
            if continuity.admit(LANES, offset):
                admitted.append(offset)
            await asyncio.sleep(0)  # the seek task runs
        return admitted

    return asyncio.run(run())


def test_messages_in_order_from_the_committed_offset_are_all_admitted() -> None:
    consumer = Consumer(committed=67)
    continuity = Continuity(SimpleNamespace(consumer=consumer))
    assert _admitted(continuity, consumer, [67, 68, 69]) == [67, 68, 69] and consumer.sought == []


def test_past_a_hole_the_partition_is_sought_back_and_read_again() -> None:
    """81 where 67 was committed: sought back to 67 once; 81..83 skipped with Faust's read
    offset put back to 67 and its gap dropped each time; then 67 onwards, 81 again, pass;
    a message read again below the next expected one is skipped."""
    consumer = Consumer(committed=67)
    continuity = Continuity(SimpleNamespace(consumer=consumer), clock=lambda: 100.0)
    assert _admitted(continuity, consumer, [81, 82, 83]) == []
    assert consumer.sought == [(LANES, 67)]
    consumer._read_offset[LANES] = 83
    assert continuity.admit(LANES, 84) is False
    assert consumer._read_offset[LANES] == 67 and LANES not in consumer._gap
    assert _admitted(continuity, consumer, [67, *range(68, 85), 70]) == [67, *range(68, 85)]
    assert consumer.sought == [(LANES, 67)]


def test_a_seek_that_brings_nothing_is_asked_again_after_a_while() -> None:
    consumer = Consumer(committed=10)
    now = [0.0]
    continuity = Continuity(SimpleNamespace(consumer=consumer), clock=lambda: now[0])
    _admitted(continuity, consumer, [12])
    now[0] += SEEK_AGAIN_SECONDS / 2
    _admitted(continuity, consumer, [13])
    now[0] += SEEK_AGAIN_SECONDS
    _admitted(continuity, consumer, [14])
    assert consumer.sought == [(LANES, 10), (LANES, 10)]


def test_a_partition_forgotten_starts_again_where_the_group_committed() -> None:
    consumer = Consumer(committed=5)
    continuity = Continuity(SimpleNamespace(consumer=consumer))
    assert _admitted(continuity, consumer, [5, 6]) == [5, 6]
    continuity.forget(LANES)
    consumer._committed_offset[LANES] = 7
    assert _admitted(continuity, consumer, [7, 8]) == [7, 8] and consumer.sought == []


def test_a_new_group_takes_the_first_message_it_gets() -> None:
    """No commit yet (Faust records offset 0 as None): whatever comes first is where it starts."""
    consumer = Consumer(committed=None)
    continuity = Continuity(SimpleNamespace(consumer=consumer))
    assert _admitted(continuity, consumer, [3, 4]) == [3, 4]
