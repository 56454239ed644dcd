"""How far the worker has got: `Progress`, the event time each source partition of
aid.events.v1 has reached and which of them are idle (what the heartbeat announces to the
lanes), and `HandledOffsets`, the offset after the last message each agent handled (what
the idle check and the lag gauge measure against the end of each partition).
"""

from __future__ import annotations

import time

from faust.types import Message


class Progress:
    """How far each source partition of aid.events.v1 has got, as this worker saw it."""

    def __init__(self) -> None:
        self._times: dict[int, float] = {}  # the latest event time routed
        self._stamps: dict[int, float] = {}  # Kafka timestamp of the message that moved `_times`
        self._announced: dict[int, float] = {}  # the time last announced
        self._last_seen: dict[int, float] = {}  # wall clock (monotonic) of the last message or assignment
        self._idle: set[int] = set()

    def saw(self, partition: int, event_time: float, stamp: float) -> None:
        """A message of `partition` was routed: it is active, and its time may move on."""
        self._last_seen[partition] = time.monotonic()
        self._idle.discard(partition)
        if event_time > self._times.get(partition, float("-inf")):
            self._times[partition] = event_time
            self._stamps[partition] = stamp

    def times(self) -> dict[int, float]:
        """The latest event time routed from each partition seen."""
        return self._times

    def track(self, partition: int, now: float) -> None:
        """An assigned partition: one never seen counts as seen `now`, so its quiet starts then."""
        self._last_seen.setdefault(partition, now)

    def due_tick(self, partition: int) -> tuple[float, float | None] | None:
        """The (event time, Kafka timestamp) to announce for `partition` if its time moved
        since the last announcement, which this records; None if it did not."""
        at = self._times.get(partition)
        if at is None or at <= self._announced.get(partition, float("-inf")):
            return None
        self._announced[partition] = at
        return at, self._stamps.get(partition)

    def resumed(self, partition: int, now: float) -> None:
        """`partition` is fetched again after a pause: its quiet starts `now`."""
        self._last_seen[partition] = now

    def quiet(self, partition: int, now: float, idle_seconds: float) -> bool:
        """Not marked idle yet, and nothing seen from `partition` for `idle_seconds`."""
        return partition not in self._idle and now - self._last_seen[partition] >= idle_seconds

    def mark_idle(self, partition: int) -> None:
        """`partition` was announced idle; a message routed from it makes it active again."""
        self._idle.add(partition)

    def held(self, partitions: list[int], now: float) -> None:
        """Another source woke and the monitors hold `partitions` where the clock stood
        (`agents.clock`): one this worker announced idle is quiet anew from `now`, to be
        announced idle once more if it stays quiet."""
        for partition in partitions:
            if partition in self._idle:
                self._idle.discard(partition)
                self._last_seen[partition] = now

    def announce_again(self) -> None:
        """A monitor was rebuilt and expects every source again (as one taken over does):
        each partition's time is announced again, and a quiet one marked idle again."""
        self._announced.clear()
        self._idle.clear()

    def forget(self, partition: int) -> None:
        """`partition` went to another worker: its next owner starts from what it reads."""
        for known in (self._times, self._stamps, self._announced, self._last_seen):
            known.pop(partition, None)
        self._idle.discard(partition)


class HandledOffsets:
    """The offset after the last message each agent handled, by (topic, partition)."""

    def __init__(self) -> None:
        self._next: dict[tuple[str, int], int] = {}

    def handled(self, message: Message) -> None:
        """`message` was taken by an agent (handled, rejected or failed: it is behind us)."""
        self._next[(message.topic, message.partition)] = message.offset + 1

    def after(self, topic: str, partition: int) -> int | None:
        """The offset after the last message handled from the partition; None before the first."""
        return self._next.get((topic, partition))

    def forget(self, topic: str, partition: int) -> None:
        """The partition went to another worker."""
        self._next.pop((topic, partition), None)
