"""`BrokerWatch`: one line when the broker goes away, one when it is back, the state for
/readyz and the gauge, and the pace of its questions. Answers and the clock are the test's."""

from __future__ import annotations

import asyncio
import logging

import pytest

from streams.kafka.watch import BrokerWatch


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def watch_with(clock: Clock, changes: list[bool]) -> BrokerWatch:
    return BrokerWatch("kafka://127.0.0.1:9092", changes.append, clock=clock)


def test_an_outage_is_said_once_going_and_once_back(caplog: pytest.LogCaptureFixture) -> None:
    """Two missed answers make it down (one error line, on_change(False)); a hundred more say
    nothing; the first answer makes it up (one line with how long, on_change(True))."""
    clock, changes = Clock(), []
    watch = watch_with(clock, changes)
    with caplog.at_level(logging.INFO, logger="aidmon.worker"):
        watch.observe(False)
        assert watch.up and changes == []  # one miss is not an outage
        watch.observe(False)
        assert not watch.up and changes == [False]
        for _ in range(100):
            clock.now += 1.0
            watch.observe(False)
        watch.observe(True)
    assert watch.up and changes == [False, True]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith("the Kafka broker at 127.0.0.1:9092 does not answer")
    assert lines[1] == "the Kafka broker at 127.0.0.1:9092 answers again, after 100 s away; the worker goes on"


def test_a_broker_away_too_long_is_handed_on_each_question_after() -> None:
    """Away less than max_away_seconds: nothing more. From then on each missed answer calls
    on_too_long with how long it has been away (the worker exits at the first); a broker back
    in time calls it never."""
    clock, changes, too_long = Clock(), [], []
    watch = BrokerWatch("kafka://127.0.0.1:9092", changes.append, clock=clock, max_away_seconds=60.0,
                        on_too_long=too_long.append)
    watch.observe(False)
    watch.observe(False)  # down at 0 s
    for _ in range(59):
        clock.now += 1.0
        watch.observe(False)
    assert too_long == [] and changes == [False]
    clock.now += 1.0
    watch.observe(False)
    clock.now += 5.0
    watch.observe(False)
    assert too_long == [60.0, 65.0]
    watch.observe(True)
    clock.now += 100.0
    watch.observe(False)
    watch.observe(False)  # down again at 165 s: its own count
    clock.now += 30.0
    watch.observe(False)
    assert too_long == [60.0, 65.0] and changes == [False, True, False]


def test_a_single_miss_between_answers_changes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """A broker that misses one question now and then is not reported down."""
    clock, changes = Clock(), []
    watch = watch_with(clock, changes)
    with caplog.at_level(logging.INFO, logger="aidmon.worker"):
        for _ in range(10):
            watch.observe(False)
            watch.observe(True)
    assert watch.up and changes == [] and not caplog.records


def test_questions_back_off_while_down_and_resume_their_pace_once_back() -> None:
    """Every 2 s while up (1 s after a miss); 1, 2, 4, then at most 5 s while down; 2 s again once back."""
    watch = watch_with(Clock(), [])
    assert watch.delay() == 2.0
    delays = []
    for _ in range(6):
        watch.observe(False)
        delays.append(watch.delay())
    assert delays == [1.0, 1.0, 2.0, 4.0, 5.0, 5.0]
    watch.observe(True)
    assert watch.delay() == 2.0


def test_run_asks_until_cancelled() -> None:
    """`run` asks the broker, notes each answer and sleeps the delay between (its timings shortened)."""
    answers = iter([True, False, False, True])
    asked: list[str] = []

    async def ask(broker: str, timeout: float) -> bool:
        asked.append(broker)
        try:
            return next(answers)
        except StopIteration:
            raise asyncio.CancelledError from None

    changes: list[bool] = []
    watch = BrokerWatch("kafka://b:9092", changes.append, ask=ask, interval_seconds=0.001,
                        first_backoff_seconds=0.001, max_backoff_seconds=0.001)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(watch.run())
    assert asked == ["kafka://b:9092"] * 5 and changes == [False, True]
