"""Great-circle distances, planned-route corridors and zones of control.

Distances are on a sphere of the mean Earth radius (6371.0 km). The distance from a
point to a route is the great-circle distance to the nearest point of the polyline,
segment by segment (the cross-track distance where the foot of the perpendicular falls
inside the segment, the nearer end otherwise).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import shape

from schemas.events import ZoneStatus

EARTH_RADIUS_KM = 6371.0
SEVERITY_OF_STATUS: dict[ZoneStatus, int] = {"armed_group": 3, "contested": 2, "government": 1}

Vector = tuple[float, float, float]


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points, in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _unit(lat: float, lon: float) -> Vector:
    p, lam = math.radians(lat), math.radians(lon)
    return (math.cos(p) * math.cos(lam), math.cos(p) * math.sin(lam), math.sin(p))


def _cross(a: Vector, b: Vector) -> Vector:
    (ax, ay, az), (bx, by, bz) = a, b
    return (ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx)


def _dot(a: Vector, b: Vector) -> float:
    (ax, ay, az), (bx, by, bz) = a, b
    return ax * bx + ay * by + az * bz


Segment = tuple[float, float, float, float, float, float, float, float, float, float, float, float, float, float,
                float, bool]
"""A route segment: the unit vectors of its ends `ax, ay, az, bx, by, bz`, the unit normal of
its great circle `nx, ny, nz`, `n x a` and `b x n` (`ux, uy, uz, vx, vy, vz`: the foot of the
perpendicular from p lies between a and b when p . (n x a) >= 0 and p . (b x n) >= 0), and
whether it has a normal (a zero-length segment has not), read by unpacking:
`distance_km` runs for every convoy position."""


class Route:
    """A planned route (GeoJSON order, `[[lon, lat], ...]`) ready for distance queries."""

    __slots__ = ("_segments",)

    def __init__(self, coordinates: Sequence[tuple[float, float]]) -> None:
        points = [_unit(float(lat), float(lon)) for lon, lat in coordinates]
        segments: list[Segment] = []
        for a, b in itertools.pairwise(points):
            n = _cross(a, b)
            norm = math.sqrt(_dot(n, n))
            nx, ny, nz = n
            normal = (nx / norm, ny / norm, nz / norm) if norm > 1e-15 else (0.0, 0.0, 0.0)
            segments.append((*a, *b, *normal, *_cross(normal, a), *_cross(b, normal), norm > 1e-15))
        if not segments:
            segments.append((*points[0], *points[0], 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, False))
        self._segments = tuple(segments)

    def distance_km(self, lat: float, lon: float) -> float:
        """Great-circle distance from the point to the nearest point of the route."""
        phi, lam = math.radians(lat), math.radians(lon)
        cos_phi = math.cos(phi)
        px, py, pz = cos_phi * math.cos(lam), cos_phi * math.sin(lam), math.sin(phi)  # _unit, written out
        best = math.inf
        atan2, sqrt, asin = math.atan2, math.sqrt, math.asin
        for ax, ay, az, bx, by, bz, nx, ny, nz, ux, uy, uz, vx, vy, vz, has_normal in self._segments:
            if has_normal and px * ux + py * uy + pz * uz >= 0 and px * vx + py * vy + pz * vz >= 0:
                across = px * nx + py * ny + pz * nz  # the sine of the angle to the great circle
                angle = abs(asin(-1.0 if across < -1.0 else 1.0 if across > 1.0 else across))
                if angle < best:
                    best = angle
                continue
            # the nearer end: the angle atan2(|p x a|, p . a), accurate at small angles too
            cx, cy, cz = py * az - pz * ay, pz * ax - px * az, px * ay - py * ax  # p x a
            angle = atan2(sqrt(cx * cx + cy * cy + cz * cz), px * ax + py * ay + pz * az)
            if angle < best:
                best = angle
            cx, cy, cz = py * bz - pz * by, pz * bx - px * bz, px * by - py * bx  # p x b
            angle = atan2(sqrt(cx * cx + cy * cy + cz * cz), px * bx + py * by + pz * bz)
            if angle < best:
                best = angle
        return best * EARTH_RADIUS_KM


# --- zones ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ZoneVersion:
    """One `zone.declared` event, applying from `valid_from` (epoch seconds)."""

    zone_id: str
    name: str
    status: ZoneStatus
    controlled_by: str
    valid_from: float
    valid_to: float | None
    declared_at: float
    event_id: str
    geometry: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ZoneHit:
    zone_id: str
    name: str
    status: ZoneStatus
    controlled_by: str


class ZoneMap:
    """Zones of control over time: which status applies at a point and instant.

    A later declaration (by `valid_from`) of the same zone replaces the earlier one from
    its `valid_from`; overlapping zones give the most severe status.
    """

    def __init__(self) -> None:
        self._versions: dict[str, list[ZoneVersion]] = {}
        self._shapes: dict[str, Any] = {}  # event_id -> prepared shapely geometry
        self._answers: dict[tuple[float, float, float], ZoneHit | None] = {}  # memo of zone_at

    def declare(self, version: ZoneVersion) -> bool:
        """Add `version`; whether it may change the zone that applies anywhere: not if it is
        known already, nor if it is in force from its `valid_from` on and equal to the one
        it takes over from (an agency sending its zones again), nor if another version with
        the same `valid_from` stays in force over it."""
        versions = self._versions.setdefault(version.zone_id, [])
        if any(v.event_id == version.event_id for v in versions):
            return False
        replaced = _in_force(versions, version.valid_from)
        versions.append(version)
        self._answers.clear()
        versions.sort(key=lambda v: (v.valid_from, v.declared_at, v.event_id))
        geom = shape(version.geometry)
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
        shapely.prepare(geom)
        self._shapes[version.event_id] = geom
        if _in_force(versions, version.valid_from) is not version:
            return False
        return replaced is None or not _same_zone(replaced, version)

    def __len__(self) -> int:
        return len(self._versions)

    def active(self, at: float) -> list[ZoneVersion]:
        """The declaration in force for each zone at epoch second `at`."""
        current = []
        for versions in self._versions.values():
            chosen = _in_force(versions, at)
            if chosen is not None and (chosen.valid_to is None or at < chosen.valid_to):
                current.append(chosen)
        return current

    def zone_at(self, lat: float, lon: float, at: float) -> ZoneHit | None:
        """The most severe zone containing the point at that instant (boundary counts)."""
        query = (lat, lon, at)
        if query in self._answers:
            return self._answers[query]
        if len(self._answers) > 200_000:
            self._answers.clear()
        answer = self._answers[query] = self._find(lat, lon, at)
        return answer

    def _find(self, lat: float, lon: float, at: float) -> ZoneHit | None:
        best: ZoneVersion | None = None
        for v in self.active(at):
            if best is not None and SEVERITY_OF_STATUS[v.status] <= SEVERITY_OF_STATUS[best.status]:
                continue
            if shapely.intersects_xy(self._shapes[v.event_id], lon, lat):
                best = v
        if best is None:
            return None
        return ZoneHit(best.zone_id, best.name, best.status, best.controlled_by)


def _in_force(versions: list[ZoneVersion], at: float) -> ZoneVersion | None:
    """The last of a zone's `versions` (in their order) that applies from `at` or before."""
    chosen = None
    for v in versions:
        if v.valid_from <= at:
            chosen = v
        else:
            break
    return chosen


def _same_zone(a: ZoneVersion, b: ZoneVersion) -> bool:
    """Whether two versions of a zone give the same answers where they apply."""
    return (a.name, a.status, a.controlled_by, a.valid_to, a.geometry) == (
        b.name, b.status, b.controlled_by, b.valid_to, b.geometry)
