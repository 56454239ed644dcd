"""Monitors per lanes partition: checkpoints, alerts sent again on take-over, expired events
rejected once, and a failing detection rejected with its partition rebuilt."""

from __future__ import annotations

import gc
import io
import logging
import pickle
from collections.abc import Iterator
from typing import Any

import pytest

from agents.config import DetectorConfig
from agents.detector import Context
from agents.findings import Finding
from agents.monitor import Monitor
from agents.screening import SanctionedPartyDetector
from agents.state import Store
from schemas.events import Event
from streams.settings import KafkaSettings, Settings
from streams.worker import detection_process
from streams.worker import monitors as monitors_module
from streams.worker.detection_process import apply
from streams.worker.lanes import partition_of, route
from streams.worker.monitors import Applied, Monitors, Read
from streams.worker.outbox import LaneItem, encode_batch
from streams.worker.table_store import load_state
from tests import support as s


def _lane(event: Event) -> LaneItem:
    """The lanes item the router makes of `event` with one partition."""
    [(_, only, copy)] = route(event, 1)
    return LaneItem("event", "events-0", tuple(sorted(only)), 1.0, None, copy.model_dump_json().encode())


def _read(monitors: Monitors, offset: int, events: list[Event], partition: int = 0) -> Applied:
    """What `detect` does with a lanes message of `events`: apply its items, hold it."""
    items = [_lane(event) for event in events]
    applied = monitors.apply(partition, offset, items)
    monitors.hold(Read(partition, offset, encode_batch(items)))
    return applied


def _seen(table: dict[bytes, bytes], partition: int | None = None) -> set[str]:
    """The ids of the events the checkpointed state (of one partition) holds as applied."""
    return {event_id for key, value in table.items() if key.split(b"|")[1] == b"seen_events"
            and partition in (None, int(key.split(b"|")[0])) for event_id in load_state(value)[1]}


def _rejected(applied: Applied) -> list[tuple[bytes, str, str]]:
    return [(item.body, error.reason, error.detail) for item, error in applied.rejected]


def _losses(applied: Applied) -> list[str]:
    return sorted(alert.subject.id for alert, _ in applied.changed.values() if alert.typology == "transit_loss")


@pytest.fixture
def failing(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[str]]:
    """Ids of events on which the sanctions detector raises, after the transit-loss
    detector (before it in a dispatch's lane) has changed its state."""
    ids: set[str] = set()
    original = SanctionedPartyDetector.on_event

    def on_event(self: SanctionedPartyDetector, event: Event, state: dict[str, Store], ctx: Context) -> list[Finding]:
        if event.id in ids:
            raise RuntimeError(f"injected failure on {event.id}")
        return original(self, event, state, ctx)

    monkeypatch.setattr(SanctionedPartyDetector, "on_event", on_event)
    yield ids


def _short_delivery() -> list[Event]:
    return [s.dispatch("SHP-1", time=s.at()), s.receipt("SHP-1", items=[("maize", "kg", 500)], time=s.at(hours=3))]


def test_a_checkpoint_hands_over_the_changed_rows_and_keeps_them() -> None:
    """Nothing is written before checkpoint(), which returns the changed rows for the table
    and its changelog and keeps them in the state it holds; a second one has nothing."""
    table: dict[bytes, bytes] = {}
    monitors = Monitors(Settings(), None, table)
    for offset, event in enumerate(_short_delivery()):
        _read(monitors, offset, [event])
    held = dict(table)
    rows = monitors.checkpoint()
    assert held == {} and list(rows) == [0] and rows[0] == table and table
    assert monitors.checkpoint() == {}


def test_a_partition_forgotten_takes_its_state_with_it_and_comes_back_by_load() -> None:
    """forget() drops a partition's rows with its monitor; load() hands them back, and the
    monitor built from them has what was applied before (the receipt finds its dispatch)."""
    table: dict[bytes, bytes] = {}
    monitors = Monitors(Settings(), None, table)
    dispatch, receipt = _short_delivery()
    _read(monitors, 0, [dispatch])
    rows = monitors.checkpoint()[0]
    monitors.forget([0])
    assert table == {}
    monitors.load(0, {key: value for key, value in rows.items() if value is not None}, 1)
    assert _losses(_read(monitors, 1, [receipt])) == ["SHP-1"]
    monitors.checkpoint()
    assert _seen(table) == {dispatch.id, receipt.id}


def test_a_partition_taken_over_sends_its_alerts_again_and_counts_them_as_raised() -> None:
    """A new owner's first message of a partition returns the partition's alerts to send again;
    they are not counted as raised a second time."""
    table: dict[bytes, bytes] = {}
    first = Monitors(Settings(), None, table)
    raised = [alert for alert, _ in first.apply(0, 0, [_lane(e) for e in _short_delivery()]).changed.values()]
    assert raised and first.first_raised(raised) == raised
    first.checkpoint()
    second = Monitors(Settings(), None, dict(table))
    again = second.apply(0, 1, [LaneItem("tick", "events-0", (), None, s.at(hours=4).timestamp())]).again
    assert [a.alert_id for a in again] == [a.alert_id for a in raised]
    assert second.first_raised(again) == []


def test_the_alerts_remembered_as_raised_are_those_the_monitors_still_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past `RAISED_KEPT` ids, those of alerts the retention has forgotten are dropped: one
    that came back would count as raised anew, as it would in a worker started then."""
    monkeypatch.setattr(monitors_module, "RAISED_KEPT", 0)
    settings = Settings(kafka=KafkaSettings(partitions=1), detectors=DetectorConfig(retention_days=2))
    monitors = Monitors(settings, None, {})
    old = [alert for alert, _ in _read(monitors, 0, _short_delivery()).changed.values()]
    assert old and monitors.first_raised(old) == old
    _read(monitors, 1, [s.tick(s.at(days=10))])
    monitors.checkpoint()
    monitors.sweep()  # the retention forgets the old delivery and its alert
    later = [event for shipment in ("SHP-2", "SHP-3") for event in (
        s.dispatch(shipment, time=s.at(days=10)),
        s.receipt(shipment, items=[("maize", "kg", 500)], time=s.at(days=10, hours=3)))]
    new = [alert for alert, _ in _read(monitors, 2, later).changed.values()]
    assert len(new) == 2 and monitors.first_raised(new) == new  # 3 remembered, over twice the 1 held before
    assert monitors.first_raised(old) == old  # forgotten, so new again
    assert monitors.first_raised(new) == []  # still held: not raised twice


def test_an_unknown_lanes_item_is_logged_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    """A lanes item of a kind the router never writes is a WorkerError, logged; it is no
    event, so nothing is rejected, and the items after it are applied."""
    monitors = Monitors(Settings(), None, {})
    with caplog.at_level(logging.ERROR, "aidmon.worker"):
        applied = monitors.apply(0, 0, [LaneItem("nonsense", "events-0"), *map(_lane, _short_delivery())])  # type: ignore[arg-type]
    assert applied.rejected == [] and applied.rebuilt and _losses(applied) == ["SHP-1"]
    assert "unknown lanes item kind 'nonsense'" in caplog.text


def _shipments(monitors: Monitors) -> tuple[list[Event], list[Event]]:
    """Dispatches of SHP-0 (checkpointed), SHP-1 (held since) and SHP-2, and their short receipts."""
    dispatches = [s.dispatch(f"SHP-{n}", time=s.at(minutes=n)) for n in range(3)]
    _read(monitors, 0, dispatches[:1])
    monitors.checkpoint()
    _read(monitors, 1, dispatches[1:2])
    receipts = [s.receipt(f"SHP-{n}", items=[("maize", "kg", 500)], time=s.at(hours=3)) for n in range(3)]
    return dispatches, receipts


def test_a_failing_detection_is_rejected_and_its_partition_rebuilt_without_it(failing: set[str]) -> None:
    """The event whose detection raised is rejected (internal_error, the exception's type
    only); the partition's state is the last checkpoint's with what came since applied
    again (the held message, the items before the failing one) and nothing of the failing
    event (its shipment's receipt waits for a dispatch); the items after it are applied."""
    table: dict[bytes, bytes] = {}
    monitors = Monitors(Settings(), None, table)
    dispatches, receipts = _shipments(monitors)
    bad = dispatches[2]
    failing.add(bad.id)
    current = [receipts[0], bad, receipts[1], receipts[2]]
    applied = _read(monitors, 2, current)
    assert _rejected(applied) == [(_lane(bad).body, "internal_error", "RuntimeError")]
    assert applied.rebuilt and _losses(applied) == ["SHP-0", "SHP-1"]
    monitors.checkpoint()
    assert _seen(table) == {e.id for e in [*dispatches, *receipts] if e is not bad}


def test_a_failed_item_is_skipped_until_its_message_is_acknowledged(failing: set[str]) -> None:
    """A rebuild that applies the failing message again, or the message read again, skips
    the failed item without a second reject; once the message was acknowledged (a checkpoint
    after the one that held it), it is forgotten."""
    table: dict[bytes, bytes] = {}
    monitors = Monitors(Settings(), None, table)
    dispatches, receipts = _shipments(monitors)
    bad, worse = dispatches[2], s.dispatch("SHP-3", time=s.at(minutes=3))
    failing.update({bad.id, worse.id})
    first = _read(monitors, 2, [bad, receipts[0]])
    second = _read(monitors, 3, [worse, receipts[1]])  # rebuilt: messages 1 and 2 applied again
    assert [r[:2] for r in _rejected(first) + _rejected(second)] == [(_lane(bad).body, "internal_error"),
                                                                      (_lane(worse).body, "internal_error")]
    assert _losses(second) == ["SHP-0", "SHP-1"]
    monitors.checkpoint()
    assert _seen(table) == {e.id for e in [*dispatches[:2], *receipts[:2]]}
    assert _rejected(monitors.apply(0, 2, [_lane(bad), _lane(receipts[0])])) == []  # read again
    monitors.checkpoint()  # nothing held: messages 2 and 3 were acknowledged by the previous one
    assert _rejected(monitors.apply(0, 2, [_lane(bad), _lane(receipts[0])]))[0][1] == "internal_error"


def test_a_failure_while_applying_again_is_rejected_and_rebuilt_in_turn(failing: set[str]) -> None:
    """An item of a held message that fails when applied again is rejected too, and the
    partition rebuilt again without either: the order of everything else is kept."""
    table: dict[bytes, bytes] = {}
    monitors = Monitors(Settings(), None, table)
    dispatches, receipts = _shipments(monitors)
    flaky, bad = dispatches[1], dispatches[2]
    failing.update({flaky.id, bad.id})  # SHP-1's dispatch went through when its message was read
    applied = _read(monitors, 2, [receipts[0], bad, receipts[1], receipts[2]])
    assert [r[:2] for r in _rejected(applied)] == [(_lane(bad).body, "internal_error"),
                                                   (_lane(flaky).body, "internal_error")]
    assert _losses(applied) == ["SHP-0"]
    monitors.checkpoint()
    assert _seen(table) == {dispatches[0].id, *(r.id for r in receipts)}


def _partitioned(event: Event, partitions: int, offset: int, batch_index: int) -> list[tuple[int, LaneItem]]:
    """The lanes items the router makes of `event`, one per partition, with its position."""
    return [(p, LaneItem("event", "events-1", tuple(sorted(only)), 1.0, None, copy.model_dump_json().encode(),
                         offset, batch_index)) for p, only, copy in route(event, partitions)]


def test_an_expired_event_is_rejected_once_and_applied_nowhere() -> None:
    """An event more than retention_days behind the clock is applied by no partition; only
    the copy on its subject's partition is rejected (expired, with its position); one just
    inside the horizon is applied everywhere."""
    partitions, table = 3, dict[bytes, bytes]()
    monitors = Monitors(Settings(kafka=KafkaSettings(partitions=partitions)), None, table)
    clock = s.at(days=100)
    for p in range(partitions):  # every source has got there (the clock is where they all are)
        monitors.apply(p, 0, [LaneItem("tick", f"events-{q}", (), None, clock.timestamp()) for q in range(partitions)])
    old = s.site("DP-OLD", time=s.at(days=100 - 45, seconds=-1))
    late = s.site("DP-LATE", time=s.at(days=100 - 45))
    rejected: list[tuple[int, Any]] = []
    for p, item in _partitioned(old, partitions, 41, 2) + _partitioned(late, partitions, 42, 0):
        applied = monitors.apply(p, 1, [item])
        rejected += [(p, (item.offset, item.batch_index, error.reason)) for item, error in applied.rejected]
    assert rejected == [(partition_of("DP-OLD", partitions), (41, 2, "expired"))]
    monitors.checkpoint()
    assert old.id not in _seen(table) and {partition for partition in range(partitions)
                                           if late.id in _seen(table, partition)} == {0, 1, 2}


def _swept_state(events: list[list[Event]], budget: float | None, checkpoints: int) -> dict[bytes, bytes]:
    """The state after the lanes messages of `events` and `checkpoints` checkpoints, each
    followed by a sweep within `budget` (two days retained)."""
    table: dict[bytes, bytes] = {}
    settings = Settings(kafka=KafkaSettings(partitions=1), detectors=DetectorConfig(retention_days=2))
    monitors = Monitors(settings, None, table)
    for offset, message in enumerate(events):
        _read(monitors, offset, message)
    for _ in range(checkpoints):
        monitors.checkpoint()
        monitors.sweep(budget)
    monitors.checkpoint()
    return table


def test_a_sweep_within_a_budget_goes_on_after_the_next_checkpoints() -> None:
    """With a budget, a sweep stops once it is spent (after one step at least: a budget of
    0 is one step a checkpoint) and goes on after the next checkpoints; in the end it has
    forgotten what a sweep without a budget forgets."""
    events = [[*_short_delivery(), s.feedback("DP-1", time=s.at(hours=4))], [s.tick(s.at(days=10))]]
    whole = _swept_state(events, None, 1)
    assert len(whole) < len(_swept_state(events, None, 0))  # the sweep forgot something
    assert _swept_state(events, 0, 1) != whole
    assert _swept_state(events, 0, 30) == whole


def test_a_checkpoints_collection_counts_against_its_sweeps_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """`checkpoint` with a budget: the time taken collecting the changed rows is taken from
    the sweep's (which still goes a step when none is left); without one, the sweep is whole."""
    now = [100.0]
    monkeypatch.setattr(detection_process.time, "monotonic", lambda: now[0])
    collect = Monitors.checkpoint

    def slow_collect(self: Monitors) -> Any:
        now[0] += 0.02  # collecting took 20 ms
        return collect(self)

    budgets: list[float | None] = []
    monkeypatch.setattr(Monitors, "checkpoint", slow_collect)
    monkeypatch.setattr(Monitors, "sweep", lambda self, budget=None: budgets.append(budget))
    monitors = Monitors(Settings(kafka=KafkaSettings(partitions=1)), None, {})
    for budget in (0.025, 0.01, None):
        _, sweep = detection_process.checkpoint(monitors, budget)
        sweep()
    assert budgets == [pytest.approx(0.005), 0.0, None]


def test_the_process_sends_a_checkpoints_rows_before_it_sweeps(monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    """`serve` answers a checkpoint with its rows, then sweeps, then reads the next request:
    the worker writes the rows meanwhile, and no event is applied between the two. A sweep
    that raises is logged and the next request is answered."""
    replies = io.BytesIO()
    seen_at_sweep: list[int] = []

    def sweep(self: Monitors, budget: float | None = None) -> None:
        seen_at_sweep.append(len(replies.getvalue()))
        if len(seen_at_sweep) == 2:
            raise RuntimeError("a broken sweep")

    monkeypatch.setattr(Monitors, "sweep", sweep)
    requests = b"".join(_framed(request) for request in [("checkpoint", 0.025), ("checkpoint", None),
                                                          ("context", "site", "DP-1", 0.0)])
    monitors = Monitors(Settings(kafka=KafkaSettings(partitions=1)), None, {})
    with caplog.at_level(logging.ERROR, "aidmon.worker"):
        detection_process.serve(io.BytesIO(requests), replies, monitors)
    assert "failed after a reply" in caplog.text and "a broken sweep" in caplog.text
    answers = _unframed(replies.getvalue())
    assert len(answers) == 3 and answers[0] == {} and answers[1] == {}
    assert not isinstance(answers[2], detection_process.Failed)
    first = detection_process.FRAME.size + len(pickle.dumps({}, protocol=pickle.HIGHEST_PROTOCOL))
    assert seen_at_sweep == [first, 2 * first]  # each reply was out before its sweep began


def _framed(request: tuple[Any, ...]) -> bytes:
    body = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
    return detection_process.FRAME.pack(len(body)) + body


def _unframed(data: bytes) -> list[Any]:
    found, at = [], 0
    while at < len(data):
        (size,) = detection_process.FRAME.unpack_from(data, at)
        at += detection_process.FRAME.size
        found.append(pickle.loads(data[at:at + size]))  # noqa: S301 - written by this test
        at += size
    return found


def test_a_checkpoint_moves_what_the_process_made_out_of_the_collectors_sight() -> None:
    """After a checkpoint, the objects made since the last one are frozen (`gc.freeze`): the
    young generation's collections walk only what the next events make."""
    monitors = Monitors(Settings(kafka=KafkaSettings(partitions=1)), None, {})
    try:
        before = gc.get_freeze_count()
        made = [[index] for index in range(5000)]  # noqa: F841 - alive through the checkpoint
        _, sweep = detection_process.checkpoint(monitors)
        sweep()
        assert gc.get_freeze_count() >= before + 5000
        assert gc.get_count()[0] < 100
    finally:
        gc.unfreeze()


def test_an_alert_judged_when_the_sources_turned_idle_carries_the_idle_marks_stamp() -> None:
    """An overdue shipment whose deadline the watermark has not passed (within the reorder
    allowance of the clock) is judged once every source is idle, at the clock: its trigger
    is the moment idleness was seen (the idle item's stamp), not an event."""
    monitors = Monitors(Settings(kafka=KafkaSettings(partitions=1)), None, {})
    dispatch = s.dispatch("SHP-9", time=s.at(), expected_arrival=s.at(days=1))
    assert _read(monitors, 0, [dispatch, s.tick(s.at(days=2, minutes=30))]).changed == {}
    applied = monitors.apply(0, 1, [LaneItem("idle", "events-0", (), 1764678000.5)])
    assert [(alert.typology, stamp) for alert, stamp in applied.changed.values()] == [
        ("overdue_shipment", 1764678000.5)]


def test_a_sweep_in_steps_a_step_behind_the_clock_is_finished_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Event time going fast: once the clock has moved a sweep's step (a day, with two days
    retained) past the horizon of a sweep still in steps, the next checkpoint finishes it
    whole, whatever the budget, then begins the next one a step at a time."""
    settings = Settings(kafka=KafkaSettings(partitions=1), detectors=DetectorConfig(retention_days=2))
    monitors = Monitors(settings, None, {})
    _read(monitors, 0, [*_short_delivery(), s.feedback("DP-1", time=s.at(hours=4)), s.tick(s.at(days=10))])
    steps: list[bool] = []
    original = Monitor.sweep_step
    monkeypatch.setattr(Monitor, "sweep_step", lambda self: steps.append(original(self)) or steps[-1])
    monitors.checkpoint()
    monitors.sweep(0)
    assert steps == [True]  # one step of the sweep to day 8
    _read(monitors, 1, [s.tick(s.at(days=10, hours=12))])
    monitors.checkpoint()
    monitors.sweep(0)
    assert len(steps) == 2  # half a day on: not behind, one more step
    _read(monitors, 2, [s.tick(s.at(days=11, hours=1))])
    monitors.checkpoint()
    steps.clear()
    monitors.sweep(0)
    whole = len(Monitor(settings.detectors).detectors) + 2  # a step a detector, the seen ids, the alerts
    assert len(steps) >= whole - 2  # the rest of the sweep to day 8, then a step of the next one


def test_a_source_waking_after_a_quiet_spell_reports_the_idle_ones_it_makes_hold() -> None:
    """Both partitions idle, then one delivers: the outcome names the other, which the
    monitor now waits for (its owner announces it idle once more if it stays quiet)."""
    monitors = Monitors(Settings(kafka=KafkaSettings(partitions=2)), None, {})
    idle = [LaneItem("idle", f"events-{p}", (), 1.0) for p in (0, 1)]
    assert apply(monitors, 0, 0, encode_batch(idle)).held == []
    woke = apply(monitors, 0, 1, encode_batch([_lane(s.dispatch("SHP-W", time=s.at()))]))
    assert woke.held == [1]
    assert apply(monitors, 0, 2, encode_batch([_lane(s.dispatch("SHP-X", time=s.at(hours=1)))])).held == []
