"""Shipments: their plans (planted findings and near misses), waybills and receipts."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from streams.dev.synthetic.geometry import distance_km, plan_route, point_along, statuses
from streams.dev.synthetic.mixes import Mix
from streams.dev.synthetic.places import BASE, NEAR_MISSES, PARTNER_NAMES, PARTNERS, SANCTIONED, Site
from streams.dev.synthetic.records import START, Builder, Ev, iso

HOSTILE: frozenset[str | None] = frozenset({"armed_group", "contested"})
CALM: frozenset[str | None] = frozenset({"government", None})


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


def plan_trips(b: Builder, count: int, mix: Mix) -> list[Trip]:
    rng, routes, points, sites = b.rng, dict[tuple[str, str], list[list[float]]](), mix.points, mix.sites
    starts = sorted(START + timedelta(days=rng.randrange(86), hours=rng.uniform(6, 15)) for _ in range(count))
    trips = []
    for i, t0 in enumerate(starts, 1):
        dest = rng.choices(points, [p.weight for p in points])[0]
        origin = sites[rng.choice(dest.origins)]
        key = (origin.site_id, dest.site_id)
        routes.setdefault(key, plan_route(rng, origin, dest))
        trips.append(Trip(f"SHP-{i:06d}", origin, dest, routes[key], t0.replace(microsecond=0)))
    _assign(rng, trips)
    return trips


def _assign(rng: random.Random, trips: list[Trip]) -> None:
    """Plant flags at the contract's rough rates; `lost` = never received (overdue)."""
    def pick(flag: str, rate: float, exclude: tuple[str, ...] = (), before: datetime | None = None,
             zones: frozenset[str | None] | None = None) -> None:
        pool = [t for t in trips if not t.plan.intersection(exclude) and (before is None or t.t0 < before)
                and (zones is None or spots(t, zones))]
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


def spots(trip: Trip, allowed: frozenset[str | None]) -> list[float]:
    """Fractions of the route > 5 km from both ends whose zone status is in `allowed` (cached)."""
    key = (tuple(map(tuple, trip.route)), allowed)
    if key not in _SPOTS:
        ends = ((trip.origin.lat, trip.origin.lon), (trip.dest.lat, trip.dest.lon))
        points = {f / 100: point_along(trip.route, f / 100) for f in range(3, 98)}
        _SPOTS[key] = [f for f, (lat, lon) in points.items() if statuses(lat, lon) <= allowed
                       and min(distance_km(lat, lon, *end) for end in ends) > 5]
    return _SPOTS[key]


def paperwork(b: Builder, trip: Trip, received_at: datetime | None) -> None:
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
            "planned_route": trip.route, "expected_arrival": iso(trip.expected)}
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
