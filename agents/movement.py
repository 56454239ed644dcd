"""Convoys that leave their planned route or stop where armed groups are."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple

from agents.config import RouteDeviationConfig, UnscheduledStopConfig
from agents.detector import Context, Detector, drop_before, epoch, first_dispatch, insort_once, keep_until
from agents.findings import Finding, Proof
from agents.geo import Route, haversine_km
from agents.state import Store
from agents.text import moment
from schemas.alerts import Typology
from schemas.events import ConvoyPosition, ConvoyStop, Event, ShipmentDispatched, StopReason

Fix = tuple[float, str, float, float, float]
"""A convoy position: `time, event_id, lat, lon, distance_km` (to the planned route; -1 while
the route is unknown), read by unpacking. A plain tuple: see `agents.state`."""


@dataclass(slots=True)
class RouteRecord:
    dispatch: tuple[float, str] | None = None  # time, event id
    route: list[tuple[float, float]] | None = None  # GeoJSON order: (lon, lat)
    positions: list[Fix] = field(default_factory=list)
    until: float = -math.inf  # kept until the retention has passed this (agents.detector.keep_until)


class RouteDeviationDetector(Detector):
    """Consecutive positions (in event time) farther than the corridor from the route.

    A late position can split a run, so runs are judged only up to the watermark.
    """

    typology: ClassVar[Typology] = "route_deviation"
    consumes = frozenset({ShipmentDispatched.TYPE, ConvoyPosition.TYPE})
    tables = (typology,)

    def __init__(self, config: RouteDeviationConfig) -> None:
        self.config = config
        self._routes: dict[str, Route] = {}  # derived from records, rebuilt on demand

    def expire(self, state: Mapping[str, Store], horizon: float) -> None:
        table = state[self.typology]
        drop_before(table, horizon)  # every position is behind the watermark: judged already
        for key in [key for key in self._routes if key not in table]:
            del self._routes[key]

    def on_event(self, event: Event, state: Mapping[str, Store], ctx: Context) -> list[Finding]:
        table = state[self.typology]
        key = event.subject
        record: RouteRecord = table.get(key) or RouteRecord()
        if isinstance(event, ConvoyPosition):  # the usual event, first
            t = event.at
            lat, lon = event.data.lat, event.data.lon
            if record.route:
                distance = (self._routes.get(key) or self._route(key, record)).distance_km(lat, lon)
            else:
                distance = -1.0
            if not insort_once(record.positions, (t, event.id, lat, lon, distance)):
                return []
            if distance > self.config.corridor_km:
                ctx.schedule(self.typology, key, t)
            record.until = max(record.until, t)  # keep_until of a position: its time
            table[key] = record
            return []
        if isinstance(event, ShipmentDispatched):
            if not first_dispatch(event, record.dispatch):
                return []
            record.dispatch = (event.at, event.id)
            record.route = [(lon, lat) for lon, lat in event.data.planned_route]
            self._routes.pop(key, None)
            route = self._route(key, record)
            record.positions = [
                (t, eid, lat, lon, route.distance_km(lat, lon)) for t, eid, lat, lon, _ in record.positions
            ]
            latest_off = [t for t, _, _, _, distance in record.positions if distance > self.config.corridor_km]
            if latest_off:
                ctx.schedule(self.typology, key, max(latest_off))
        record.until = max(record.until, keep_until(event, ctx))
        table[key] = record
        return []

    def on_timer(self, key: str, state: Mapping[str, Store], ctx: Context) -> list[Finding]:
        record: RouteRecord | None = state[self.typology].get(key)
        finding = self.judge(key, record, ctx.watermark, ctx) if record else None
        return [finding] if finding else []

    def on_zones_changed(self, state: Mapping[str, Store], ctx: Context, since: float) -> list[Finding]:
        """Convoys with a position at or after `since` are judged again (positions are in time order)."""
        found = []
        for key, record in list(state[self.typology].items()):
            if not record.positions or record.positions[-1][0] < since:
                continue
            finding = self.judge(key, record, ctx.watermark, ctx)
            if finding:
                found.append(finding)
        return found

    def _route(self, key: str, record: RouteRecord) -> Route:
        route = self._routes.get(key)
        if route is None:
            assert record.route is not None
            if len(self._routes) > 50_000:
                self._routes.clear()
            route = self._routes[key] = Route(record.route)
        return route

    def runs(self, record: RouteRecord, upto: float) -> list[list[Fix]]:
        """Runs of consecutive off-route positions, long enough to count, up to `upto`."""
        corridor, least = self.config.corridor_km, self.config.min_consecutive
        runs: list[list[Fix]] = []
        current: list[Fix] = []
        for fix in record.positions:  # (time, event id, lat, lon, distance from the route)
            if fix[0] > upto:
                break
            if fix[4] > corridor:
                current.append(fix)
            elif current:
                if len(current) >= least:
                    runs.append(current)
                current = []
        if len(current) >= least:
            runs.append(current)
        return runs

    def judge(self, key: str, record: RouteRecord, upto: float, ctx: Context) -> Finding | None:
        if record.route is None:
            return None
        runs = self.runs(record, upto)
        if not runs:
            return None
        fixes = [fix for run in runs for fix in run]
        armed = []  # (event id, zone) of each position in armed-group territory
        for t, eid, lat, lon, _ in fixes:
            hit = ctx.zones.zone_at(lat, lon, t)
            if hit is not None and hit.status == "armed_group":
                armed.append((eid, hit))
        armed_ids = dict(armed)
        evidence = []
        for t, eid, _, _, distance in fixes:  # the monitor caps the evidence
            zone = armed_ids.get(eid)
            where = f" inside {zone.name} ({zone.controlled_by or 'armed group'})" if zone else ""
            evidence.append(Proof(eid, ConvoyPosition.TYPE, t, f"{distance:.1f} km off the planned route{where}"))
        farthest = max(distance for _, _, _, _, distance in fixes)
        first_run = runs[0]
        run_start, _, _, _, _ = first_run[0]
        threshold_reached, _, _, _, _ = first_run[self.config.min_consecutive - 1]
        in_zone = f"; {len(armed)} of them in armed-group territory" if armed else ""
        return Finding(
            typology=self.typology,
            subject_kind="shipment",
            subject_id=key,
            severity=self.config.armed_zone_severity if armed else self.config.severity,
            strength=min(1.0, farthest / (10 * self.config.corridor_km)),
            summary=(
                f"Convoy of shipment {key} left its planned route: {len(fixes)} "
                f"{'consecutive positions' if len(runs) == 1 else f'positions in {len(runs)} runs'} "
                f"more than {self.config.corridor_km:g} km off (up to {farthest:.1f} km) from "
                f"{moment(run_start)}{in_zone}; ask the transporter why."
            ),
            evidence=tuple(evidence),
            raised_at=threshold_reached,
        )


class StopFix(NamedTuple):
    """A convoy stop, ordered by time, then event id."""

    time: float
    event_id: str
    lat: float
    lon: float
    started: float  # epoch seconds
    ended: float
    payment_demanded: bool
    reason: StopReason
    actor: str  # "" when not reported


@dataclass(slots=True)
class StopRecord:
    dispatch: tuple[float, str] | None = None  # time, event id
    origin: tuple[float, float] | None = None  # (lat, lon)
    destination: tuple[float, float] | None = None
    stops: list[StopFix] = field(default_factory=list)
    until: float = -math.inf  # kept until the retention has passed this (agents.detector.keep_until)


class UnscheduledStopDetector(Detector):
    """A stop where payment was demanded, or a long stop in contested or armed-group land."""

    typology: ClassVar[Typology] = "unscheduled_stop"
    consumes = frozenset({ShipmentDispatched.TYPE, ConvoyStop.TYPE})
    tables = (typology,)

    def __init__(self, config: UnscheduledStopConfig) -> None:
        self.config = config

    def expire(self, state: Mapping[str, Store], horizon: float) -> None:
        drop_before(state[self.typology], horizon)

    def on_event(self, event: Event, state: Mapping[str, Store], ctx: Context) -> list[Finding]:
        table = state[self.typology]
        key = event.subject
        record: StopRecord = table.get(key) or StopRecord()
        if isinstance(event, ShipmentDispatched):
            if not first_dispatch(event, record.dispatch):
                return []
            record.dispatch = (event.at, event.id)
            o, d = event.data.origin, event.data.destination
            record.origin, record.destination = (o.lat, o.lon), (d.lat, d.lon)
        elif isinstance(event, ConvoyStop):
            s = event.data
            stop = StopFix(
                event.at, event.id, s.lat, s.lon, epoch(s.started_at), epoch(s.ended_at),
                s.payment_demanded, s.reason, s.reported_actor or "",
            )
            if not insort_once(record.stops, stop):
                return []
        record.until = max(record.until, keep_until(event, ctx))
        table[key] = record
        finding = self.judge(key, record, ctx)
        return [finding] if finding else []

    def on_zones_changed(self, state: Mapping[str, Store], ctx: Context, since: float) -> list[Finding]:
        """Convoys with a stop that started at or after `since` are judged again."""
        found = []
        for key, record in list(state[self.typology].items()):
            if all(stop.started < since for stop in record.stops):
                continue
            finding = self.judge(key, record, ctx)
            if finding:
                found.append(finding)
        return found

    def _reason(self, record: StopRecord, stop: StopFix, ctx: Context) -> str | None:
        by = f" by {stop.actor}" if stop.actor else ""
        if stop.payment_demanded:
            return f"payment demanded{by} at a {stop.reason} stop"
        minutes = (stop.ended - stop.started) / 60
        if minutes < self.config.min_stop_minutes or record.origin is None or record.destination is None:
            return None
        lat, lon, radius = stop.lat, stop.lon, self.config.endpoint_radius_km
        if haversine_km(lat, lon, *record.origin) <= radius or haversine_km(lat, lon, *record.destination) <= radius:
            return None
        zone = ctx.zones.zone_at(lat, lon, stop.started)
        if zone is None or zone.status not in self.config.zone_statuses:
            return None
        held = f" ({zone.controlled_by})" if zone.controlled_by else ""
        return f"{minutes:.0f} min {stop.reason} stop{by} in {zone.name}, {zone.status.replace('_', '-')} zone{held}"

    def judge(self, key: str, record: StopRecord, ctx: Context) -> Finding | None:
        flagged = []
        for stop in record.stops:
            why = self._reason(record, stop, ctx)
            if why:
                flagged.append((stop, why))
        if not flagged:
            return None
        payment = any(stop.payment_demanded for stop, _ in flagged)
        evidence = tuple(Proof(stop.event_id, ConvoyStop.TYPE, stop.time, why) for stop, why in flagged)
        first_stop, first_why = flagged[0]
        more = f" and {len(flagged) - 1} more" if len(flagged) > 1 else ""
        return Finding(
            typology=self.typology,
            subject_kind="shipment",
            subject_id=key,
            severity=self.config.payment_severity if payment else self.config.severity,
            strength=min(1.0, len(flagged) / 4),
            summary=(
                f"Convoy of shipment {key} made an unscheduled stop: {first_why} at "
                f"{moment(first_stop.started)}{more}; debrief the driver and check the cargo."
            ),
            evidence=evidence,
            raised_at=first_stop.time,
        )
