"""The live simulator's order and pace (streams.dev.simulator), on a fake clock: exact, not timed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from streams.dev.simulator import DEFAULT_SPEED, Simulation, schedule
from streams.dev.synthetic import generate

T0 = datetime(2012, 7, 1, 6, tzinfo=UTC)


class FakeClock:
    """A monotonic clock that only moves when slept on."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def event(kind: str, minutes: float, name: str = "x") -> str:
    when = (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps({"id": name, "type": kind, "time": when, "subject": name, "data": {}})


def sent_at(simulation: Simulation, clock: FakeClock) -> list[tuple[float, str]]:
    """(wall seconds after the start, event id or the raw line) of every line handed out."""
    start, found = clock.now, []
    for line in simulation.lines():
        text = line.decode()
        name = json.loads(text)["id"] if text.startswith("{") else text
        found.append((round(clock.now - start, 9), name))
    return found


def test_schedule_orders_by_event_time_with_reference_data_first_among_equals() -> None:
    """Lines go in event-time order; at one instant, reference data first, then arrival order."""
    lines = [event("convoy.position", 10, "p"), event("shipment.dispatched", 0, "d"),
             event("site.registered", 0, "s"), event("zone.declared", 10, "z"), event("feedback.received", 0, "f")]
    assert [json.loads(t.line)["id"] for t in schedule(lines)] == ["s", "d", "f", "z", "p"]


def test_schedule_keeps_a_line_without_a_readable_time_after_the_line_before_it() -> None:
    """Malformed noise takes the time of the line it arrived after; noise before any time is dropped."""
    lines = ["garbage first", event("convoy.position", 30, "late"), "not json",
             json.dumps({"id": "naive", "type": "convoy.position", "time": "2012-07-01 06:00"}),
             event("convoy.position", 5, "early")]
    order = [t.line if not t.line.startswith('{"id": "') else json.loads(t.line)["id"] for t in schedule(lines)]
    assert order == ["early", "late", "not json", "naive"]


def test_reference_data_go_at_once_and_events_at_their_time_on_the_compressed_clock() -> None:
    """The head of reference data is sent at the start; each event at (its time - the first's) / speed."""
    clock = FakeClock()
    lines = [event("site.registered", -2880, "s"), event("partner.registered", -2880, "p"),
             event("shipment.dispatched", 0, "a"), event("convoy.position", 60, "b"),
             event("convoy.position", 60, "c"), event("shipment.received", 600, "d")]
    simulation = Simulation(schedule(lines), speed=60.0, clock=clock, sleep=clock.sleep)
    assert sent_at(simulation, clock) == [(0, "s"), (0, "p"), (0, "a"), (60, "b"), (60, "c"), (600, "d")]
    assert simulation.sent == 6 and simulation.finished
    assert simulation.event_time == T0 + timedelta(minutes=600)
    assert clock.sleeps == [60, 540]


def test_undated_noise_after_the_reference_data_does_not_start_the_clock_early() -> None:
    """A malformed line arriving among the reference data goes with them; the clock starts at the first event."""
    clock = FakeClock()
    lines = [event("site.registered", -2880, "s"), "not json", event("shipment.dispatched", 0, "a"),
             event("convoy.position", 30, "b")]
    simulation = Simulation(schedule(lines), speed=60.0, clock=clock, sleep=clock.sleep)
    assert sent_at(simulation, clock) == [(0, "s"), (0, "not json"), (0, "a"), (30, "b")]


def test_a_rate_sends_events_evenly_in_event_time_order() -> None:
    """With a rate of N a second, the n-th event after the reference data goes at n / N seconds."""
    clock = FakeClock()
    lines = [event("zone.declared", 0, "z"), event("convoy.position", 500, "b"), event("convoy.position", 1, "a"),
             event("convoy.position", 9000, "c")]
    simulation = Simulation(schedule(lines), rate=4.0, clock=clock, sleep=clock.sleep)
    assert sent_at(simulation, clock) == [(0, "z"), (0, "a"), (0.25, "b"), (0.5, "c")]


def test_seconds_stop_the_simulation_at_that_moment() -> None:
    """Nothing due after `seconds` is sent: the simulation waits until then and stops, unfinished."""
    clock = FakeClock()
    lines = [event("convoy.position", minutes, str(minutes)) for minutes in (0, 30, 60, 90)]
    simulation = Simulation(schedule(lines), speed=60.0, seconds=45.0, clock=clock, sleep=clock.sleep)
    assert sent_at(simulation, clock) == [(0, "0"), (30, "30")]
    assert clock.now == 145.0 and simulation.sent == 2 and not simulation.finished


def test_a_late_consumer_catches_up_without_sleeping() -> None:
    """When the consumer of the lines is slow, events already due go out at once (no drift)."""
    clock = FakeClock()
    lines = [event("convoy.position", minutes, str(minutes)) for minutes in (0, 1, 2)]
    simulation = Simulation(schedule(lines), speed=60.0, clock=clock, sleep=clock.sleep)
    for _ in simulation.lines():
        clock.now += 5.0  # each send takes five seconds
    assert clock.sleeps == []


@pytest.mark.parametrize(("speed", "rate"), [(1.0, 1.0), (0.0, None), (None, -1.0)])
def test_speed_and_rate_are_checked(speed: float | None, rate: float | None) -> None:
    """A speed and a rate together, or one not above 0, is refused."""
    with pytest.raises(ValueError, match=r"speed|rate"):
        Simulation([], speed=speed, rate=rate)


def test_the_default_pace_runs_a_day_of_operations_in_twenty_seconds() -> None:
    """Without a speed or rate, a day of event time takes 20 wall seconds."""
    assert Simulation([]).speed == DEFAULT_SPEED == 86_400 / 20


def test_the_generators_stream_is_scheduled_whole_and_in_order() -> None:
    """Every line of the generator's noisy stream is kept, events in time order, reference data at the head."""
    lines = generate(seed=3, shipments=8).lines
    timed = schedule(lines)
    assert sorted(t.line for t in timed) == sorted(lines)
    assert all(a.time <= b.time for a, b in pairwise(timed))
    assert timed[0].reference and not timed[-1].reference
    head = next(i for i, t in enumerate(timed) if not t.reference)
    assert {json.loads(t.line)["type"] for t in timed[:head]} == {"site.registered", "partner.registered",
                                                                  "zone.declared"}
