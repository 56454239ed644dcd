"""Builders of decoded events, and a runner, for black-box tests of the monitor.

Every builder writes the event as a publisher would (a plain JSON object), then decodes
it through `schemas.decode.decode_event`, so that tests exercise the public path only.

Geometry: the default shipment runs along the equator, from (0, 0) to (0, 2) (lat, lon),
about 222 km. The equator is a great circle, so a point `km / KM_PER_DEGREE` degrees of
latitude off it is exactly `km` from the route (and from a point of the same longitude)
on the code's sphere of radius 6371.0 km: boundary cases are exact.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from agents.config import DetectorConfig
from agents.monitor import Monitor
from agents.names import ListedName
from schemas.alerts import Alert
from schemas.decode import decode_event
from schemas.events import Event
from schemas.privacy import Pseudonymiser

SECRET = b"test-secret-0123456789"
PSEUDONYMISER = Pseudonymiser(SECRET)

KM_PER_DEGREE = 111.19492664455873
"""Great-circle kilometres per degree on a sphere of radius 6371.0 km."""

T0 = datetime(2012, 7, 3, 8, 0, tzinfo=UTC)
"""The default dispatch time of every scenario."""

REFERENCE_TIME = datetime(2012, 7, 1, 0, 0, tzinfo=UTC)
"""Default time (and `valid_from`) of reference data: well before any scenario."""

ORIGIN = (0.0, 0.0)  # (lat, lon)
DESTINATION = (0.0, 2.0)
ON_ROUTE = (0.0, 1.0)
ROUTE = [[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]]  # GeoJSON order: [lon, lat]

Point = tuple[float, float]
Moment = datetime | str

_ids = itertools.count(1)


# --- time and place ------------------------------------------------------------------


def iso(moment: Moment) -> str:
    """RFC 3339 text of an aware datetime (strings pass through unchanged)."""
    if isinstance(moment, str):
        return moment
    assert moment.tzinfo is not None, "tests use aware datetimes only"
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def at(*, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0, base: datetime = T0) -> datetime:
    """`base` (default T0) plus the given offset."""
    return base + timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def north(point: Point, km: float) -> Point:
    """The point `km` great-circle kilometres due north of `point` (lat, lon)."""
    return (point[0] + km / KM_PER_DEGREE, point[1])


def box(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> dict[str, Any]:
    """A GeoJSON Polygon: the rectangle between the given corners."""
    ring = [[min_lon, min_lat], [max_lon, min_lat], [max_lon, max_lat], [min_lon, max_lat], [min_lon, min_lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def around(point: Point, half_deg: float = 0.2) -> dict[str, Any]:
    """A square GeoJSON Polygon centred on `point` (lat, lon)."""
    lat, lon = point
    return box(lon - half_deg, lat - half_deg, lon + half_deg, lat + half_deg)


# --- events --------------------------------------------------------------------------


def next_id() -> str:
    return f"evt-{next(_ids):06d}"


def envelope_raw(
    type: str,
    subject: str,
    data: Mapping[str, Any],
    time: Moment = T0,
    id: str | None = None,
    source: str = "/agencies/test/mli",
) -> dict[str, Any]:
    """The JSON object a publisher would send (ids auto-increment unless given)."""
    return {
        "specversion": "1.0",
        "id": id or next_id(),
        "source": source,
        "type": type,
        "time": iso(time),
        "subject": subject,
        "datacontenttype": "application/json",
        "data": copy.deepcopy(dict(data)),
    }


def decode(raw: Mapping[str, Any] | str | bytes) -> Event:
    """Decode a raw event with the tests' fixed pseudonymiser."""
    if isinstance(raw, Mapping):
        raw = json.dumps(raw)
    return decode_event(raw, PSEUDONYMISER)


def envelope(
    type: str,
    subject: str,
    data: Mapping[str, Any],
    time: Moment = T0,
    id: str | None = None,
) -> Event:
    """A decoded event of any type."""
    return decode(envelope_raw(type, subject, data, time, id))


def _items(items: Iterable[Sequence[Any] | Mapping[str, Any]], received: bool = False) -> list[dict[str, Any]]:
    """(commodity, unit, quantity[, damaged]) tuples or dicts -> contract items."""
    out = []
    for item in items:
        if isinstance(item, Mapping):
            out.append(dict(item))
            continue
        row: dict[str, Any] = {"commodity": item[0], "unit": item[1], "quantity": item[2]}
        if received and len(item) > 3:
            row["damaged"] = item[3]
        out.append(row)
    return out


def site(
    site_id: str = "DP-1",
    *,
    kind: str = "distribution_point",
    point: Point = DESTINATION,
    caseload: int | None = None,
    name: str | None = None,
    time: Moment = REFERENCE_TIME,
    id: str | None = None,
) -> Event:
    data: dict[str, Any] = {"site_id": site_id, "name": name or f"Site {site_id}", "kind": kind,
                            "lat": point[0], "lon": point[1]}
    if caseload is not None:
        data["caseload_households"] = caseload
    return envelope("site.registered", site_id, data, time, id)


def zone(
    zone_id: str = "Z-1",
    *,
    status: str = "armed_group",
    geometry: Mapping[str, Any] | None = None,
    valid_from: Moment = REFERENCE_TIME,
    valid_to: Moment | None = None,
    controlled_by: str = "",
    name: str | None = None,
    time: Moment = REFERENCE_TIME,
    id: str | None = None,
) -> Event:
    data: dict[str, Any] = {
        "zone_id": zone_id,
        "name": name or f"Zone {zone_id}",
        "status": status,
        "controlled_by": controlled_by,
        "geometry": dict(geometry) if geometry is not None else box(-1.0, -1.0, 3.0, 1.0),
        "valid_from": iso(valid_from),
    }
    if valid_to is not None:
        data["valid_to"] = iso(valid_to)
    return envelope("zone.declared", zone_id, data, time, id)


def dispatch(
    shipment_id: str = "SHP-1",
    *,
    items: Iterable[Sequence[Any] | Mapping[str, Any]] = (("maize", "kg", 1000),),
    time: Moment = T0,
    origin: Point = ORIGIN,
    destination: Point = DESTINATION,
    route: Sequence[Sequence[float]] | None = None,
    expected_arrival: Moment | None = None,
    transporter: str = "Transports du Fleuve SARL",
    consignee: str = "Cooperative Espoir",
    origin_site: str = "WH-1",
    destination_site: str = "DP-1",
    waybill: str | None = None,
    id: str | None = None,
) -> Event:
    """A dispatch along ROUTE, expected one day after `time` unless told."""
    sent = time if isinstance(time, datetime) else datetime.fromisoformat(time)
    data = {
        "shipment_id": shipment_id,
        "waybill": waybill or f"WB-{shipment_id}",
        "origin": {"site_id": origin_site, "lat": origin[0], "lon": origin[1]},
        "destination": {"site_id": destination_site, "lat": destination[0], "lon": destination[1]},
        "transporter": {"partner_id": "P-TRANS", "name": transporter},
        "consignee": {"partner_id": "P-CONS", "name": consignee},
        "items": _items(items),
        "planned_route": [list(p) for p in (route or ROUTE)],
        "expected_arrival": iso(expected_arrival if expected_arrival is not None else sent + timedelta(days=1)),
    }
    return envelope("shipment.dispatched", shipment_id, data, time, id)


def position(
    shipment_id: str = "SHP-1",
    point: Point = ON_ROUTE,
    *,
    time: Moment,
    speed_kmh: float | None = None,
    id: str | None = None,
) -> Event:
    data: dict[str, Any] = {"shipment_id": shipment_id, "lat": point[0], "lon": point[1]}
    if speed_kmh is not None:
        data["speed_kmh"] = speed_kmh
    return envelope("convoy.position", shipment_id, data, time, id)


def stop(
    shipment_id: str = "SHP-1",
    point: Point = ON_ROUTE,
    *,
    started_at: Moment,
    minutes: float | None = None,
    ended_at: Moment | None = None,
    reason: str = "checkpoint",
    payment_demanded: bool = False,
    reported_actor: str | None = None,
    time: Moment | None = None,
    id: str | None = None,
) -> Event:
    """A stop of `minutes` (or until `ended_at`), reported at its end unless `time` says."""
    start = started_at if isinstance(started_at, datetime) else datetime.fromisoformat(started_at)
    if ended_at is None:
        assert minutes is not None, "give minutes or ended_at"
        ended_at = start + timedelta(minutes=minutes)
    data: dict[str, Any] = {
        "shipment_id": shipment_id,
        "lat": point[0],
        "lon": point[1],
        "started_at": iso(start),
        "ended_at": iso(ended_at),
        "reason": reason,
        "payment_demanded": payment_demanded,
    }
    if reported_actor is not None:
        data["reported_actor"] = reported_actor
    return envelope("convoy.stop", shipment_id, data, time if time is not None else ended_at, id)


def receipt(
    shipment_id: str = "SHP-1",
    *,
    items: Iterable[Sequence[Any] | Mapping[str, Any]] = (("maize", "kg", 1000),),
    time: Moment,
    site_id: str = "DP-1",
    receiver: str = "Cooperative Espoir",
    id: str | None = None,
) -> Event:
    """A receipt; items are (commodity, unit, quantity[, damaged])."""
    data = {
        "shipment_id": shipment_id,
        "site_id": site_id,
        "receiver": {"partner_id": "P-RECV", "name": receiver},
        "items": _items(items, received=True),
    }
    return envelope("shipment.received", shipment_id, data, time, id)


def distribution(
    site_id: str = "DP-1",
    beneficiary: str = "tok_beneficiary-000000001",
    *,
    time: Moment,
    round_id: str = "R1",
    items: Iterable[Sequence[Any] | Mapping[str, Any]] = (("maize", "kg", 10),),
    household_size: int = 5,
    shipment_id: str | None = None,
    id: str | None = None,
) -> Event:
    data: dict[str, Any] = {
        "site_id": site_id,
        "round_id": round_id,
        "beneficiary": beneficiary,
        "household_size": household_size,
        "items": _items(items),
    }
    if shipment_id is not None:
        data["shipment_id"] = shipment_id
    return envelope("distribution.recorded", site_id, data, time, id)


def token(n: int) -> str:
    """A valid pseudonymous token, distinct for each n."""
    return f"tok_beneficiary-{n:09d}"


def feedback(
    site_id: str = "DP-1",
    *,
    time: Moment,
    category: str = "not_received",
    round_id: str | None = None,
    beneficiary: str | None = None,
    id: str | None = None,
) -> Event:
    data: dict[str, Any] = {"site_id": site_id, "category": category}
    if round_id is not None:
        data["round_id"] = round_id
    if beneficiary is not None:
        data["beneficiary"] = beneficiary
    return envelope("feedback.received", site_id, data, time, id)


def incident(
    incident_id: str = "INC-1",
    point: Point = ON_ROUTE,
    *,
    time: Moment,
    kind: str = "looting",
    actor: str | None = None,
    shipment_id: str | None = None,
    id: str | None = None,
) -> Event:
    data: dict[str, Any] = {"incident_id": incident_id, "lat": point[0], "lon": point[1], "kind": kind}
    if actor is not None:
        data["actor"] = actor
    if shipment_id is not None:
        data["shipment_id"] = shipment_id
    return envelope("incident.reported", incident_id, data, time, id)


def tick(time: Moment, site_id: str = "SITE-CLOCK") -> Event:
    """An event that only moves the monitor's clock (feedback of category `other`)."""
    return feedback(site_id, time=time, category="other")


# --- running -------------------------------------------------------------------------


def emitted(
    events: Iterable[Event],
    config: DetectorConfig | None = None,
    sanctions: Iterable[ListedName] | None = None,
    *,
    flush: bool = True,
    monitor: Monitor | None = None,
) -> list[Alert]:
    """Every alert version the monitor emits, in order, from each process() and the flush()."""
    monitor = monitor or Monitor(config, sanctions)
    out: list[Alert] = []
    for event in events:
        out += monitor.process(event)
    if flush:
        out += monitor.flush()
    return out


def run(
    events: Iterable[Event],
    config: DetectorConfig | None = None,
    sanctions: Iterable[ListedName] | None = None,
    *,
    flush: bool = True,
) -> dict[str, Alert]:
    """Process in order, flush, and keep the last version of each alert (by alert_id)."""
    alerts: dict[str, Alert] = {}
    for alert in emitted(events, config, sanctions, flush=flush):
        alerts[alert.alert_id] = alert
    return alerts


def of(alerts: Mapping[str, Alert] | Iterable[Alert], typology: str) -> list[Alert]:
    """The alerts of one typology, by subject id."""
    values = alerts.values() if isinstance(alerts, Mapping) else alerts
    return sorted((a for a in values if a.typology == typology), key=lambda a: (a.subject.id, a.alert_id))


def findings(alerts: Mapping[str, Alert] | Iterable[Alert], typology: str) -> list[tuple[str, str, str]]:
    """(subject kind, subject id, severity) of the alerts of one typology."""
    return [(a.subject.kind, a.subject.id, a.severity) for a in of(alerts, typology)]


def evidence_ids(alert: Alert) -> set[str]:
    return {e.event_id for e in alert.evidence}
