"""Seeded synthetic event streams: aid deliveries in northern Mali, July-September 2012.

`generate(seed, shipments, noise)` builds a stream that follows the event contract (v1):
reference data, shipments with convoy tracks, stops and receipts, distributions fed by
those receipts, feedback and security incidents, with findings of all nine typologies
planted at known rates next to near misses that must not fire. `truth` lists what a
correct monitor raises. Noise (duplicates, shuffled arrival, early receipts, malformed
lines) comes from its own random stream, so `noise` never changes the events or the truth.

Towns are real; every person, company, zone boundary and sanctions entry is invented.
Stdlib only.
"""

from __future__ import annotations

import json
import math
import random
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

BASE = datetime(2012, 6, 29, 6, tzinfo=UTC)  # reference data
START = datetime(2012, 7, 1, tzinfo=UTC)
DAYS, ROUND_DAYS = 92, 16  # 1 July .. 30 September, rounds R2012-01 .. R2012-06
WFP, OCHA = "/agencies/wfp/mli", "/agencies/ocha/mli"
REFERENCE = ("site.registered", "zone.declared", "partner.registered")
SHARE = 0.215  # normal distribution hands out at most this share of what a site received
RATION = {"sorghum": ("kg", 9.0), "pulses": ("kg", 1.5), "veg_oil": ("l", 0.75), "csb": ("kg", 1.0)}
ACTORS = ["MUJAO", "MNLA", "Ansar Dine", "unidentified armed men", "local militia"]


@dataclass(frozen=True)
class Synthetic:
    lines: list[str]  # JSONL lines (no trailing newline), in arrival order, noise included
    truth: dict[str, Any]  # {"findings", "raw_ids", "noise"}


@dataclass(frozen=True)
class Listed:
    """One fictitious sanctions-list entry: name parts (joined = listed name) and aliases."""

    kind: str  # "individual" | "entity"
    parts: tuple[str, ...]
    aliases: tuple[str, ...]
    reference: str

    @property
    def name(self) -> str:
        return " ".join(self.parts)


SANCTIONED: list[Listed] = [
    Listed("individual", ("Ousmane", "Ag", "Kelmoudane"), ("Abou Kelmoud", "Ousmane Kelmoudani"), "QDi.F01"),
    Listed("individual", ("Sidi", "Mohamed", "Ould Tawfrek"), ("Abu Tawfrek",), "QDi.F02"),
    Listed("individual", ("Hamma", "Boulkassoum", "Ezzaouak"), ("Hamma Zaouak",), "QDi.F03"),
    Listed("entity", ("Adrar Sahel Express Transit",), ("ASET Logistique",), "QDe.F01"),
]
NEAR_MISSES = ["Ousmane Ag Bilal", "Sidi Mohamed Ould Cheikhna", "Hamma Boulkassoum Traoré", "Adrar Nord Transport"]


@dataclass(frozen=True)
class Site:
    site_id: str
    name: str
    kind: str
    lat: float
    lon: float
    caseload: int = 0
    weight: float = 0.0  # share of shipments sent here
    origins: tuple[str, ...] = ()
    consignee: str = ""


WAREHOUSES = [
    Site("WH-MOP", "Mopti warehouse", "warehouse", 14.4936, -4.1978),
    Site("WH-GAO", "Gao warehouse", "warehouse", 16.2717, -0.0447),
    Site("WH-TBT", "Tombouctou warehouse", "warehouse", 16.7735, -3.0074),
    Site("WH-NIM", "Niamey logistics hub", "warehouse", 13.5116, 2.1254),
    Site("WH-NEM", "Nema warehouse", "warehouse", 16.6167, -7.2500),
    Site("WH-DJB", "Djibo warehouse", "warehouse", 14.1022, -1.6306),
]
POINTS = [
    Site("DP-KID", "Kidal", "distribution_point", 18.4411, 1.4078, 2000, 0.6, ("WH-GAO",), "PRT-C01"),
    Site("DP-MEN", "Menaka", "distribution_point", 15.9182, 2.4022, 4000, 1.0, ("WH-GAO", "WH-NIM"), "PRT-C02"),
    Site("DP-ANS", "Ansongo", "distribution_point", 15.6597, 0.5022, 160, 0.15, ("WH-GAO", "WH-NIM"), "PRT-C03"),
    Site("DP-BRM", "Bourem", "distribution_point", 16.9536, -0.3497, 200, 0.2, ("WH-GAO", "WH-TBT"), "PRT-C04"),
    Site("DP-DTZ", "Douentza", "distribution_point", 15.0019, -2.9497, 5000, 1.2, ("WH-MOP", "WH-DJB"), "PRT-C05"),
    Site("DP-NFK", "Niafunke", "distribution_point", 15.9322, -3.9906, 4000, 1.0, ("WH-MOP", "WH-TBT"), "PRT-C06"),
    Site("DP-GDM", "Goundam", "distribution_point", 16.4145, -3.6708, 3000, 0.9, ("WH-TBT", "WH-MOP"), "PRT-C07"),
    Site("CMP-MBR", "Mbera camp", "camp", 15.6400, -5.7600, 16000, 3.5, ("WH-NEM",), "PRT-C08"),
]
SITES = {s.site_id: s for s in WAREHOUSES + POINTS}
PARTNERS = [  # (partner_id, name, role, aliases)
    ("PRT-T01", "Transports Maïga et Frères", "transporter", ["TMF Gao"]),
    ("PRT-T02", "Société Diarra Transit", "transporter", []),
    ("PRT-T03", "Niger Bend Haulage", "transporter", ["NBH Niamey"]),
    ("PRT-T04", "Hombori Roulage", "transporter", []),
    ("PRT-T05", "Coulibaly & Fils Logistique", "transporter", ["Coulibaly Logistique"]),
    ("PRT-T06", "Trans-Sahel Convoyage", "transporter", []),
    ("PRT-C01", "Association Tamasna Secours", "consignee", []),
    ("PRT-C02", "ONG Aïr Solidarité", "consignee", ["Air Solidarite Menaka"]),
    ("PRT-C03", "Fatoumata Maïga", "consignee", []),
    ("PRT-C04", "Boubacar Cissé", "consignee", []),
    ("PRT-C05", "Association Kisal Douentza", "consignee", []),
    ("PRT-C06", "Mariam Traoré", "consignee", []),
    ("PRT-C07", "ONG Faguibine Avenir", "consignee", []),
    ("PRT-C08", "Mbera Camp Management Unit", "consignee", ["MCMU"]),
    ("PRT-P01", "Croix Solidaire Mali", "cooperating_partner", []),
    ("PRT-V01", "Marché Central Fournitures", "vendor", []),
]
PARTNER_NAMES = {pid: name for pid, name, _, _ in PARTNERS}
ZONES = [  # (zone_id, name, status, controlled_by, polygons as [(lon, lat), ...] exterior rings)
    ("ZN-KID", "Kidal region", "armed_group", "MNLA / Ansar Dine",
     [[(-1.0, 17.3), (4.3, 17.3), (4.3, 21.0), (-1.0, 21.0)]]),
    ("ZN-GAO", "Gao region", "armed_group", "MUJAO", [[(-1.5, 14.9), (4.3, 14.9), (4.3, 17.3), (-1.0, 17.3)]]),
    ("ZN-TBT", "Tombouctou region", "armed_group", "Ansar Dine / AQIM",
     [[(-5.4, 15.5), (-1.5, 15.5), (-1.0, 17.3), (-1.0, 21.0), (-5.4, 21.0)]]),
    ("ZN-DTZ", "Douentza cercle", "contested", "", [[(-3.9, 14.6), (-1.5, 14.6), (-1.5, 15.5), (-3.9, 15.5)]]),
    ("ZN-SOUTH", "Southern Mali", "government", "Government of Mali",
     [[(-8.5, 12.0), (-2.0, 12.0), (-2.0, 14.7), (-8.5, 14.7)]]),
]
SEVERITY = {"armed_group": 3, "contested": 2, "government": 1}


@dataclass
class Ev:
    """One event before serialisation; `time` is a datetime, `data` the contract body."""

    time: datetime
    type: str
    subject: str
    data: dict[str, Any]
    id: str
    source: str

    def line(self, **override: Any) -> str:
        envelope = {"specversion": "1.0", "id": self.id, "source": self.source, "type": self.type,
                    "time": _iso(self.time), "subject": self.subject,
                    "datacontenttype": "application/json", "data": self.data}
        return json.dumps({**envelope, **override}, ensure_ascii=False, separators=(",", ":"))


@dataclass
class Trip:
    """One shipment: its plan (planted findings and near misses) and its events."""

    sid: str
    origin: Site
    dest: Site
    route: list[list[float]]
    t0: datetime
    plan: set[str] = field(default_factory=set)
    expected: datetime = BASE
    positions: list[Ev] = field(default_factory=list)
    fractions: list[float] = field(default_factory=list)
    receipt: Ev | None = None


# --- small helpers ----------------------------------------------------------------------


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _minutes(a: float, b: float, rng: random.Random) -> timedelta:
    return timedelta(minutes=rng.uniform(a, b))


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine, R = 6371 km)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def _move(lat: float, lon: float, km: float, bearing: float) -> tuple[float, float]:
    """The point `km` away towards `bearing` (degrees from north), flat-earth approximation."""
    b = math.radians(bearing)
    return lat + km * math.cos(b) / 111.32, lon + km * math.sin(b) / (111.32 * math.cos(math.radians(lat)))


def _bearing(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return math.degrees(math.atan2((lon2 - lon1) * math.cos(math.radians(lat1)), lat2 - lat1))


def _along(route: list[list[float]], f: float) -> tuple[float, float]:
    """(lat, lon) at fraction `f` of the route's length."""
    legs = [_km(p[1], p[0], q[1], q[0]) for p, q in pairwise(route)]
    rest = f * sum(legs)
    for (p, q), leg in zip(pairwise(route), legs, strict=True):
        if rest <= leg or q is route[-1]:
            s = min(1.0, rest / leg) if leg else 0.0
            return p[1] + (q[1] - p[1]) * s, p[0] + (q[0] - p[0]) * s
        rest -= leg
    return route[-1][1], route[-1][0]


def _heading(route: list[list[float]], f: float) -> float:
    a, b = _along(route, max(0.0, f - 0.01)), _along(route, min(1.0, f + 0.01))
    return _bearing(a[0], a[1], b[0], b[1])


def _off_route_km(lat: float, lon: float, route: list[list[float]]) -> float:
    """Distance to the nearest point of the polyline (local flat projection, fine at < 1 %)."""
    kx, best = 111.32 * math.cos(math.radians(lat)), math.inf
    for (lo1, la1), (lo2, la2) in pairwise(route):
        ax, ay, dx, dy = (lo1 - lon) * kx, (la1 - lat) * 111.32, (lo2 - lo1) * kx, (la2 - la1) * 111.32
        s = max(0.0, min(1.0, -(ax * dx + ay * dy) / ((dx * dx + dy * dy) or 1.0)))
        best = min(best, math.hypot(ax + s * dx, ay + s * dy))
    return best


def _inside(lat: float, lon: float, ring: list[tuple[float, float]]) -> bool:
    hit = False
    for (x1, y1), (x2, y2) in pairwise([*ring, ring[0]]):
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit


def _statuses(lat: float, lon: float) -> set[str | None]:
    """Zone status at the point and 3 km around it (robust to edge conventions)."""
    found: set[str | None] = set()
    for dlat, dlon in ((0, 0), (0.027, 0), (-0.027, 0), (0, 0.028), (0, -0.028)):
        here = [z[2] for z in ZONES if any(_inside(lat + dlat, lon + dlon, r) for r in z[4])]
        found.add(max(here, key=SEVERITY.__getitem__) if here else None)
    return found


# --- reference data ---------------------------------------------------------------------


def _reference(b: _Builder) -> None:
    for s in WAREHOUSES + POINTS:
        data: dict[str, Any] = {"site_id": s.site_id, "name": s.name, "kind": s.kind, "lat": s.lat, "lon": s.lon}
        if s.kind != "warehouse":
            data["caseload_households"] = s.caseload
        b.emit("site.registered", BASE, s.site_id, data)
    for pid, name, role, aliases in PARTNERS:
        data = {"partner_id": pid, "name": name, "role": role} | ({"aliases": aliases} if aliases else {})
        b.emit("partner.registered", BASE, pid, data)
    for zid, name, status, by, polygons in ZONES:
        b.emit("zone.declared", BASE, zid, _zone(zid, name, status, by, polygons, "2012-06-01T00:00:00Z"))
    # Douentza falls to MUJAO on 1 September: contested -> armed_group (no truth changes).
    zid, name, _, _, polygons = ZONES[3]
    b.emit("zone.declared", datetime(2012, 9, 1, tzinfo=UTC), zid,
           _zone(zid, name, "armed_group", "MUJAO", polygons, "2012-09-01T00:00:00Z"))


def _zone(zid: str, name: str, status: str, by: str, polygons: list[Any], valid_from: str) -> dict[str, Any]:
    rings = [[[list(p) for p in ring + ring[:1]]] for ring in polygons]
    geometry = {"type": "MultiPolygon", "coordinates": rings} if zid == "ZN-KID" else {
        "type": "Polygon", "coordinates": rings[0]}
    return {"zone_id": zid, "name": name, "status": status, "controlled_by": by,
            "geometry": geometry, "valid_from": valid_from}


# --- shipments --------------------------------------------------------------------------


def _route(rng: random.Random, a: Site, b: Site) -> list[list[float]]:
    """3-5 points: the two ends and 1-3 bends off the straight line, like a road."""
    length, heading, mids = _km(a.lat, a.lon, b.lat, b.lon), _bearing(a.lat, a.lon, b.lat, b.lon), rng.randint(1, 3)
    points = [[a.lon, a.lat]]
    for k in range(1, mids + 1):
        f = k / (mids + 1)
        lat, lon = _move(a.lat + (b.lat - a.lat) * f, a.lon + (b.lon - a.lon) * f,
                         rng.uniform(-0.08, 0.08) * length, heading + 90)
        points.append([round(lon, 4), round(lat, 4)])
    return [*points, [b.lon, b.lat]]


def _trips(b: _Builder, count: int) -> list[Trip]:
    rng, routes = b.rng, dict[tuple[str, str], list[list[float]]]()
    starts = sorted(START + timedelta(days=rng.randrange(86), hours=rng.uniform(6, 15)) for _ in range(count))
    trips = []
    for i, t0 in enumerate(starts, 1):
        dest = rng.choices(POINTS, [p.weight for p in POINTS])[0]
        origin = SITES[rng.choice(dest.origins)]
        key = (origin.site_id, dest.site_id)
        routes.setdefault(key, _route(rng, origin, dest))
        trips.append(Trip(f"SHP-{i:06d}", origin, dest, routes[key], t0.replace(microsecond=0)))
    _assign(rng, trips)
    return trips


def _assign(rng: random.Random, trips: list[Trip]) -> None:
    """Plant flags at the contract's rough rates; `lost` = never received (overdue)."""
    def pick(flag: str, rate: float, exclude: tuple[str, ...] = (), before: datetime | None = None,
             zones: frozenset[str | None] | None = None) -> None:
        pool = [t for t in trips if not t.plan.intersection(exclude) and (before is None or t.t0 < before)
                and (zones is None or _spots(t, zones))]
        for t in rng.sample(pool, min(len(pool), round(rate * len(trips)))):
            t.plan.add(flag)

    pick("late", 0.05, before=datetime(2012, 9, 18, tzinfo=UTC))
    pick("lost", 0.04, ("late",), datetime(2012, 9, 20, tzinfo=UTC))
    pick("loss", 0.09, ("lost",))
    pick("loss_nm", 0.04, ("lost", "loss"))
    pick("pay_stop", 0.035, ("lost",))
    pick("long_stop", 0.035, ("lost",), zones=HOSTILE)
    pick("calm_stop_nm", 0.04, ("lost",), zones=CALM)
    pick("dest_stop_nm", 0.03, ("lost",))
    pick("sanction", 0.04)
    pick("name_nm", 0.02, ("sanction",))


_SPOTS: dict[tuple[Any, ...], list[float]] = {}


def _spots(trip: Trip, allowed: frozenset[str | None]) -> list[float]:
    """Fractions of the route > 5 km from both ends whose zone status is in `allowed` (cached)."""
    key = (tuple(map(tuple, trip.route)), allowed)
    if key not in _SPOTS:
        ends = ((trip.origin.lat, trip.origin.lon), (trip.dest.lat, trip.dest.lon))
        points = {f / 100: _along(trip.route, f / 100) for f in range(3, 98)}
        _SPOTS[key] = [f for f, (lat, lon) in points.items() if _statuses(lat, lon) <= allowed
                       and min(_km(lat, lon, *end) for end in ends) > 5]
    return _SPOTS[key]


HOSTILE: frozenset[str | None] = frozenset({"armed_group", "contested"})
CALM: frozenset[str | None] = frozenset({"government", None})


def _mid_stops(rng: random.Random, trip: Trip) -> list[tuple[float, float, str, str | None, bool]]:
    """Stops on the way: (fraction, minutes, reason, actor, payment demanded)."""
    stops: list[tuple[float, float, str, str | None, bool]] = []
    if rng.random() < 0.45:  # short rest: never qualifies
        stops.append((rng.uniform(0.25, 0.75), rng.uniform(15, 40), "rest", None, False))
    if "long_stop" in trip.plan:  # >= 60 min inside armed_group/contested, away from both ends
        f = rng.choice(_spots(trip, HOSTILE))
        stops.append((f, rng.uniform(60, 240), rng.choice(["checkpoint", "breakdown", "other"]), None, False))
    if "pay_stop" in trip.plan:
        stops.append((rng.uniform(0.2, 0.8), rng.uniform(10, 40), "checkpoint", rng.choice(ACTORS), True))
    if "calm_stop_nm" in trip.plan:  # long breakdown, but in government territory or no zone
        stops.append((rng.choice(_spots(trip, CALM)), rng.uniform(60, 180), "breakdown", None, False))
    return sorted(stops)


def _drive(b: _Builder, trip: Trip) -> None:
    """Dispatch, stops, positions every 30-60 min along the route, and the receipt."""
    rng, route, plan = b.rng, trip.route, trip.plan
    stops: list[tuple[datetime, datetime, float, float, str, str | None, bool]] = []
    t = trip.t0 + _minutes(5, 15, rng)
    if rng.random() < 0.15:  # loading near the origin: long but < 1 km from it
        lat, lon = _move(trip.origin.lat, trip.origin.lon, rng.uniform(0.2, 0.9), rng.uniform(0, 360))
        end = t + _minutes(60, 150, rng)
        stops.append((t, end, lat, lon, "loading", None, False))
        t = end + _minutes(5, 15, rng)
    depart, mids = t, _mid_stops(rng, trip)
    length = sum(_km(p[1], p[0], q[1], q[0]) for p, q in pairwise(route))
    drive = timedelta(hours=length / rng.uniform(18, 30))
    if "late" in plan:  # crawls in: arrives 12-36 h after expected_arrival + 24 h
        trip.expected = (trip.t0 + timedelta(hours=rng.uniform(24, 48))).replace(microsecond=0)
        target = trip.expected + timedelta(hours=24 + rng.uniform(12, 36))
        drive = target - depart - sum((timedelta(minutes=m[1]) for m in mids), timedelta())
    marks, done = [(depart, 0.0)], 0.0
    for f, minutes, reason, actor, paid in mids:
        t += drive * (f - done)
        lat, lon = _along(route, f)
        stops.append((t, t + timedelta(minutes=minutes), lat, lon, reason, actor, paid))
        marks += [(t, f), (t + timedelta(minutes=minutes), f)]
        t, done = t + timedelta(minutes=minutes), f
    arrival = t + drive * (1 - done)
    marks.append((arrival, 1.0))
    cut = depart + (arrival - depart) * rng.uniform(0.3, 0.9) if "lost" in plan else arrival
    _track(b, trip, marks, cut, length / drive.total_seconds() * 3600)
    if "dest_stop_nm" in plan:  # long wait at the gate, ~1 km from the destination
        lat, lon = _move(trip.dest.lat, trip.dest.lon, rng.uniform(0.5, 1.3), rng.uniform(0, 360))
        start = arrival + _minutes(5, 20, rng)
        stops.append((start, start + _minutes(60, 180, rng), lat, lon, "other", None, False))
        arrival = stops[-1][1]
    for start, end, lat, lon, reason, actor, paid in stops:
        if end <= cut or "lost" not in plan:
            data = {"shipment_id": trip.sid, "lat": round(lat, 5), "lon": round(lon, 5), "started_at": _iso(start),
                    "ended_at": _iso(end), "reason": reason} | ({"reported_actor": actor} if actor else {})
            b.emit("convoy.stop", end, trip.sid, data | ({"payment_demanded": True} if paid else {}))
    received_at = arrival + _minutes(30, 180, rng)
    if "late" not in plan:
        trip.expected = max(trip.t0 + timedelta(hours=rng.uniform(24, 72)), received_at + _minutes(60, 360, rng))
    _paperwork(b, trip, None if "lost" in plan else received_at)


def _track(b: _Builder, trip: Trip, marks: list[tuple[datetime, float]], cut: datetime, speed: float) -> None:
    rng = b.rng
    total = (marks[-1][0] - marks[0][0]).total_seconds() / 60
    stretch = max(1.0, total / (45 * 30))  # long (late) trips report less often
    t = marks[0][0] + _minutes(5, 20, rng)
    while t < cut:
        for (t1, f1), (t2, f2) in pairwise(marks):
            if t <= t2:
                f = f1 if t2 == t1 else f1 + (f2 - f1) * ((t - t1) / (t2 - t1))
                break
        lat, lon = _move(*_along(trip.route, f), rng.uniform(0, 0.25), rng.uniform(0, 360))
        moving = f1 != f2
        data = {"shipment_id": trip.sid, "lat": round(lat, 5), "lon": round(lon, 5),
                "speed_kmh": round(speed * rng.uniform(0.8, 1.2), 1) if moving else 0.0}
        trip.positions.append(b.emit("convoy.position", t, trip.sid, data))
        trip.fractions.append(f)
        t += _minutes(30, 60, rng) * stretch


def _paperwork(b: _Builder, trip: Trip, received_at: datetime | None) -> None:
    """shipment.dispatched and (unless lost) shipment.received, names planted as planned."""
    rng, dest = b.rng, trip.dest
    items = [{"commodity": "sorghum", "unit": "mt", "quantity": round(rng.uniform(8, 30), 1)}]
    if rng.random() < 0.8:
        items.append({"commodity": "pulses", "unit": "kg", "quantity": rng.randrange(500, 4000, 50)})
    if rng.random() < 0.6:
        items.append({"commodity": "veg_oil", "unit": "l", "quantity": rng.randrange(200, 1200, 20)})
    if dest.kind == "camp" and rng.random() < 0.5:
        items.append({"commodity": "csb", "unit": "kg", "quantity": rng.randrange(1000, 5000, 100)})
    pid, name, _, aliases = rng.choice(PARTNERS[:6])
    parties = {"transporter": {"partner_id": pid, "name": rng.choice([name, name, *aliases])},
               "consignee": {"partner_id": dest.consignee, "name": PARTNER_NAMES[dest.consignee]}}
    parties["receiver"] = dict(parties["consignee"])
    for flag, name_of in (("sanction", _sanctioned_variant), ("name_nm", lambda r: r.choice(NEAR_MISSES))):
        if flag in trip.plan:
            roles = ["transporter", "transporter", "consignee"] + (["receiver"] if received_at else [])
            parties[rng.choice(roles)] = {"partner_id": f"PRT-X{rng.randrange(100, 999)}", "name": name_of(rng)}
    origin = {"site_id": trip.origin.site_id, "lat": trip.origin.lat, "lon": trip.origin.lon}
    data = {"shipment_id": trip.sid, "waybill": f"WB-MLI-2012-{trip.sid[-5:]}", "origin": origin,
            "destination": {"site_id": dest.site_id, "lat": dest.lat, "lon": dest.lon},
            "transporter": parties["transporter"], "consignee": parties["consignee"], "items": items,
            "planned_route": trip.route, "expected_arrival": _iso(trip.expected)}
    b.emit("shipment.dispatched", trip.t0, trip.sid, data)
    if received_at is not None:
        data = {"shipment_id": trip.sid, "site_id": dest.site_id, "receiver": parties["receiver"],
                "items": _received(rng, items, trip.plan)}
        trip.receipt = b.emit("shipment.received", received_at, trip.sid, data)


def _sanctioned_variant(rng: random.Random) -> str:
    """A listed name or alias as a waybill might write it: case, accents, order, commas."""
    listed = rng.choice(SANCTIONED)
    name = rng.choice([listed.name, *listed.aliases])
    style = rng.choice(["plain", "upper", "accents", "reorder", "comma"])
    tokens = name.split()
    if style == "upper":
        return name.upper()
    if style == "accents":
        return name.replace("e", "é", 1).replace("i", "ï", 1).replace("a", "à", 1)
    if style == "reorder":
        return " ".join(tokens[1:] + tokens[:1])
    if style == "comma" and len(tokens) > 1:
        return f"{tokens[-1].upper()}, {' '.join(tokens[:-1])}"
    return name


def _received(rng: random.Random, items: list[dict[str, Any]], plan: set[str]) -> list[dict[str, Any]]:
    """What arrived: normal losses < 1.2 %, near misses 1-1.9 %, planted 3-20 % or missing."""
    kinds = ["normal"] * len(items)
    if "loss" in plan:
        j = rng.randrange(len(items))
        kinds[j] = "missing" if len(items) > 1 and rng.random() < 0.35 else "loss"
    elif "loss_nm" in plan:
        kinds[rng.randrange(len(items))] = "near"
    rows = []
    for item, kind in zip(items, kinds, strict=True):
        kg = item["quantity"] * (1000 if item["unit"] == "mt" else 1)
        if kind == "missing":
            continue
        if kind == "loss":
            got = math.floor(kg * (1 - rng.uniform(0.03, 0.20)))
        else:
            loss = rng.uniform(0.01, 0.019) if kind == "near" else rng.choice([0.0, rng.uniform(0, 0.012)])
            got = math.ceil(kg * (1 - loss))
        row: dict[str, Any] = {"commodity": item["commodity"], "unit": item["unit"], "quantity": got}
        if item["unit"] == "mt":
            row |= {"quantity": got / 1000} if rng.random() < 0.5 else {"unit": "kg"}
        damaged = math.floor(got * rng.uniform(0, 0.01)) if rng.random() < 0.5 else 0
        if damaged:
            row["damaged"] = damaged / 1000 if row["unit"] == "mt" else damaged
        rows.append(row)
    return rows


def _displace(rng: random.Random, trip: Trip, k: int, km: tuple[float, float]) -> bool:
    """Push `k` consecutive positions `km` sideways off the route (>= 7 km from it), if possible."""
    pos = trip.positions
    for _ in range(10):
        j = rng.randrange(2, len(pos) - k - 1)
        distance, side = rng.uniform(*km), rng.choice((90.0, -90.0))
        moved = [_move(p.data["lat"], p.data["lon"], distance, _heading(trip.route, f) + side)
                 for p, f in zip(pos[j:j + k], trip.fractions[j:j + k], strict=True)]
        if all(_off_route_km(lat, lon, trip.route) >= 7 for lat, lon in moved):
            for p, (lat, lon) in zip(pos[j:j + k], moved, strict=True):
                p.data["lat"], p.data["lon"] = round(lat, 5), round(lon, 5)
            return True
    return False


def _deviations(rng: random.Random, trips: list[Trip]) -> None:
    """~4 % of tracks leave the road for 3-5 fixes; ~3 % have one isolated stray fix."""
    eligible = [t for t in trips if len(t.positions) >= 9 and "lost" not in t.plan]
    chosen = rng.sample(eligible, min(len(eligible), round(0.07 * len(trips))))
    for n, trip in enumerate(chosen):
        if n < round(0.04 * len(trips)):
            if _displace(rng, trip, rng.randint(3, 5), (8, 40)):
                trip.plan.add("deviate")
        elif _displace(rng, trip, 1, (8, 15)):
            trip.plan.add("offroute_nm")


# --- incidents --------------------------------------------------------------------------


class _Tracks:
    """Every convoy position, bucketed by hour, to ask who was near a place and time."""

    def __init__(self, trips: list[Trip]) -> None:
        self.hours: dict[int, list[tuple[float, float, float, str]]] = defaultdict(list)
        for trip in trips:
            for p in trip.positions:
                epoch = p.time.timestamp()
                self.hours[int(epoch // 3600)].append((epoch, p.data["lat"], p.data["lon"], trip.sid))

    def near(self, lat: float, lon: float, when: datetime, km: float, hours: float) -> set[str]:
        epoch, span = when.timestamp(), hours * 3600
        return {sid for h in range(int((epoch - span) // 3600), int((epoch + span) // 3600) + 1)
                for t, plat, plon, sid in self.hours.get(h, ()) if abs(t - epoch) <= span
                and _km(lat, lon, plat, plon) <= km}


def _incidents(b: _Builder, trips: list[Trip]) -> set[str]:
    """Incidents near (or naming) ~11 % of shipments, and decoys that must not fire.

    An incident fires for every shipment with a position <= 9 km and <= 5.5 h away and is
    only placed where no position lies in the band up to 11 km and 6.5 h, so no rounding
    or radius choice flips a result. Busy roads make one incident hit several convoys.
    """
    rng, tracks, hits = b.rng, _Tracks(trips), set[str]()

    def report(lat: float, lon: float, when: datetime, kind: str, sid: str | None = None) -> None:
        incident = f"INC-{len(b.events):06d}"
        data: dict[str, Any] = {"incident_id": incident, "lat": round(lat, 5), "lon": round(lon, 5), "kind": kind}
        if rng.random() < 0.7:
            data["actor"] = rng.choice(ACTORS)
        b.emit("incident.reported", when, incident, data | ({"shipment_id": sid} if sid else {}), OCHA)

    tracked = [t for t in trips if len(t.positions) >= 3]
    for trip in rng.sample(tracked, len(tracked)):
        if len(hits) >= round(0.11 * len(trips)):
            break
        naming = "lost" in trip.plan or rng.random() < 0.25
        for _ in range(20):
            p = rng.choice(trip.positions)
            lat, lon = _move(p.data["lat"], p.data["lon"], rng.uniform(1, 8), rng.uniform(0, 360))
            when = p.time + timedelta(hours=rng.uniform(0, 3) if naming else rng.uniform(-3, 4))
            near = tracks.near(lat, lon, when, 9, 5.5)
            if near == tracks.near(lat, lon, when, 11, 6.5) and (naming or trip.sid in near):
                report(lat, lon, when, rng.choice(["looting", "attack", "checkpoint_extortion"]),
                       trip.sid if naming else None)
                hits |= near | ({trip.sid} if naming else set())
                break
    for n in range(max(8, round(0.08 * len(trips)))):
        for _ in range(20):
            trip = rng.choice(tracked)
            j = rng.randrange(len(trip.positions))
            p, f = trip.positions[j], trip.fractions[j]
            mode = ("far", "later", "kind", "remote")[n % 4]
            if mode == "kind":  # abduction/other right next to a convoy, sometimes naming it
                lat, lon = _move(p.data["lat"], p.data["lon"], rng.uniform(0.5, 5), rng.uniform(0, 360))
                report(lat, lon, p.time + _minutes(0, 90, rng), rng.choice(["abduction", "other"]),
                       trip.sid if rng.random() < 0.5 else None)
                break
            if mode == "far":  # 12-15 km off the road, while the convoy passes
                lat, lon = _move(p.data["lat"], p.data["lon"], rng.uniform(12, 15),
                                 _heading(trip.route, f) + rng.choice((90, -90)))
                when = p.time + timedelta(hours=rng.uniform(-2, 2))
            elif mode == "later":  # on the road, 7.5-8.5 h after the convoy passed
                lat, lon = _move(p.data["lat"], p.data["lon"], rng.uniform(0.5, 3), rng.uniform(0, 360))
                when = p.time + timedelta(hours=rng.choice((-1, 1)) * rng.uniform(7.5, 8.5))
            else:  # deep desert, nobody around
                lat, lon = rng.uniform(17.5, 20.5), rng.uniform(-4.0, 0.5)
                when = START + timedelta(days=rng.uniform(1, 90))
            if not tracks.near(lat, lon, when, 11, 6.5):
                report(lat, lon, when, rng.choice(["looting", "attack", "checkpoint_extortion"]))
                break
    return hits


# --- distributions ----------------------------------------------------------------------


@dataclass
class Visit:
    """A planned extra distribution: duplicates, the raw id, and over-distribution plants."""

    site: str
    rnd: int
    day: int
    beneficiary: str
    forced: tuple[str, ...] = ()  # commodities handed out whatever the stock


def _kilograms(items: list[dict[str, Any]]) -> dict[str, float]:
    """Kilograms per commodity (`mt` is 1000 kg, `l` counts as kg)."""
    totals = Counter[str]()
    for item in items:
        totals[item["commodity"]] += item["quantity"] * (1000 if item["unit"] == "mt" else 1)
    return dict(totals)


def _token(rng: random.Random) -> str:
    return f"tok_{rng.getrandbits(128):032x}"


def _round_day(rng: random.Random, rnd: int) -> int:
    return rnd * ROUND_DAYS + rng.randrange(min(ROUND_DAYS, DAYS - rnd * ROUND_DAYS))


def _visits(rng: random.Random, pools: dict[str, list[str]], shipments: int) -> list[Visit]:
    weights = [p.weight for p in POINTS]
    visits = []
    for _ in range(max(5, round(shipments / 6))):  # same token twice in a round
        rnd, first = rng.randrange(1, 6), rng.choices(POINTS, weights)[0]
        second = first if rng.random() < 0.6 else rng.choices(POINTS, weights)[0]
        token = rng.choice(pools[first.site_id])
        visits += [Visit(s.site_id, rnd, _round_day(rng, rnd), token) for s in (first, second)]
    raw = f"MLI-MBR-{rng.randrange(10000, 100000)}"  # a raw id: its token depends on the secret
    visits += [Visit("CMP-MBR", 4, _round_day(rng, 4), raw) for _ in range(2)]
    for token in rng.sample(pools["DP-KID"], rng.randint(15, 30)):  # before any receipt
        visits.append(Visit("DP-KID", 0, 0, token, ("sorghum",)))
    rnd = rng.randrange(1, 6)
    for token in rng.sample(pools["DP-MEN"], rng.randint(12, 25)):  # csb never reaches Menaka
        visits.append(Visit("DP-MEN", rnd, rnd * ROUND_DAYS, token, ("csb",)))
    return visits


def _ration(size: int, received: Counter[str], given: Counter[str], share: float | None,
            forced: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Items for a household of `size`, within `share` of the stock received (None: no check)."""
    items: list[dict[str, Any]] = []
    for commodity, (unit, per_person) in RATION.items():
        quantity = round(per_person * size, 2)
        if forced:
            wanted = commodity in forced
        elif share is None:
            wanted = commodity in ("sorghum", "pulses")
        else:
            wanted = given[commodity] + quantity <= share * received[commodity]
        if wanted:
            items.append({"commodity": commodity, "unit": unit, "quantity": quantity})
    if share is not None and not forced and items[:1] != [] and items[0]["commodity"] != "sorghum":
        return []  # no staple in stock: the household comes back another day
    for item in items:
        given[item["commodity"]] += item["quantity"]
    return items


def _serve(b: _Builder, site: Site, receipts: list[tuple[datetime, dict[str, float], str]], pool: list[str],
           visits: list[Visit], rules: dict[int, tuple[int, float | None]]) -> None:
    """Day by day: planned visits first, then households in random order, while stock lasts."""
    rng, received, given, k, last = b.rng, Counter[str](), Counter[str](), 0, ""
    source = "/agencies/unhcr/mrt" if site.kind == "camp" else WFP
    order: list[str] = []
    served: set[str] = set()
    for day in range(DAYS):
        rnd = day // ROUND_DAYS
        if day % ROUND_DAYS == 0:
            order, served, at = rng.sample(pool, len(pool)), set(), 0
        opens = START + timedelta(days=day, hours=8)
        while k < len(receipts) and receipts[k][0] < opens:
            received.update(receipts[k][1])
            last, k = receipts[k][2], k + 1
        target, share = rules.get(rnd, (int(0.9 * site.caseload), SHARE))
        due = [v for v in visits if v.rnd == rnd and v.day <= day]
        if not due and rnd not in rules and rng.random() > 0.7:
            continue
        rows = []
        for v in due:
            size = rng.randint(2, 10)
            items = _ration(size, received, given, share and max(share, 0.9), v.forced)
            if items:
                rows.append((v.beneficiary, size, items))
                served.add(v.beneficiary)
                visits.remove(v)
        cap = site.caseload // 3 + 1 if rnd in rules else max(15, site.caseload // 5)
        while len(served) < target and len(rows) < cap and at < len(order):
            if order[at] not in served:
                size = rng.randint(2, 10)
                items = _ration(size, received, given, share)
                if not items:
                    break
                rows.append((order[at], size, items))
                served.add(order[at])
            at += 1
        times = sorted(opens + timedelta(seconds=rng.uniform(0, 9 * 3600)) for _ in rows)
        for when, (beneficiary, size, items) in zip(times, rows, strict=True):
            data = {"site_id": site.site_id, "round_id": f"R2012-{rnd + 1:02d}", "beneficiary": beneficiary,
                    "household_size": size, "items": items}
            if last and rng.random() < 0.2:
                data["shipment_id"] = last
            b.emit("distribution.recorded", when, site.site_id, data, source)


def _distributions(b: _Builder, trips: list[Trip], shipments: int) -> dict[str, list[str]]:
    """Rounds at every point; plants over-distribution at Kidal (before receipts), Menaka
    (csb never received) and Ansongo (116 % of caseload); Bourem serves 105 % (near miss)."""
    rng = b.rng
    pools = {p.site_id: [_token(rng) for _ in range(math.ceil(1.3 * p.caseload))] for p in POINTS}
    visits = _visits(rng, pools, shipments)
    receipts: dict[str, list[tuple[datetime, dict[str, float], str]]] = defaultdict(list)
    for trip in trips:
        if trip.receipt is not None:
            receipts[trip.dest.site_id].append((trip.receipt.time, _kilograms(trip.receipt.data["items"]), trip.sid))
    rules: dict[str, dict[int, tuple[int, float | None]]] = {
        "DP-ANS": {rng.randrange(1, 6): (math.ceil(1.16 * SITES["DP-ANS"].caseload), None)},
        "DP-BRM": {5: (math.ceil(1.05 * SITES["DP-BRM"].caseload), 0.9)}}
    for p in POINTS:
        mine = [v for v in visits if v.site == p.site_id]
        _serve(b, p, sorted(receipts[p.site_id], key=lambda r: (r[0], r[2])), pools[p.site_id], mine,
               rules.get(p.site_id, {}))
    return pools


# --- feedback ---------------------------------------------------------------------------


def _feedback(b: _Builder, pools: dict[str, list[str]], shipments: int) -> str:
    """Scattered partial/other feedback; 6-12 non-receipt reports in 3 days at one site,
    4 in 5 days at another (near miss), and two isolated ones elsewhere. Returns the planted site."""
    rng, ids = b.rng, [p.site_id for p in POINTS]

    def say(site: str, day: float, category: str) -> None:
        data: dict[str, Any] = {"site_id": site, "category": category}
        if rng.random() < 0.7:
            data["round_id"] = f"R2012-{min(5, int(day) // ROUND_DAYS) + 1:02d}"
        if rng.random() < 0.6:
            data["beneficiary"] = rng.choice(pools[site])
        b.emit("feedback.received", START + timedelta(days=day), site, data, "/agencies/wfp/mli/hotline")

    for _ in range(max(10, shipments // 4)):
        say(rng.choice(ids), rng.uniform(0, DAYS), rng.choice(["partial", "partial", "other"]))
    planted, near = rng.sample(ids, 2)
    start = rng.uniform(20, 80)
    for _ in range(rng.randint(6, 12)):
        say(planted, start + rng.uniform(0, 3), rng.choice(["not_received"] * 4 + ["payment_demanded"]))
    start = rng.uniform(20, 80)
    for _ in range(4):
        say(near, start + rng.uniform(0, 5), "not_received")
    for site in ids:
        if site not in (planted, near):
            say(site, rng.uniform(2, 25), "not_received")
            say(site, rng.uniform(55, 90), "payment_demanded")
    say("CMP-MBR", DAYS - 0.15, "other")  # closes the stream well after every deadline
    return planted


# --- truth ------------------------------------------------------------------------------


def _truth(events: list[Ev], trips: list[Trip], hits: set[str], site: str) -> tuple[list[list[str]], list[str]]:
    """Shipment findings as planted (incidents: as placed, with margins); distribution
    findings by the contract's rules over the events themselves."""
    found = {("incident_nearby", sid) for sid in hits} | {("non_receipt_feedback", site)}
    by_flag = {"loss": "transit_loss", "deviate": "route_deviation", "pay_stop": "unscheduled_stop",
               "long_stop": "unscheduled_stop", "late": "overdue_shipment", "lost": "overdue_shipment",
               "sanction": "sanctioned_party"}
    found |= {(by_flag[flag], t.sid) for t in trips for flag in t.plan if flag in by_flag}
    rounds: dict[tuple[str, str], set[str]] = defaultdict(set)
    visits: Counter[tuple[str, str]] = Counter()
    flows: dict[str, list[tuple[datetime, int, dict[str, float]]]] = defaultdict(list)
    for ev in events:
        d = ev.data
        if ev.type == "shipment.received":
            flows[d["site_id"]].append((ev.time, 0, _kilograms(d["items"])))
        elif ev.type == "distribution.recorded":
            rounds[(d["site_id"], d["round_id"])].add(d["beneficiary"])
            visits[(d["round_id"], d["beneficiary"])] += 1
            flows[d["site_id"]].append((ev.time, 1, _kilograms(d["items"])))
    found |= {("over_distribution", site) for (site, _), people in rounds.items()
              if len(people) > 1.10 * SITES[site].caseload}
    for site, rows in flows.items():
        received, given = Counter[str](), Counter[str]()
        for _, kind, items in sorted(rows, key=lambda r: (r[0], r[1])):
            (received if kind == 0 else given).update(items)
            if kind == 1 and any(given[c] > 1.02 * received[c] for c in items):
                found.add(("over_distribution", site))
    found |= {("duplicate_collection", who) for (_, who), n in visits.items() if n > 1 and who.startswith("tok_")}
    raw_ids = sorted({who for (_, who), n in visits.items() if n > 1 and not who.startswith("tok_")})
    return sorted([list(f) for f in found]), raw_ids


# --- noise and output -------------------------------------------------------------------


def _malformed(rng: random.Random, positions: list[Ev], handouts: list[Ev], kind: int) -> str:
    """One broken line of kind 0-9; it copies a real event under a fresh id."""
    ev = rng.choice(handouts if kind in (7, 9) else positions)
    body = json.loads(ev.line(id=str(uuid.UUID(int=rng.getrandbits(128), version=4))))
    if kind == 0:
        return f"{ev.subject};{_iso(ev.time)};position;{ev.data.get('lat')};{ev.data.get('lon')}"
    if kind == 1:
        text = json.dumps(body, ensure_ascii=False)
        return text[: len(text) // 2]
    if kind == 2:
        return json.dumps([body], ensure_ascii=False)
    edits = {3: lambda: body.update(type="convoy.teleported"), 4: lambda: body.pop("time"),
             5: lambda: body["data"].update(lon="west"), 6: lambda: body["data"].update(lat=123.4),
             7: lambda: body["data"]["items"][0].update(quantity=-5), 8: lambda: body.update(time="2012-07-05 10:00"),
             9: lambda: body.update(subject="DP-XXX")}
    edits[kind]()
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _arrange(seed: int, events: list[Ev], trips: list[Trip], findings: list[list[str]],
             noise: bool) -> tuple[list[str], dict[str, int]]:
    """Arrival order: clean and time-ordered, or with duplicates, shuffles, early receipts, rejects."""
    counts = {"events": len(events), "lines": len(events), "duplicates": 0, "malformed": 0, "early_receipts": 0}
    if not noise:
        order = sorted(range(len(events)), key=lambda i: (events[i].time, events[i].type not in REFERENCE, i))
        return [events[i].line() for i in order], counts
    rng = random.Random(f"noise-{seed}")  # noqa: S311 - a seeded simulation, not secrets
    keyed = [(e.time.timestamp() + (rng.uniform(0, 240) if e.type == "convoy.position" else 0), i, e.line())
             for i, e in enumerate(events)]
    flagged = {sid for _, sid in findings}
    clean = [t for t in trips if t.receipt and not t.plan and t.sid not in flagged]
    for trip in rng.sample(clean, min(2, len(clean))):  # the receipt arrives before its dispatch
        i = events.index(trip.receipt)  # type: ignore[arg-type]
        keyed[i] = (trip.t0.timestamp() - rng.uniform(60, 1800), i, keyed[i][2])
        counts["early_receipts"] += 1
    for i in rng.sample(range(len(events)), round(0.01 * len(events))):
        keyed.append((keyed[i][0] + rng.uniform(60, 6 * 3600), len(keyed), keyed[i][2]))
        counts["duplicates"] += 1
    positions = [e for e in events if e.type == "convoy.position"]
    handouts = [e for e in events if e.type == "distribution.recorded"]
    for n in range(36):
        line = _malformed(rng, positions, handouts, n % 10)
        keyed.append((START.timestamp() + rng.uniform(0, DAYS * 86400), len(keyed), line))
        counts["malformed"] += 1
    lines = [line for _, _, line in sorted(keyed)]
    counts["lines"] = len(lines)
    return lines, counts


class _Builder:
    """The seeded random stream and the events emitted so far."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - a seeded simulation, not secrets
        self.events: list[Ev] = []

    def emit(self, type_: str, time: datetime, subject: str, data: dict[str, Any], source: str = WFP) -> Ev:
        ev = Ev(time.replace(microsecond=0), type_, subject, data,
                str(uuid.UUID(int=self.rng.getrandbits(128), version=4)), source)
        self.events.append(ev)
        return ev


def generate(seed: int = 7, shipments: int = 150, noise: bool = True) -> Synthetic:
    """A deterministic stream of ~87 events per shipment and its ground truth."""
    b = _Builder(seed)
    _reference(b)
    trips = _trips(b, shipments)
    for trip in trips:
        _drive(b, trip)
    _deviations(b.rng, trips)
    hits = _incidents(b, trips)
    pools = _distributions(b, trips, shipments)
    feedback_site = _feedback(b, pools, shipments)
    findings, raw_ids = _truth(b.events, trips, hits, feedback_site)
    lines, counts = _arrange(seed, b.events, trips, findings, noise)
    return Synthetic(lines, {"findings": findings, "raw_ids": raw_ids, "noise": counts})


def write(path: str | Path, synthetic: Synthetic) -> None:
    """One line per event, UTF-8, each ending in a newline."""
    with open(path, "w", encoding="utf-8") as out:
        out.writelines(line + "\n" for line in synthetic.lines)


def sanctions_xml() -> str:
    """`SANCTIONED` as a UN consolidated-list XML document."""
    root = ET.Element("CONSOLIDATED_LIST", dateGenerated="2012-06-28T00:00:00.000Z")
    groups = {"individual": ET.SubElement(root, "INDIVIDUALS"), "entity": ET.SubElement(root, "ENTITIES")}
    for n, listed in enumerate(SANCTIONED, 1):
        tag = listed.kind.upper()
        entry = ET.SubElement(groups[listed.kind], tag)
        fields = [("DATAID", str(9900000 + n)), ("VERSIONNUM", "1")]
        fields += list(zip(("FIRST_NAME", "SECOND_NAME", "THIRD_NAME"), listed.parts, strict=False))
        fields += [("UN_LIST_TYPE", "Al-Qaida"), ("REFERENCE_NUMBER", listed.reference), ("LISTED_ON", "2011-11-30")]
        for name, text in fields:
            ET.SubElement(entry, name).text = text
        for alias in listed.aliases:
            node = ET.SubElement(entry, f"{tag}_ALIAS")
            ET.SubElement(node, "QUALITY").text = "Good"
            ET.SubElement(node, "ALIAS_NAME").text = alias
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
