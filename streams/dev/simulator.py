"""A live publisher's pace: the synthetic stream sent as agencies would send it, on a compressed clock.

`schedule(lines)` puts the generator's lines in event-time order (reference data first among
equal times; a noise line without a readable `time` keeps its place after the line before
it in arrival order). `Simulation` then hands them out when they are due:

    reference data at the head   at once (sites, zones and partners come before any operation;
                                 so does noise without a time of its own among them)
    every later event            at origin + (its time - the first operation's time) / speed,
                                 or, with a rate, the n-th at origin + n / rate
    seconds                      nothing is due after origin + seconds: the simulation stops

The clock and the sleep are arguments, so a test runs the pace exactly, without waiting.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from streams.dev.synthetic.places import REFERENCE

DAY_SECONDS = 86_400.0
DEFAULT_SPEED = DAY_SECONDS / 20  # event-time seconds a wall second: a day of operations in 20 s


@dataclass(frozen=True)
class Timed:
    """One line of the stream and the event time it is sent at."""

    time: datetime
    reference: bool  # site, zone or partner: sent before any other event of the same time
    line: str
    dated: bool = True  # False: the line has no readable time; `time` is the one of the line before it


def schedule(lines: Iterable[str]) -> list[Timed]:
    """The lines in event-time order, reference data first among equal times, arrival order after.

    A line without a readable `time` (the generator's malformed noise) takes the time of the
    line before it in arrival order; noise lines before any readable one are dropped."""
    found: list[tuple[datetime, bool, int, str, bool]] = []
    last: datetime | None = None
    for index, line in enumerate(lines):
        own, kind = _time_and_type(line)
        when = own or last
        if when is None:
            continue
        last = when
        found.append((when, kind in REFERENCE, index, line, own is not None))
    found.sort(key=lambda row: (row[0], not row[1], row[2]))
    return [Timed(when, reference, line, dated) for when, reference, _, line, dated in found]


def _time_and_type(line: str) -> tuple[datetime | None, str | None]:
    """The line's event time (None unless RFC 3339 with an offset) and its `type`."""
    try:
        value = json.loads(line)
    except ValueError:
        return None, None
    if not isinstance(value, dict):
        return None, None
    kind = value.get("type") if isinstance(value.get("type"), str) else None
    text = value.get("time")
    if not isinstance(text, str):
        return None, kind
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None, kind
    return (when if when.tzinfo is not None else None), kind


class Simulation:
    """Hands out scheduled lines when they are due; `sent` and `event_time` say how far it got.

    `speed` (event-time seconds a wall second, default `DEFAULT_SPEED`) or `rate` (events a
    wall second, in event-time order) sets the pace; `seconds` ends it."""

    def __init__(
        self,
        timed: Sequence[Timed],
        speed: float | None = None,
        rate: float | None = None,
        seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if speed is not None and rate is not None:
            raise ValueError("give a speed or a rate, not both")
        if (speed is not None and speed <= 0) or (rate is not None and rate <= 0):
            raise ValueError("speed and rate must be above 0")
        self.timed, self.rate, self.seconds = timed, rate, seconds
        self.speed = DEFAULT_SPEED if speed is None and rate is None else speed
        self.clock, self.sleep = clock, sleep
        self.sent = 0
        self.event_time: datetime | None = None
        self.finished = False  # every line was handed out (not stopped by `seconds`)

    def lines(self) -> Iterator[bytes]:
        """The lines as bytes, each yielded when due (sleeping in between)."""
        head = _head_length(self.timed)
        origin = self.clock()
        end = None if self.seconds is None else origin + self.seconds
        first = self.timed[head].time if head < len(self.timed) else None
        for index, item in enumerate(self.timed):
            due = origin if index < head else origin + self._offset(item.time, first, index - head)
            if end is not None and due > end:
                self._wait_until(end)
                return
            self._wait_until(due)
            self.sent += 1
            self.event_time = item.time
            yield item.line.encode("utf-8")
        self.finished = True

    def _offset(self, when: datetime, first: datetime | None, number: int) -> float:
        """Wall seconds after the origin at which the `number`-th operation (from 0) is due."""
        if self.rate is not None:
            return number / self.rate
        assert first is not None and self.speed is not None
        return (when - first).total_seconds() / self.speed

    def _wait_until(self, moment: float) -> None:
        delay = moment - self.clock()
        if delay > 0:
            self.sleep(delay)


def _head_length(timed: Sequence[Timed]) -> int:
    """How many lines at the start are reference data (or undated noise among them): they go out at
    once, and the clock starts at the first operation after them."""
    count = 0
    while count < len(timed) and (timed[count].reference or not timed[count].dated):
        count += 1
    return count
