"""Messages in order from the committed offset: past a hole in what the consumer hands
over, the missing messages are read on their own, processed first and recorded as a gap
Faust may commit over; what was processed already is skipped."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from types import SimpleNamespace

from faust.types import TP, Message
from intervaltree import IntervalTree

from streams.worker.continuity import Continuity

LANES = TP("app-lanes", 2)


class Consumer:
    """The parts of Faust's consumer `Continuity` uses."""

    def __init__(self, earliest: int = 0) -> None:
        self._gap: defaultdict[TP, IntervalTree] = defaultdict(IntervalTree)
        self.earliest = earliest

    async def earliest_offsets(self, *tps: TP) -> dict[TP, int]:
        return {tp: self.earliest for tp in tps}


class Reader:
    """The broker as `Continuity` reads it: a committed offset, and messages by offset."""

    def __init__(self, committed: int | None) -> None:
        self.committed_offset = committed
        self.asked = 0
        self.reads: list[tuple[int, int]] = []

    async def committed(self, tp: TP) -> int | None:
        self.asked += 1
        return self.committed_offset

    async def read(self, tp: TP, first: int, end: int) -> list[Message]:
        self.reads.append((first, end))
        return [Message(tp.topic, tp.partition, offset, 0.0, 0, None, None, b"", None, tp=tp)
                for offset in range(first, end)]


def _processed(continuity: Continuity, offsets: list[int]) -> list[int]:
    """The offsets processed, in order, as the consumer hands `offsets` over."""
    async def run() -> list[int]:
        done: list[int] = []
        for offset in offsets:
            missing = await continuity.before(LANES, offset)
            if missing is not None:
                done += [m.offset for m in missing] + [offset]
        return done

    return asyncio.run(run())


def test_messages_in_order_from_the_committed_offset_are_all_processed() -> None:
    reader = Reader(committed=67)
    continuity = Continuity(SimpleNamespace(consumer=Consumer()), reader)
    assert _processed(continuity, [67, 68, 69]) == [67, 68, 69]
    assert reader.reads == [] and reader.asked == 1


def test_a_hole_is_read_on_its_own_processed_first_and_recorded_as_a_gap() -> None:
    """81 where 67 was committed: 67 to 80 are read and processed before 81; the messages
    fetched again from 67 afterwards are skipped; Faust may commit over 67 to 80."""
    consumer, reader = Consumer(), Reader(committed=67)
    continuity = Continuity(SimpleNamespace(consumer=consumer), reader)
    assert _processed(continuity, [81, 82, 67, 68, 83]) == [*range(67, 84)]
    assert reader.reads == [(67, 81)]
    assert sorted((i.begin, i.end) for i in consumer._gap[LANES]) == [(67, 81)]


def test_a_hole_within_the_stream_is_read_too() -> None:
    reader = Reader(committed=5)
    continuity = Continuity(SimpleNamespace(consumer=Consumer()), reader)
    assert _processed(continuity, [5, 6, 9, 10]) == [5, 6, 7, 8, 9, 10]
    assert reader.reads == [(7, 9)]


def test_a_partition_forgotten_starts_again_where_the_group_committed() -> None:
    reader = Reader(committed=5)
    continuity = Continuity(SimpleNamespace(consumer=Consumer()), reader)
    assert _processed(continuity, [5, 6]) == [5, 6]
    continuity.forget(LANES)
    reader.committed_offset = 9
    assert _processed(continuity, [9, 10, 8]) == [9, 10]
    assert reader.reads == [] and reader.asked == 2


def test_a_group_without_a_commit_starts_at_the_log_start() -> None:
    """No commit yet: a first message past the log's start means the ones before it were skipped."""
    reader = Reader(committed=None)
    continuity = Continuity(SimpleNamespace(consumer=Consumer(earliest=2)), reader)
    assert _processed(continuity, [4, 5]) == [2, 3, 4, 5]
    assert reader.reads == [(2, 4)]


def test_a_hole_that_cannot_be_read_lets_nothing_past_it() -> None:
    """The read fails (the broker is away): the message past the hole and those after it
    are not processed, each asking for the hole again."""
    class Failing(Reader):
        async def read(self, tp: TP, first: int, end: int) -> list[Message]:
            self.reads.append((first, end))
            raise ConnectionError("no broker")

    reader = Failing(committed=5)
    continuity = Continuity(SimpleNamespace(consumer=Consumer()), reader)

    async def run() -> list[str]:
        outcomes = []
        for offset in (5, 8, 9):
            try:
                outcomes.append(str(await continuity.before(LANES, offset)))
            except ConnectionError:
                outcomes.append("failed")
        return outcomes

    assert asyncio.run(run()) == ["[]", "failed", "failed"]
    assert reader.reads == [(6, 8), (6, 9)]
