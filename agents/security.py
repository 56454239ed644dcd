"""Security incidents that name a shipment or happen near one of its convoys in transit."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from agents.config import IncidentNearbyConfig
from agents.detector import Context, Detector
from agents.findings import Finding, Proof
from agents.geo import haversine_km
from agents.state import Store
from agents.text import moment
from schemas.alerts import Typology
from schemas.events import ConvoyPosition, Event, IncidentReported, ShipmentDispatched, ShipmentReceived

# an incident: (time, event id, incident id, lat, lon, kind, actor, named shipment or "")
Incident = tuple[float, str, str, float, float, str, str, str]
# a position in the time index: (time, event id, shipment id, lat, lon)
IndexedFix = tuple[float, str, str, float, float]
# a position near an incident: (distance km, position time, position event id)
Near = tuple[float, float, str]


@dataclass(slots=True)
class ExposureRecord:
    dispatched_at: float | None = None
    received_at: float = math.inf
    named: dict[str, Incident] = field(default_factory=dict)  # incident event id -> incident
    incidents: dict[str, Incident] = field(default_factory=dict)  # incident event id -> incident
    nearby: dict[str, list[Near]] = field(default_factory=dict)  # incident event id -> positions near it


class IncidentNearbyDetector(Detector):
    """Looting, attack or extortion naming the shipment, or within the radius and window
    (both inclusive) of one of its positions between dispatch and receipt."""

    typology: ClassVar[Typology] = "incident_nearby"
    consumes = frozenset({"shipment.dispatched", "shipment.received", "convoy.position", "incident.reported"})
    tables = ("incident_nearby", "incident_nearby.incidents", "incident_nearby.positions")

    def __init__(self, config: IncidentNearbyConfig) -> None:
        self.config = config
        self._window_s = config.window_hours * 3600
        self._radius_deg = config.radius_km / 111.0 + 0.01  # a latitude band no nearer point lies outside

    def _buckets(self, t: float) -> range:
        hour = math.floor(t / 3600)
        span = math.ceil(self.config.window_hours)
        return range(hour - span - 1, hour + span + 2)

    def on_event(self, event: Event, state: Mapping[str, Store], ctx: Context) -> list[Finding]:
        shipments = state["incident_nearby"]
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
            incidents = state["incident_nearby.incidents"]
            for bucket in self._buckets(fix[0]):
                for incident in incidents.get(str(bucket), ()):
                    self._pair(record, incident, fix)
        shipments[key] = record
        return self._judged(key, record)

    def _on_incident(self, event: IncidentReported, state: Mapping[str, Store], ctx: Context) -> list[Finding]:
        d = event.data
        if d.kind not in self.config.kinds:
            return []
        t = event.at
        incident: Incident = (t, event.id, d.incident_id, d.lat, d.lon, d.kind, d.actor or "", d.shipment_id or "")
        incidents = state["incident_nearby.incidents"]
        bucket = str(math.floor(t / 3600))
        known = incidents.get(bucket, [])
        if any(i[1] == event.id for i in known):
            return []  # applied already
        incidents[bucket] = [*known, incident]
        shipments = state["incident_nearby"]
        touched: dict[str, ExposureRecord] = {}
        if d.shipment_id:
            record = shipments.get(d.shipment_id) or ExposureRecord()
            record.named[event.id] = incident
            touched[d.shipment_id] = record
        positions = state["incident_nearby.positions"]
        for b in self._buckets(t):
            for fix in positions.get(str(b), ()):
                record = touched.get(fix[2]) or shipments.get(fix[2]) or ExposureRecord()
                if self._pair(record, incident, fix):
                    touched[fix[2]] = record
        found = []
        for key, record in sorted(touched.items()):
            shipments[key] = record
            found += self._judged(key, record)
        return found

    def _index_position(self, fix: IndexedFix, state: Mapping[str, Store]) -> None:
        positions = state["incident_nearby.positions"]
        bucket = str(math.floor(fix[0] / 3600))
        entries = positions.get(bucket)
        if entries is None:
            positions[bucket] = [fix]
        elif all(known[1] != fix[1] for known in entries):
            entries.append(fix)
            positions[bucket] = entries

    def _pair(self, record: ExposureRecord, incident: Incident, fix: IndexedFix) -> bool:
        """Keep the position if it lies within the radius and window of the incident."""
        if abs(fix[0] - incident[0]) > self._window_s or abs(fix[3] - incident[3]) > self._radius_deg:
            return False
        distance = haversine_km(incident[3], incident[4], fix[3], fix[4])
        if distance > self.config.radius_km:
            return False
        record.incidents[incident[1]] = incident
        near = record.nearby.setdefault(incident[1], [])
        if all(n[2] != fix[1] for n in near):
            near.append((distance, fix[0], fix[1]))
        return True

    def _judged(self, key: str, record: ExposureRecord) -> list[Finding]:
        finding = self.judge(key, record)
        return [finding] if finding else []

    def judge(self, key: str, record: ExposureRecord) -> Finding | None:
        proofs: dict[str, Proof] = {}
        for eid, incident in record.named.items():
            proofs[eid] = Proof(eid, "incident.reported", incident[0], _describe(incident) + f", naming {key}")
        if record.dispatched_at is not None:
            for eid, near in record.nearby.items():
                in_transit = [n for n in near if record.dispatched_at <= n[1] <= record.received_at]
                if eid in proofs or not in_transit:
                    continue
                incident = record.incidents[eid]
                distance, pos_time, pos_id = min(in_transit)
                hours = abs(incident[0] - pos_time) / 3600
                proofs[eid] = Proof(
                    eid, "incident.reported", incident[0],
                    f"{_describe(incident)}, {distance:.1f} km and {hours:.1f} h from the convoy",
                )
                proofs[pos_id] = Proof(pos_id, "convoy.position", pos_time, f"convoy position nearest to {incident[2]}")
        if not proofs:
            return None
        incidents = sorted(
            (p for p in proofs.values() if p.type == "incident.reported"), key=lambda p: (p.time, p.event_id)
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
    actor = f" by {incident[6]}" if incident[6] else ""
    return f"{incident[5].replace('_', ' ')} {incident[2]}{actor}"
