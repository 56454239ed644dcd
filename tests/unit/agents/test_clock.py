"""Event time over several sources: the watermark waits for the slowest active source."""

from __future__ import annotations

from datetime import timedelta

from agents.clock import NEVER, EventClock
from agents.monitor import Monitor
from tests import support as s

HOUR = 3600.0


def test_single_source_watermark_is_the_clock_less_the_lateness() -> None:
    """One source: the watermark trails its latest time by the lateness; idle, it is the clock."""
    clock = EventClock(HOUR, {})
    assert clock.watermark == NEVER
    clock.observe("file", 10 * HOUR)
    clock.observe("file", 8 * HOUR)  # a late event moves nothing
    assert (clock.now, clock.watermark) == (10 * HOUR, 9 * HOUR)
    clock.idle("file")
    assert clock.all_idle and clock.watermark == 10 * HOUR


def test_watermark_waits_for_the_slowest_active_source() -> None:
    """Two partitions: the watermark follows the one behind, until it goes idle."""
    clock = EventClock(HOUR, {})
    clock.observe("p0", 50 * HOUR)
    clock.observe("p1", 20 * HOUR)
    assert clock.now == 50 * HOUR and clock.watermark == 19 * HOUR
    clock.idle("p1")
    assert clock.watermark == 49 * HOUR
    clock.observe("p1", 21 * HOUR)  # back, and behind again
    assert clock.watermark == 20 * HOUR
    clock.idle_all()
    assert clock.watermark == 50 * HOUR


def test_an_expected_source_holds_the_watermark_until_it_speaks_or_goes_idle() -> None:
    """A partition not heard from yet (its backlog behind another's) is never passed by the
    watermark; one idle before a take-over holds it at its own time again until it goes idle."""
    clock = EventClock(HOUR, {})
    clock.expect(["p0", "p1"])
    clock.observe("p0", 50 * HOUR)
    assert clock.watermark == NEVER
    clock.observe("p1", 30 * HOUR)
    assert clock.watermark == 29 * HOUR
    clock.idle("p1")
    assert clock.watermark == 49 * HOUR
    clock.expect(["p0", "p1"])  # a new owner takes the monitor over: p1 may have a backlog now
    assert clock.watermark == 29 * HOUR
    clock.idle("p1")
    assert clock.watermark == 49 * HOUR


def test_a_source_waking_makes_the_other_idle_ones_hold_the_watermark_where_the_clock_stood() -> None:
    """After a quiet spell the first source read does not take the watermark ahead alone:
    the other idle sources hold it at the frontier, once each, until they deliver or are
    announced idle again."""
    clock = EventClock(HOUR, {})
    for source, hours in (("p0", 10), ("p1", 12), ("p2", 11)):
        clock.observe(source, hours * HOUR)
    clock.idle_all()
    assert clock.watermark == 12 * HOUR
    clock.observe("p0", 40 * HOUR)  # the stream resumes on p0, far ahead
    assert clock.watermark == 11 * HOUR  # p1 and p2 hold it at 12 h, less the lateness
    assert clock.take_held() == {"p1", "p2"} and clock.take_held() == set()
    clock.observe("p1", 13 * HOUR)
    clock.idle("p2")
    assert clock.watermark == 12 * HOUR
    clock.idle("p1")
    assert clock.watermark == 39 * HOUR
    clock.observe("p0", 41 * HOUR)  # p0 was active: nothing wakes
    assert clock.take_held() == set()


def test_clock_survives_a_restart_through_its_store() -> None:
    """Saved to its store, the clock comes back with the same sources and watermark."""
    store: dict[str, object] = {}
    clock = EventClock(HOUR, store)
    clock.observe("p0", 5 * HOUR)
    clock.observe("p1", 7 * HOUR)
    clock.idle("p1")
    clock.save()
    again = EventClock(HOUR, store)
    assert (again.now, again.watermark, again.all_idle) == (clock.now, clock.watermark, False)


def test_a_lagging_partition_holds_back_the_deadline() -> None:
    """A receipt still to come from a slower partition is waited for: no false overdue alert."""
    monitor = Monitor()
    shipped = s.dispatch("SHP-L", time=s.at(), expected_arrival=s.at(days=1))
    deadline = s.at(days=2)
    assert monitor.process(shipped, source="p1") == []
    # another partition races days ahead
    assert monitor.process(s.tick(deadline + timedelta(days=3)), source="p0") == []
    # the slow partition delivers the receipt, on time, much later in wall time
    late_but_on_time = s.receipt("SHP-L", time=deadline - timedelta(hours=2))
    alerts = monitor.process(late_but_on_time, source="p1") + monitor.flush()
    assert [a.typology for a in alerts if a.typology == "overdue_shipment"] == []


def test_without_the_receipt_the_deadline_is_judged_once_all_are_idle() -> None:
    """Once the slow partition is idle, the deadline is judged at the clock: overdue."""
    monitor = Monitor()
    monitor.process(s.dispatch("SHP-M", time=s.at(), expected_arrival=s.at(days=1)), source="p1")
    monitor.process(s.tick(s.at(days=5)), source="p0")
    assert monitor.idle("p0") == []  # p1 is still active and behind
    alerts = monitor.idle("p1")
    assert [(a.typology, a.subject.id) for a in alerts] == [("overdue_shipment", "SHP-M")]


def test_a_partition_idle_before_the_stream_holds_back_the_deadline_once_another_is_read() -> None:
    """Workers started before the stream: both partitions are idle. One is read first, far
    ahead; the other's receipt, on time, comes later in wall time. Replay, reading the file in
    order, sees the receipt before the clock passes the deadline: no overdue alert."""
    monitor = Monitor()
    monitor.expect(["p0", "p1"])
    monitor.idle("p0")
    monitor.idle("p1")
    shipped = s.dispatch("SHP-Q", time=s.at(), expected_arrival=s.at(days=1))
    deadline = s.at(days=2)
    assert monitor.process(shipped, source="p0") == []
    raised = monitor.process(s.tick(deadline + timedelta(days=3)), source="p0")
    on_time = s.receipt("SHP-Q", time=deadline - timedelta(hours=2))
    raised += monitor.process(on_time, source="p1") + monitor.flush()
    assert [a.typology for a in raised if a.typology == "overdue_shipment"] == []
