"""The Kafka clients' log noise during an outage: `KafkaNoiseFilter` driven by a fake clock."""

from __future__ import annotations

import logging

import pytest

from streams.kafka.noise import KafkaNoiseFilter, quiet_kafka_clients


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def record(name: str, msg: str, level: int = logging.ERROR, args: tuple[object, ...] = ()) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


# what aiokafka logs again and again while its broker is away
RECONNECT = ("aiokafka.client", "Unable connect to node with id %s: %s", (1, "Connect call failed"))
METADATA = ("aiokafka.client", "Unable to update metadata from %s", ([1],))
FETCH = ("aiokafka.consumer.fetcher", "Failed fetch messages from %s: %s", (1, "closed"))
GROUP = ("aiokafka.consumer.group_coordinator", "Heartbeat failed: %s", ("closed",))


def outage(noise: KafkaNoiseFilter, clock: FakeClock, seconds: float, every: float) -> list[str]:
    """The lines that get through while the four kinds above come round, one every `every` s."""
    shown = []
    kinds = [RECONNECT, METADATA, FETCH, GROUP]
    for step in range(int(seconds / every)):
        name, msg, args = kinds[step % len(kinds)]
        item = record(name, msg, args=args)
        if noise.filter(item):
            shown.append(item.getMessage())
        clock.now += every
    return shown


def test_a_long_outage_logs_a_few_lines_a_minute() -> None:
    """Ten minutes of reconnect errors every 50 ms (12,000 records, four kinds) give the first
    three kinds at once, the fourth and a count 30 s later, then one line per 30 s carrying the
    count of those held back: 23 lines in all, and every record is either shown or counted."""
    clock = FakeClock()
    noise = KafkaNoiseFilter(clock)
    shown = outage(noise, clock, seconds=600, every=0.05)
    assert shown[:3] == ["Unable connect to node with id 1: Connect call failed",
                         "Unable to update metadata from [1]", "Failed fetch messages from 1: closed"]
    assert shown[4].startswith("Heartbeat failed: closed [and ")
    assert len(shown) == 23  # three at once, two at 30 s, then one at 60 s, 90 s, ... 570 s
    assert all(line.endswith(" s, not shown]") for line in shown[3:])
    reported = sum(int(line.split("[and ")[1].split(" ")[0]) for line in shown[3:])
    assert len(shown) + reported + noise.held == 12_000


def test_no_window_of_30_s_shows_more_than_three_lines() -> None:
    """However many kinds come (here a new message every 50 ms), at most three lines go through
    in any 30 s."""
    clock = FakeClock()
    noise = KafkaNoiseFilter(clock)
    times = []
    for step in range(12_000):
        if noise.filter(record("aiokafka.conn", f"error number {step}")):
            times.append(clock.now)
        clock.now += 0.05
    assert len(times) == 60
    assert all(later - earlier >= 30.0 - 1e-6 for earlier, later in zip(times, times[3:], strict=False))


def test_without_the_filter_the_same_outage_would_be_every_record() -> None:
    """The yardstick the test above is measured against: a filter that never holds a record
    back shows all 12,000 (this is what the worker logged before the filter)."""
    clock = FakeClock()
    wide_open = KafkaNoiseFilter(clock, interval_seconds=0.0, max_kinds=10**9)
    assert len(outage(wide_open, clock, seconds=600, every=0.05)) == 12_000


def test_a_new_burst_after_a_quiet_interval_shows_its_first_lines_again() -> None:
    """Thirty quiet seconds end a burst: the next outage shows its first line again, with the
    count of those the last burst held back."""
    clock = FakeClock()
    noise = KafkaNoiseFilter(clock)
    assert len(outage(noise, clock, seconds=20, every=0.05)) == 3
    clock.now += 30.0
    again = record(*RECONNECT[:2], args=RECONNECT[2])
    assert noise.filter(again)
    assert again.getMessage().startswith("Unable connect to node with id 1: Connect call failed [and 397 more ")


@pytest.mark.parametrize("name", ["aidmon.worker", "faust.agents", "aiokafka_like", "root"])
def test_other_loggers_are_never_held_back(name: str) -> None:
    """Only the Kafka clients' loggers are limited: the worker's own errors all show."""
    clock = FakeClock()
    noise = KafkaNoiseFilter(clock)
    assert all(noise.filter(record(name, "checkpoint failed: %s", args=(n,))) for n in range(1000))


def test_info_lines_of_the_clients_pass() -> None:
    """Below WARNING nothing is counted or held back (start-up and rebalance notes)."""
    clock = FakeClock()
    noise = KafkaNoiseFilter(clock)
    assert all(noise.filter(record("aiokafka.consumer.group_coordinator", "Joined group", logging.INFO))
               for _ in range(100))
    assert noise.held == 0


def test_pace_notes_show_at_debug_only(caplog: pytest.LogCaptureFixture) -> None:
    """Faust's "producer buffer full" and kafka-python's slow-task note are dropped unless the
    root logger is at DEBUG."""
    noise = KafkaNoiseFilter(FakeClock())
    full = ("faust.transport.producer", "producer buffer full size 101")
    slow = ("kafka.net.selector", "Task <x> ran for 0.106s (>0.100s threshold). It is blocking the event loop")
    with caplog.at_level(logging.INFO, logger=""):
        assert not noise.filter(record(*full, level=logging.WARNING))
        assert not noise.filter(record(*slow, level=logging.WARNING))
    with caplog.at_level(logging.DEBUG, logger=""):
        assert noise.filter(record(*full, level=logging.WARNING))


def test_one_decision_per_record_however_many_handlers() -> None:
    """A record seen by two handlers is counted once, and both get the same answer."""
    clock = FakeClock()
    noise = KafkaNoiseFilter(clock)
    for _ in range(3):
        shown = record(*RECONNECT[:2], args=RECONNECT[2])
        assert noise.filter(shown) == noise.filter(shown)
    assert noise.held == 2


def test_installed_once_on_every_root_handler() -> None:
    """`quiet_kafka_clients` puts one filter on each handler, and never twice."""
    root = logging.Logger("fake-root")
    first, second = logging.StreamHandler(), logging.StreamHandler()
    root.addHandler(first)
    root.addHandler(second)
    noise = quiet_kafka_clients(root=root)
    quiet_kafka_clients(root=root)
    assert first.filters == [noise] and second.filters == [noise]
