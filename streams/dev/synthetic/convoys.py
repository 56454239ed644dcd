"""Convoys on the road: stops, position tracks, deviations, and security incidents near them."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from streams.dev.synthetic.geometry import distance_km, heading_at, move, off_route_km, point_along
from streams.dev.synthetic.mixes import Mix
from streams.dev.synthetic.places import ACTORS
from streams.dev.synthetic.records import OCHA, START, Builder, iso, minutes_between
from streams.dev.synthetic.shipments import CALM, HOSTILE, Trip, paperwork, spots


def _mid_stops(rng: random.Random, trip: Trip) -> list[tuple[float, float, str, str | None, bool]]:
    """Stops on the way: (fraction, minutes, reason, actor, payment demanded)."""
    stops: list[tuple[float, float, str, str | None, bool]] = []
    if rng.random() < 0.45:  # short rest: never qualifies
        stops.append((rng.uniform(0.25, 0.75), rng.uniform(15, 40), "rest", None, False))
    if "long_stop" in trip.plan:  # >= 60 min inside armed_group/contested, away from both ends
        f = rng.choice(spots(trip, HOSTILE))
        stops.append((f, rng.uniform(60, 240), rng.choice(["checkpoint", "breakdown", "other"]), None, False))
    if "pay_stop" in trip.plan:
        stops.append((rng.uniform(0.2, 0.8), rng.uniform(10, 40), "checkpoint", rng.choice(ACTORS), True))
    if "calm_stop_nm" in trip.plan:  # long breakdown, but in government territory or no zone
        stops.append((rng.choice(spots(trip, CALM)), rng.uniform(60, 180), "breakdown", None, False))
    return sorted(stops)


def drive_convoy(b: Builder, trip: Trip, mix: Mix) -> None:
    """Dispatch, stops, positions along the route (every 30-60 min by default), and the receipt."""
    rng, route, plan = b.rng, trip.route, trip.plan
    stops: list[tuple[datetime, datetime, float, float, str, str | None, bool]] = []
    t = trip.t0 + minutes_between(5, 15, rng)
    if rng.random() < 0.15:  # loading near the origin: long but < 1 km from it
        lat, lon = move(trip.origin.lat, trip.origin.lon, rng.uniform(0.2, 0.9), rng.uniform(0, 360))
        end = t + minutes_between(60, 150, rng)
        stops.append((t, end, lat, lon, "loading", None, False))
        t = end + minutes_between(5, 15, rng)
    depart, mids = t, _mid_stops(rng, trip)
    length = sum(distance_km(p[1], p[0], q[1], q[0]) for p, q in pairwise(route))
    drive = timedelta(hours=length / rng.uniform(18, 30))
    if "late" in plan:  # crawls in: arrives 12-36 h after expected_arrival + 24 h
        trip.expected = (trip.t0 + timedelta(hours=rng.uniform(24, 48))).replace(microsecond=0)
        target = trip.expected + timedelta(hours=24 + rng.uniform(12, 36))
        drive = target - depart - sum((timedelta(minutes=m[1]) for m in mids), timedelta())
    marks, done = [(depart, 0.0)], 0.0
    for f, minutes, reason, actor, paid in mids:
        t += drive * (f - done)
        lat, lon = point_along(route, f)
        stops.append((t, t + timedelta(minutes=minutes), lat, lon, reason, actor, paid))
        marks += [(t, f), (t + timedelta(minutes=minutes), f)]
        t, done = t + timedelta(minutes=minutes), f
    arrival = t + drive * (1 - done)
    marks.append((arrival, 1.0))
    cut = depart + (arrival - depart) * rng.uniform(0.3, 0.9) if "lost" in plan else arrival
    _track(b, trip, marks, cut, length / drive.total_seconds() * 3600, mix)
    if "dest_stop_nm" in plan:  # long wait at the gate, ~1 km from the destination
        lat, lon = move(trip.dest.lat, trip.dest.lon, rng.uniform(0.5, 1.3), rng.uniform(0, 360))
        start = arrival + minutes_between(5, 20, rng)
        stops.append((start, start + minutes_between(60, 180, rng), lat, lon, "other", None, False))
        arrival = stops[-1][1]
    for start, end, lat, lon, reason, actor, paid in stops:
        if end <= cut or "lost" not in plan:
            data = {"shipment_id": trip.sid, "lat": round(lat, 5), "lon": round(lon, 5), "started_at": iso(start),
                    "ended_at": iso(end), "reason": reason} | ({"reported_actor": actor} if actor else {})
            b.emit("convoy.stop", end, trip.sid, data | ({"payment_demanded": True} if paid else {}))
    received_at = arrival + minutes_between(30, 180, rng)
    if "late" not in plan:
        trip.expected = max(trip.t0 + timedelta(hours=rng.uniform(24, 72)), received_at + minutes_between(60, 360, rng))
    paperwork(b, trip, None if "lost" in plan else received_at)


def _track(b: Builder, trip: Trip, marks: list[tuple[datetime, float]], cut: datetime, speed: float,
           mix: Mix) -> None:
    rng, (shortest, longest) = b.rng, mix.fix_minutes
    total = (marks[-1][0] - marks[0][0]).total_seconds() / 60
    stretch = max(1.0, total / mix.fix_span_minutes)  # long (late) trips report less often
    t = marks[0][0] + minutes_between(5, 20, rng)
    while t < cut:
        for (t1, f1), (t2, f2) in pairwise(marks):
            if t <= t2:
                f = f1 if t2 == t1 else f1 + (f2 - f1) * ((t - t1) / (t2 - t1))
                break
        lat, lon = move(*point_along(trip.route, f), rng.uniform(0, 0.25), rng.uniform(0, 360))
        moving = f1 != f2
        data = {"shipment_id": trip.sid, "lat": round(lat, 5), "lon": round(lon, 5),
                "speed_kmh": round(speed * rng.uniform(0.8, 1.2), 1) if moving else 0.0}
        trip.positions.append(b.emit("convoy.position", t, trip.sid, data))
        trip.fractions.append(f)
        t += minutes_between(shortest, longest, rng) * stretch


def _displace(rng: random.Random, trip: Trip, k: int, km: tuple[float, float]) -> bool:
    """Push `k` consecutive positions `km` sideways off the route (>= 7 km from it), if possible."""
    pos = trip.positions
    for _ in range(10):
        j = rng.randrange(2, len(pos) - k - 1)
        distance, side = rng.uniform(*km), rng.choice((90.0, -90.0))
        moved = [move(p.data["lat"], p.data["lon"], distance, heading_at(trip.route, f) + side)
                 for p, f in zip(pos[j:j + k], trip.fractions[j:j + k], strict=True)]
        if all(off_route_km(lat, lon, trip.route) >= 7 for lat, lon in moved):
            for p, (lat, lon) in zip(pos[j:j + k], moved, strict=True):
                p.data["lat"], p.data["lon"] = round(lat, 5), round(lon, 5)
            return True
    return False


def add_deviations(rng: random.Random, trips: list[Trip]) -> None:
    """~4 % of tracks leave the road for 3-5 fixes; ~3 % have one isolated stray fix."""
    eligible = [t for t in trips if len(t.positions) >= 9 and "lost" not in t.plan]
    chosen = rng.sample(eligible, min(len(eligible), round(0.07 * len(trips))))
    for n, trip in enumerate(chosen):
        if n < round(0.04 * len(trips)):
            if _displace(rng, trip, rng.randint(3, 5), (8, 40)):
                trip.plan.add("deviate")
        elif _displace(rng, trip, 1, (8, 15)):
            trip.plan.add("offroute_nm")


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
                and distance_km(lat, lon, plat, plon) <= km}


def emit_incidents(b: Builder, trips: list[Trip]) -> set[str]:
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
            lat, lon = move(p.data["lat"], p.data["lon"], rng.uniform(1, 8), rng.uniform(0, 360))
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
                lat, lon = move(p.data["lat"], p.data["lon"], rng.uniform(0.5, 5), rng.uniform(0, 360))
                report(lat, lon, p.time + minutes_between(0, 90, rng), rng.choice(["abduction", "other"]),
                       trip.sid if rng.random() < 0.5 else None)
                break
            if mode == "far":  # 12-15 km off the road, while the convoy passes
                lat, lon = move(p.data["lat"], p.data["lon"], rng.uniform(12, 15),
                                heading_at(trip.route, f) + rng.choice((90, -90)))
                when = p.time + timedelta(hours=rng.uniform(-2, 2))
            elif mode == "later":  # on the road, 7.5-8.5 h after the convoy passed
                lat, lon = move(p.data["lat"], p.data["lon"], rng.uniform(0.5, 3), rng.uniform(0, 360))
                when = p.time + timedelta(hours=rng.choice((-1, 1)) * rng.uniform(7.5, 8.5))
            else:  # deep desert, nobody around
                lat, lon = rng.uniform(17.5, 20.5), rng.uniform(-4.0, 0.5)
                when = START + timedelta(days=rng.uniform(1, 90))
            if not tracks.near(lat, lon, when, 11, 6.5):
                report(lat, lon, when, rng.choice(["looting", "attack", "checkpoint_extortion"]))
                break
    return hits
