"""Distances, bearings, points along a route, road-like routes and zone status by point."""

from __future__ import annotations

import math
import random
from itertools import pairwise

from streams.dev.synthetic.places import SEVERITY, ZONES, Site


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine, R = 6371 km)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def move(lat: float, lon: float, km: float, bearing: float) -> tuple[float, float]:
    """The point `km` away towards `bearing` (degrees from north), flat-earth approximation."""
    b = math.radians(bearing)
    return lat + km * math.cos(b) / 111.32, lon + km * math.sin(b) / (111.32 * math.cos(math.radians(lat)))


def bearing_of(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return math.degrees(math.atan2((lon2 - lon1) * math.cos(math.radians(lat1)), lat2 - lat1))


def point_along(route: list[list[float]], f: float) -> tuple[float, float]:
    """(lat, lon) at fraction `f` of the route's length."""
    legs = [distance_km(p[1], p[0], q[1], q[0]) for p, q in pairwise(route)]
    rest = f * sum(legs)
    for (p, q), leg in zip(pairwise(route), legs, strict=True):
        if rest <= leg or q is route[-1]:
            s = min(1.0, rest / leg) if leg else 0.0
            return p[1] + (q[1] - p[1]) * s, p[0] + (q[0] - p[0]) * s
        rest -= leg
    return route[-1][1], route[-1][0]


def heading_at(route: list[list[float]], f: float) -> float:
    a, b = point_along(route, max(0.0, f - 0.01)), point_along(route, min(1.0, f + 0.01))
    return bearing_of(a[0], a[1], b[0], b[1])


def off_route_km(lat: float, lon: float, route: list[list[float]]) -> float:
    """Distance to the nearest point of the polyline (local flat projection, fine at < 1 %)."""
    kx, best = 111.32 * math.cos(math.radians(lat)), math.inf
    for (lo1, la1), (lo2, la2) in pairwise(route):
        ax, ay, dx, dy = (lo1 - lon) * kx, (la1 - lat) * 111.32, (lo2 - lo1) * kx, (la2 - la1) * 111.32
        s = max(0.0, min(1.0, -(ax * dx + ay * dy) / ((dx * dx + dy * dy) or 1.0)))
        best = min(best, math.hypot(ax + s * dx, ay + s * dy))
    return best


def inside(lat: float, lon: float, ring: list[tuple[float, float]]) -> bool:
    hit = False
    for (x1, y1), (x2, y2) in pairwise([*ring, ring[0]]):
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit


def statuses(lat: float, lon: float) -> set[str | None]:
    """Zone status at the point and 3 km around it (robust to edge conventions)."""
    found: set[str | None] = set()
    for dlat, dlon in ((0, 0), (0.027, 0), (-0.027, 0), (0, 0.028), (0, -0.028)):
        here = [z[2] for z in ZONES if any(inside(lat + dlat, lon + dlon, r) for r in z[4])]
        found.add(max(here, key=SEVERITY.__getitem__) if here else None)
    return found


def plan_route(rng: random.Random, a: Site, b: Site) -> list[list[float]]:
    """3-5 points: the two ends and 1-3 bends off the straight line, like a road."""
    length, heading = distance_km(a.lat, a.lon, b.lat, b.lon), bearing_of(a.lat, a.lon, b.lat, b.lon)
    mids = rng.randint(1, 3)
    points = [[a.lon, a.lat]]
    for k in range(1, mids + 1):
        f = k / (mids + 1)
        lat, lon = move(a.lat + (b.lat - a.lat) * f, a.lon + (b.lon - a.lon) * f,
                        rng.uniform(-0.08, 0.08) * length, heading + 90)
        points.append([round(lon, 4), round(lat, 4)])
    return [*points, [b.lon, b.lat]]
