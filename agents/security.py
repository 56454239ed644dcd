"""Security incidents that name a shipment or happen near one of its convoys in transit."""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import ClassVar, NamedTuple

from agents.config import IncidentNearbyConfig
from agents.detector import Context, Detector, keep_until
from agents.findings import Finding, Proof
from agents.geo import haversine_km
from agents.state import Store
from agents.text import moment
from schemas.alerts import Typology
from schemas.events import (
    ConvoyPosition,
    Event,
    IncidentKind,
    IncidentReported,
    ShipmentDispatched,
    ShipmentReceived,
)


class Incident(NamedTuple):
    """An incident of a kind this detector watches."""

    time: float
    event_id: str
    incident_id: str
    lat: float
    lon: float
    kind: IncidentKind
    actor: str  # "" when not reported
    shipment_id: str  # the shipment it names, or ""


IndexedFix = tuple[float, str, str, float, float]
"""A convoy position in the time index, bucketed by hour: `time, event_id, shipment_id, lat,
lon`, read by unpacking. A plain tuple: see `agents.state`."""

_event_id = itemgetter(1)  # an IndexedFix's event id, second as in every time-ordered record (see `insort_once`)


class Near(NamedTuple):
    """A position within the radius and window of an incident (nearest first when sorted)."""

    distance_km: float
    time: float
    event_id: str


@dataclass(slots=True)
class ExposureRecord:
    dispatched_at: float | None = None
    received_at: float = math.inf
    named: dict[str, Incident] = field(default_factory=dict)  # incident event id -> incident
    incidents: dict[str, Incident] = field(default_factory=dict)  # incident event id -> incident
    nearby: dict[str, list[Near]] = field(default_factory=dict)  # incident event id -> positions near it
    until: float = -math.inf  # its latest time (agents.detector.keep_until); kept a window past the retention


class IncidentNearbyDetector(Detector):
    """Looting, attack or extortion naming the shipment, or within the radius and window
    (both inclusive) of one of its positions between dispatch and receipt."""

    typology: ClassVar[Typology] = "incident_nearby"
    consumes = frozenset({ShipmentDispatched.TYPE, ShipmentReceived.TYPE, ConvoyPosition.TYPE, IncidentReported.TYPE})
    _incidents: ClassVar[str] = f"{typology}.incidents"  # hour bucket -> the incidents of that hour
    _positions: ClassVar[str] = f"{typology}.positions"  # hour bucket -> the positions of that hour
    tables = (typology, _incidents, _positions)

    def __init__(self, config: IncidentNearbyConfig) -> None:
        self.config = config
        self._window_s = config.window_hours * 3600
        self._radius_deg = config.radius_km / 111.0 + 0.01  # a latitude band no nearer point lies outside
        self._span = math.ceil(config.window_hours)  # hour buckets either side of an event's that its window reaches
        self._hours: list[int] = []  # the hour buckets of the incidents, sorted (derived: `_incident_hours`)
        self._hours_of: Store | None = None  # the incidents store they are of (None: to read again)

    def expire(self, state: Mapping[str, Store], horizon: float) -> None:
        """An event at or after `horizon` meets only incidents and positions within the
        window of it: what is older goes (the buckets by hour, and the shipments)."""
        before = horizon - self._window_s
        for name in (self._incidents, self._positions):
            index = state[name]
            for bucket in [b for b in index if (int(b) + 1) * 3600 <= before]:
                del index[bucket]
        self._hours_of = None
        shipments = state[self.typology]
        for key in [key for key, record in shipments.items() if record.until < before]:
            del shipments[key]

    def _buckets(self, t: float) -> range:
        hour = math.floor(t / 3600)
        return range(hour - self._span - 1, hour + self._span + 2)

    def _incident_hours(self, incidents: Store) -> list[int]:
        """The hours that have incidents, sorted: read from the store's keys when it is not the
        one they were read from, or the retention dropped some, then kept up by `_on_incident`."""
        if self._hours_of is not incidents:
            self._hours_of, self._hours = incidents, sorted(int(bucket) for bucket in incidents)
        return self._hours

    def on_event(self, event: Event, state: Mapping[str, Store], ctx: Context) -> list[Finding]:
        shipments = state[self.typology]
        if isinstance(event, IncidentReported):
            return self._on_incident(event, state, ctx)
        key = event.subject
        record: ExposureRecord = shipments.get(key) or ExposureRecord()
        if isinstance(event, ShipmentDispatched):
            record.dispatched_at = min(record.dispatched_at or event.at, event.at)
        elif isinstance(event, ShipmentReceived):
            record.received_at = min(record.received_at, event.at)
        elif isinstance(event, ConvoyPosition):
            fix = (event.at, event.id, key, event.data.lat, event.data.lon)
            self._index_position(fix, state)
            incidents, paired = state[self._incidents], False
            hours, near = self._incident_hours(incidents), self._buckets(event.at)
            for hour in hours[bisect.bisect_left(hours, near.start):bisect.bisect_left(hours, near.stop)]:
                for incident in incidents.get(str(hour), ()):
                    paired = self._pair(record, incident, fix) or paired
            if event.at > record.until:
                record.until = event.at
            shipments[key] = record
            # judged after every change before: a position near no incident leaves the finding as it was
            return self._judged(key, record) if paired else []
        record.until = max(record.until, keep_until(event, ctx))
        shipments[key] = record
        return self._judged(key, record)

    def _on_incident(self, event: IncidentReported, state: Mapping[str, Store], ctx: Context) -> list[Finding]:
        d = event.data
        if d.kind not in self.config.kinds:
            return []
        t = event.at
        incident = Incident(t, event.id, d.incident_id, d.lat, d.lon, d.kind, d.actor or "", d.shipment_id or "")
        incidents = state[self._incidents]
        bucket = str(math.floor(t / 3600))
        known = incidents.get(bucket, [])
        if any(i.event_id == event.id for i in known):
            return []  # applied already
        incidents[bucket] = [*known, incident]
        if not known and self._hours_of is incidents:
            bisect.insort(self._hours, int(bucket))
        shipments = state[self.typology]
        touched: dict[str, ExposureRecord] = {}
        if d.shipment_id:
            record = shipments.get(d.shipment_id) or ExposureRecord()
            record.named[event.id] = incident
            record.until = max(record.until, t)
            touched[d.shipment_id] = record
        positions = state[self._positions]
        for b in self._buckets(t):
            for fix in positions.get(str(b), ()):
                _, _, shipment_id, _, _ = fix
                record = touched.get(shipment_id) or shipments.get(shipment_id) or ExposureRecord()
                if self._pair(record, incident, fix):
                    record.until = max(record.until, t)
                    touched[shipment_id] = record
        found = []
        for key, record in sorted(touched.items()):
            shipments[key] = record
            found += self._judged(key, record)
        return found

    def _index_position(self, fix: IndexedFix, state: Mapping[str, Store]) -> None:
        positions = state[self._positions]
        t, event_id, _, _, _ = fix
        bucket = str(math.floor(t / 3600))
        entries = positions.get(bucket)
        if entries is None:
            positions[bucket] = [fix]
        elif event_id not in map(_event_id, entries):  # the hour's positions of every shipment: a scan in C
            entries.append(fix)
            positions[bucket] = entries

    def _pair(self, record: ExposureRecord, incident: Incident, fix: IndexedFix) -> bool:
        """Keep the position if it lies within the radius and window of the incident."""
        t, event_id, _, lat, lon = fix
        if abs(t - incident.time) > self._window_s or abs(lat - incident.lat) > self._radius_deg:
            return False
        distance = haversine_km(incident.lat, incident.lon, lat, lon)
        if distance > self.config.radius_km:
            return False
        record.incidents[incident.event_id] = incident
        near = record.nearby.setdefault(incident.event_id, [])
        if all(n.event_id != event_id for n in near):
            near.append(Near(distance, t, event_id))
        return True

    def _judged(self, key: str, record: ExposureRecord) -> list[Finding]:
        finding = self.judge(key, record)
        return [finding] if finding else []

    def judge(self, key: str, record: ExposureRecord) -> Finding | None:
        proofs: dict[str, Proof] = {}
        for eid, incident in record.named.items():
            proofs[eid] = Proof(eid, IncidentReported.TYPE, incident.time, _describe(incident) + f", naming {key}")
        if record.dispatched_at is not None:
            for eid, near in record.nearby.items():
                in_transit = [n for n in near if record.dispatched_at <= n.time <= record.received_at]
                if eid in proofs or not in_transit:
                    continue
                incident = record.incidents[eid]
                nearest = min(in_transit)
                hours = abs(incident.time - nearest.time) / 3600
                proofs[eid] = Proof(
                    eid, IncidentReported.TYPE, incident.time,
                    f"{_describe(incident)}, {nearest.distance_km:.1f} km and {hours:.1f} h from the convoy",
                )
                proofs[nearest.event_id] = Proof(
                    nearest.event_id, ConvoyPosition.TYPE, nearest.time,
                    f"convoy position nearest to {incident.incident_id}",
                )
        if not proofs:
            return None
        incidents = sorted(
            (p for p in proofs.values() if p.type == IncidentReported.TYPE), key=lambda p: (p.time, p.event_id)
        )
        first = incidents[0]
        return Finding(
            typology=self.typology,
            subject_kind="shipment",
            subject_id=key,
            severity=self.config.severity,
            strength=min(1.0, len(incidents) / 3),
            summary=(
                f"Shipment {key} was exposed to a security incident ({first.detail}, at "
                f"{moment(first.time)}); confirm the convoy and cargo are safe."
            ),
            evidence=tuple(sorted(proofs.values(), key=lambda p: (p.time, p.event_id))),
            raised_at=first.time,
        )


def _describe(incident: Incident) -> str:
    actor = f" by {incident.actor}" if incident.actor else ""
    return f"{incident.kind.replace('_', ' ')} {incident.incident_id}{actor}"
