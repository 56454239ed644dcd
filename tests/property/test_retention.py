"""State retention (contract 1.1): it changes memory, never findings, and what is older
than the horizon is rejected as `expired`, every line of it."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

from agents.config import DetectorConfig
from agents.monitor import Monitor
from agents.state import Store
from schemas.decode import Decoder
from schemas.events import Event
from schemas.exceptions import InvalidEventError
from schemas.privacy import Pseudonymiser
from streams.dev.synthetic.generator import generate
from streams.dev.synthetic.season import repeat_quarter
from streams.replay import Replay
from streams.worker.lanes import partition_of, route


@dataclass
class Run:
    alerts: dict[str, str]  # alert id -> its last version
    rejects: list[dict[str, object]]
    kept: int  # keys the monitor's stores hold at the end


def _replay(lines: Sequence[str], retention_days: float) -> Run:
    stores: list[Store] = []

    def store(name: str) -> Store:
        stores.append({})
        return stores[-1]

    monitor = Monitor(DetectorConfig(retention_days=retention_days), stores=store)
    alerts, rejects = io.StringIO(), io.StringIO()
    Replay(monitor, Pseudonymiser(b"retention-test-secret-key"), alerts, rejects).run(line.encode() for line in lines)
    latest = {json.loads(line)["alert_id"]: line for line in alerts.getvalue().splitlines()}
    return Run(latest, [json.loads(line) for line in rejects.getvalue().splitlines()], sum(map(len, stores)))


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000), copies=st.integers(2, 4), noise=st.booleans())
def test_a_season_gives_the_same_alerts_with_the_default_horizon_as_with_no_horizon(
    seed: int, copies: int, noise: bool
) -> None:
    """Quarters repeated in event time: 45 days of retention give exactly the alerts of
    100,000 days, while the monitor holds less."""
    season = repeat_quarter(generate(seed=seed, shipments=10, noise=noise).lines, copies)
    bounded, unbounded = _replay(season, 45), _replay(season, 100_000)
    assert bounded.alerts == unbounded.alerts
    assert [r for r in bounded.rejects if r["reason"] == "expired"] == []
    assert bounded.kept < unbounded.kept


def test_state_stays_bounded_as_the_quarters_go_on() -> None:
    """Two quarters or five: the monitor ends holding about as much (what the last 45 days need)."""
    quarter = generate(seed=11, shipments=10, noise=False).lines
    two, five = _replay(repeat_quarter(quarter, 2), 45), _replay(repeat_quarter(quarter, 5), 45)
    unbounded = _replay(repeat_quarter(quarter, 5), 100_000)
    assert len(five.alerts) > 2 * len(two.alerts)  # the later quarters were judged too
    assert five.kept <= 1.2 * two.kept < unbounded.kept / 2


def test_events_far_behind_the_clock_are_rejected_as_expired_every_one() -> None:
    """Events 200 days behind the clock are kept whole in the rejects as `expired` and change
    nothing; those within the horizon, however late, are applied."""
    quarter = generate(seed=5, shipments=10, noise=False).lines
    season = repeat_quarter(quarter, 3)
    clock = max(json.loads(line)["time"] for line in season)
    old = [_moved(line, clock, days_behind=200, mark="old") for line in quarter[:40]]
    late = [_moved(line, clock, days_behind=44, mark="late") for line in quarter[:40]]
    base = _replay(season, 45)
    run = _replay([*season, *old], 45)
    assert [r["reason"] for r in run.rejects] == ["expired"] * len(old)
    assert [r["raw"] for r in run.rejects] == old
    assert run.alerts == base.alerts
    assert _replay([*season, *late], 45).rejects == []


def _moved(line: str, clock: str, days_behind: float, mark: str) -> str:
    """The event with its own id and its `time` `days_behind` days before `clock`."""
    event = json.loads(line)
    event["id"] = f"{event['id']}-{mark}"
    event["time"] = (datetime.fromisoformat(clock) - timedelta(days=days_behind)).isoformat()
    return json.dumps(event)


def _partitioned(lines: Sequence[str], retention_days: float, partitions: int, seed: int,
                 stepped: bool = False) -> dict[str, str]:
    """The worker's layout without Kafka: events keyed by subject to source partitions, read
    in random turns of random lengths (a worker catching up reads some partitions far ahead
    of others), each copy to the monitor of the partition `lanes.route` gives it. `stepped`:
    the monitors sweep as the worker's do while no backlog is read, a step of the sweep due
    after each turn (`Monitor.sweep_step`), not as soon as the clock allows."""
    decode = Decoder(Pseudonymiser(b"retention-test-secret-key"))
    sources: list[list[Event]] = [[] for _ in range(partitions)]
    for line in lines:
        try:
            event = decode(line)
        except InvalidEventError:
            continue  # rejected at the edge
        sources[partition_of(event.subject, partitions)].append(event)
    names = [f"events-{p}" for p in range(partitions)]
    monitors = [Monitor(DetectorConfig(retention_days=retention_days), sweeps_at_checkpoints=stepped)
                for _ in range(partitions)]
    for monitor in monitors:
        monitor.expect(names)
    latest: dict[str, str] = {}
    rnd, read = random.Random(seed), [0] * partitions
    while any(read[p] < len(sources[p]) for p in range(partitions)):
        p = rnd.randrange(partitions)
        turn = sources[p][read[p]:read[p] + rnd.randint(1, 50)]
        read[p] += len(turn)
        for event in turn:
            for target, only, copy in route(event, partitions):
                latest.update((a.alert_id, a.model_dump_json()) for a in monitors[target].process(
                    copy, source=names[p], only=only))
        if read[p] == len(sources[p]):
            for monitor in monitors:
                monitor.idle(names[p])
        if stepped:
            for monitor in monitors:
                monitor.sweep_step()
    for monitor in monitors:
        latest.update((a.alert_id, a.model_dump_json()) for a in monitor.flush())
    return latest


@settings(max_examples=2, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_partitions_read_at_different_speeds_forget_nothing_still_needed(seed: int) -> None:
    """As in the worker, several sources feed each monitor, some read weeks of event time
    ahead of others: the retention forgets only behind where they all have got to, so the
    alerts are those of no retention."""
    season = repeat_quarter(generate(seed=3, shipments=60, noise=True).lines, 2)
    assert _partitioned(season, 45, 4, seed) == _partitioned(season, 100_000, 4, seed)


@settings(max_examples=2, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_sweeps_in_steps_between_the_events_forget_nothing_still_needed(seed: int) -> None:
    """As in a worker that is not behind: each sweep goes in steps, events applied between
    them (some state held longer, some forgotten already; duplicate_collection's tokens a
    few at a time, over_distribution's served tokens too): the alerts are those of no retention."""
    season = repeat_quarter(generate(seed=3, shipments=60, noise=True).lines, 2)
    with patch("agents.collection.SWEEP_TOKENS", 3), patch("agents.distribution.SWEEP_SERVED", 3):
        stepped = _partitioned(season, 45, 4, seed, stepped=True)
    assert stepped == _partitioned(season, 100_000, 4, seed)
