"""The season benchmark's data: one quarter, then copies of it moved on in event time with ids of their own."""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from schemas.privacy import Pseudonymiser
from streams.bootstrap import make_monitor
from streams.dev import synthetic
from streams.dev.synthetic.season import copy_quarter, quarter_days, repeat_quarter
from streams.replay import Replay, ReplaySummary
from streams.settings import Settings

SHIPMENT_TYPES = {"shipment.dispatched", "convoy.position", "convoy.stop", "shipment.received"}
PER_SUBJECT = {"transit_loss", "route_deviation", "unscheduled_stop", "overdue_shipment", "incident_nearby",
               "sanctioned_party", "duplicate_collection"}  # a shipment's or a beneficiary's: new in every copy
PER_SITE = {"over_distribution", "non_receipt_feedback"}  # the same sites: one open alert each, updated


@cache
def quarter() -> tuple[str, ...]:
    return tuple(synthetic.generate(seed=2012, shipments=40).lines)


def objects(lines: list[str]) -> list[dict[str, Any]]:
    found = []
    for line in lines:
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_the_quarter_spans_whole_days_from_its_first_event_to_its_last() -> None:
    """The generator's quarter runs from 29 June (reference data) into 1 October: 94 days, rounded up."""
    assert quarter_days(quarter()) == 94
    lines = ['{"id": "a", "time": "2012-07-01T00:00:00Z"}', "not json", '{"id": "b", "time": "2012-07-03T00:00:01Z"}']
    assert quarter_days(lines) == 3


def test_copy_zero_is_the_quarter_and_each_copy_has_its_lines() -> None:
    """The season begins with the quarter unchanged, then as many lines again per copy."""
    lines = list(quarter())
    season = repeat_quarter(lines, 3)
    assert season[: len(lines)] == lines
    assert len(season) == 3 * len(lines)


def test_every_time_field_moves_by_whole_quarters() -> None:
    """Copy k moves `time` and every time field of `data` by k x 94 days; copies follow each other."""
    original = objects(list(quarter()))
    copied = objects(list(copy_quarter(quarter(), 2, 94)))
    shift = timedelta(days=188)
    moved = 0
    for before, after in zip(original, copied, strict=True):
        if isinstance(before.get("time"), str) and before["time"].endswith("Z"):
            assert at(after["time"]) - at(before["time"]) == shift
        for key in ("expected_arrival", "started_at", "ended_at", "valid_from", "valid_to"):
            if key in before.get("data", {}):
                assert at(after["data"][key]) - at(before["data"][key]) == shift
                moved += 1
    assert moved > 40
    first = [at(e["time"]) for e in original if _timed(e)]
    second = [at(e["time"]) for e in objects(list(copy_quarter(quarter(), 1, 94))) if _timed(e)]
    assert min(second) >= max(first)


def _timed(event: dict[str, Any]) -> bool:
    return isinstance(event.get("time"), str) and event["time"].endswith("Z")


def test_ids_are_the_copys_own_and_places_stay() -> None:
    """Event, shipment, waybill, round, incident and beneficiary ids are new; sites, zones and partners are not."""
    original, copied = objects(list(quarter())), objects(list(copy_quarter(quarter(), 1, 94)))
    assert not {e["id"] for e in original} & {e["id"] for e in copied}
    assert len({e["id"] for e in copied}) == len({e["id"] for e in original})  # duplicates stay duplicates
    for before, after in zip(original, copied, strict=True):
        data, was = after.get("data", {}), before.get("data", {})
        for key in ("shipment_id", "incident_id", "round_id", "waybill", "beneficiary"):
            if isinstance(was.get(key), str):
                assert data[key] == f"{was[key]}-q2"
        for key in ("site_id", "zone_id", "partner_id"):
            if key in was:
                assert data[key] == was[key]
        if before.get("type") in SHIPMENT_TYPES and before.get("subject") == was.get("shipment_id"):
            assert after["subject"] == data["shipment_id"]
        elif before.get("type") == "site.registered":
            assert after["subject"] == before["subject"]


def test_lines_that_are_not_objects_keep_their_text_with_their_times_moved() -> None:
    """A malformed line stays malformed: only the timestamps in its text move."""
    line = "SHP-000012;2012-07-19T16:14:28Z;position;123.4;-3.6"
    assert list(copy_quarter([line, '{"time": "2012-07-19T17:00:00+01:00"}'], 1, 10)) == [
        "SHP-000012;2012-07-29T16:14:28Z;position;123.4;-3.6", '{"time":"2012-07-29T17:00:00+01:00"}']


def replay(lines: list[str], sanctions: Path) -> ReplaySummary:
    monitor = make_monitor(Settings(), sanctions)
    run = Replay(monitor, Pseudonymiser(b"season-test-secret-0123456789"), io.StringIO(), io.StringIO())
    return run.run(line.encode() for line in lines)


@pytest.mark.slow
def test_each_copy_replays_to_the_findings_of_the_quarter(tmp_path: Path) -> None:
    """Two quarters give twice a shipment's and a beneficiary's alerts, rejects and duplicates;
    a site's alerts stay one per site and typology (one finding, one alert)."""
    sanctions = tmp_path / "sanctions.xml"
    sanctions.write_text(synthetic.sanctions_xml(), encoding="utf-8")
    one, two = replay(list(quarter()), sanctions), replay(repeat_quarter(list(quarter()), 2), sanctions)
    assert two.rejects == Counter({reason: 2 * n for reason, n in one.rejects.items()})
    assert (two.duplicates, two.accepted) == (2 * one.duplicates, 2 * one.accepted)
    for typology in PER_SUBJECT:
        assert two.alerts[typology] == 2 * one.alerts[typology], typology
    for typology in PER_SITE:
        assert two.alerts[typology] == one.alerts[typology], typology
    assert {t for t, n in one.alerts.items() if n} == PER_SUBJECT | PER_SITE  # every typology is in the quarter
