"""A season from one quarter, for the season benchmark and the retention tests: the
quarter's lines, then copies of it moved on in event time.

A copy is a new quarter of the same operation: the same sites, zones and partners (their
reference events repeat, at their moved time), new shipments, waybills, rounds,
incidents and beneficiaries. Copy k (k >= 1) moves every time field by k times the
quarter's span, rounded up to whole days, so each copy begins when the one before has
ended; copy 0 is the quarter unchanged. Ids are rewritten the same way wherever they
appear, so a duplicate line stays a duplicate within its copy and a receipt still names
its dispatch. Lines that are not JSON objects (the generator's malformed ones) keep
their text, with their timestamps moved.

Stdlib only and pure: lines in, lines out.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

DAY = timedelta(days=1)
TIME_FIELDS = ("time", "expected_arrival", "started_at", "ended_at", "valid_from", "valid_to")
RENAMED = ("shipment_id", "incident_id", "round_id", "waybill", "beneficiary")  # fields of `data`
COPY_NAMESPACE = uuid.UUID("6f9b3c52-2d1e-4c55-9a1f-5e0b8f0d1a77")  # event ids of copies: uuid5 in it

_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")


def quarter_days(lines: Iterable[str]) -> int:
    """The quarter's span in event time (`time` of its first event to that of its last),
    rounded up to whole days (at least one)."""
    first = last = None
    for line in lines:
        event = _object(line)
        moment = _parse(event.get("time")) if event else None
        if moment is not None:
            first = moment if first is None or moment < first else first
            last = moment if last is None or moment > last else last
    if first is None or last is None:
        raise ValueError("no line with a valid `time`: nothing to measure the quarter by")
    return max(1, math.ceil((last - first) / DAY))


def repeat_quarter(lines: list[str], copies: int) -> list[str]:
    """The quarter, then copies 1 .. copies-1 of it, each `quarter_days` later than the one before."""
    days = quarter_days(lines)
    season = list(lines)
    for k in range(1, copies):
        season.extend(copy_quarter(lines, k, days))
    return season


def copy_quarter(lines: Iterable[str], k: int, days: int) -> Iterator[str]:
    """Copy k of the quarter: every time field `k * days` days later, its ids made its own."""
    if k < 1:
        raise ValueError("copy 0 is the quarter itself")
    shift, mark = timedelta(days=k * days), f"q{k + 1}"
    for line in lines:
        event = _object(line)
        if event is None:
            yield _RFC3339.sub(lambda found: _moved(found.group(0), shift), line)
        else:
            yield json.dumps(_copy_event(event, shift, mark), ensure_ascii=False, separators=(",", ":"))


def _copy_event(event: dict[str, Any], shift: timedelta, mark: str) -> dict[str, Any]:
    if isinstance(event.get("id"), str):
        event["id"] = str(uuid.uuid5(COPY_NAMESPACE, f"{mark}/{event['id']}"))
    _move_times(event, shift)
    data = event.get("data")
    if not isinstance(data, dict):
        return event
    _move_times(data, shift)
    for key in RENAMED:
        value = data.get(key)
        if isinstance(value, str):
            data[key] = f"{value}-{mark}"
            if event.get("subject") == value:  # a shipment's or an incident's events
                event["subject"] = data[key]
    return event


def _move_times(fields: dict[str, Any], shift: timedelta) -> None:
    for key in TIME_FIELDS:
        value = fields.get(key)
        if isinstance(value, str) and _RFC3339.fullmatch(value):
            fields[key] = _moved(value, shift)


def _moved(text: str, shift: timedelta) -> str:
    """An RFC 3339 timestamp `shift` later, written as it was (a `Z` stays a `Z`, an offset stays)."""
    moment = _parse(text)
    if moment is None:
        return text
    moved = moment + shift
    if text.endswith("Z"):
        return moved.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return moved.isoformat()


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _object(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
