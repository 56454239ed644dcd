"""The monitor: de-duplicates events, keeps the event-time clock, routes each event to the
detectors that consume it, fires their timers, and turns findings into alerts.

Time is event time only. `clock` is the latest `time` of any accepted event; the
watermark is the clock less `reorder_minutes`. Findings that a late event could undo
(route runs, deadlines, stock balances) are judged on timers that fire when the
watermark passes them; `flush()` judges everything at the clock itself (end of input).
"""

from __future__ import annotations

import hashlib
import heapq
import math
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from agents.config import DetectorConfig
from agents.detector import Context, Detector, Site, epoch
from agents.distribution import DuplicateCollectionDetector, OverDistributionDetector
from agents.feedback import NonReceiptFeedbackDetector
from agents.findings import Finding, to_alert
from agents.geo import ZoneMap, ZoneVersion
from agents.logistics import OverdueShipmentDetector, TransitLossDetector
from agents.movement import RouteDeviationDetector, UnscheduledStopDetector
from agents.names import ListedName, SanctionsIndex
from agents.screening import SanctionedPartyDetector
from agents.security import IncidentNearbyDetector
from agents.state import Store, StoreFactory, memory_store
from schemas.alerts import Alert, Typology
from schemas.events import REFERENCE_TYPES, Event, PartnerRegistered, SiteRegistered, ZoneDeclared

NEVER = float("-inf")
TIMER_STEP_S = 60


def build_detectors(config: DetectorConfig) -> list[Detector]:
    """One detector per typology of the contract, in the contract's order."""
    return [
        TransitLossDetector(config.transit_loss),
        RouteDeviationDetector(config.route_deviation),
        UnscheduledStopDetector(config.unscheduled_stop),
        OverdueShipmentDetector(config.overdue_shipment),
        IncidentNearbyDetector(config.incident_nearby),
        SanctionedPartyDetector(config.sanctioned_party),
        OverDistributionDetector(config.over_distribution),
        DuplicateCollectionDetector(config.duplicate_collection),
        NonReceiptFeedbackDetector(config.non_receipt_feedback),
    ]


class Monitor:
    """Runs every detector over a stream of decoded events; see the module docstring."""

    def __init__(
        self,
        config: DetectorConfig | None = None,
        sanctions: Iterable[ListedName] | None = None,
        stores: StoreFactory = memory_store,
    ) -> None:
        self.config = config or DetectorConfig()
        self.detectors = build_detectors(self.config)
        self._by_type: dict[str, list[Detector]] = {}
        for detector in self.detectors:
            for event_type in sorted(detector.consumes):
                self._by_type.setdefault(event_type, []).append(detector)
        self._by_typology = {d.typology: d for d in self.detectors}
        self._state: dict[Typology, Mapping[str, Store]] = {
            d.typology: {name: stores(name) for name in d.tables} for d in self.detectors
        }
        self._routes = {
            event_type: [(d.on_event, self._state[d.typology]) for d in detectors]
            for event_type, detectors in self._by_type.items()
        }
        self._seen = stores("seen_events")
        self._sites: Store = stores("sites")
        self._zone_rows: Store = stores("zones")
        self._partners: Store = stores("partners")
        self._timers: Store = stores("timers")  # "typology|key" -> (earliest, latest) due
        self._fingerprints: Store = stores("alert_fingerprints")
        self._meta: Store = stores("monitor")
        self._lateness_s = self.config.reorder_minutes * 60
        self._clock: float = self._meta.get("clock", NEVER)
        self.sanctions = (
            SanctionsIndex(sanctions, self.config.sanctioned_party.similarity) if sanctions is not None else None
        )
        self.zones = ZoneMap()
        for rows in self._zone_rows.values():
            for row in rows:
                self.zones.declare(ZoneVersion(**row))
        self._ctx = Context(NEVER, NEVER, self.zones, self._sites, self.sanctions, self.config, self._schedule)
        self._heap = [(due[0], name) for name, due in self._timers.items()]
        heapq.heapify(self._heap)
        self.duplicates = 0
        self.accepted = 0

    # --- time -----------------------------------------------------------------------

    @property
    def clock(self) -> float:
        return self._clock

    @property
    def watermark(self) -> float:
        return self.clock - self._lateness_s

    def _context(self, watermark: float) -> Context:
        ctx = self._ctx
        ctx.clock = self.clock
        ctx.watermark = watermark
        return ctx

    def _schedule(self, typology: Typology, key: str, due: float) -> None:
        """Keep the earliest and the latest time asked for; after the earliest fires, the
        latest is asked for again (judging at a later watermark covers all between).
        Times are rounded up to the next whole minute, so that a busy key is judged at
        most once a minute of event time."""
        due = math.ceil(due / TIMER_STEP_S) * TIMER_STEP_S
        name = f"{typology}|{key}"
        pending = self._timers.get(name)
        if pending is None:
            self._timers[name] = (due, due)
            heapq.heappush(self._heap, (due, name))
            return
        earliest, latest = pending
        if due < earliest:
            heapq.heappush(self._heap, (due, name))
        self._timers[name] = (min(earliest, due), max(latest, due))

    def _fire_timers(self, watermark: float, every: bool = False) -> list[Finding]:
        """Fire the timers due by `watermark` (or all pending ones, with `every`), judging at
        `watermark`. A detector may ask again from `on_timer`; that request waits."""
        if every:
            due_now, self._heap = sorted(self._heap), []
        else:
            due_now = []
            while self._heap and self._heap[0][0] <= watermark:
                due_now.append(heapq.heappop(self._heap))
        found: list[Finding] = []
        ctx = self._context(watermark)
        self._meta["clock"] = self._clock
        for due, name in due_now:
            pending = self._timers.get(name)
            if pending is None or pending[0] != due:
                continue  # superseded by an earlier request
            del self._timers[name]
            typology, key = name.split("|", 1)
            detector = self._by_typology[typology]  # type: ignore[index]
            found += detector.on_timer(key, self._state[detector.typology], ctx)
            if pending[1] > due:
                self._schedule(detector.typology, key, pending[1])
        return found

    # --- events ---------------------------------------------------------------------

    def process(self, event: Event) -> list[Alert]:
        """Apply one event; return the alerts it raised or changed (none for a duplicate)."""
        event_id = event.id
        if event_id in self._seen:
            self.duplicates += 1
            return []
        self._seen[event_id] = 1
        self.accepted += 1
        t = event.at
        if t > self._clock:
            self._clock = t  # kept in the store when timers fire and at flush
        watermark = self._clock - self._lateness_s
        ctx = self._ctx
        ctx.clock = self._clock
        ctx.watermark = watermark
        found: list[Finding] = []
        event_type = event.type
        if event_type in REFERENCE_TYPES:
            found += self._apply_reference(event, ctx)  # type: ignore[arg-type]
        for on_event, state in self._routes.get(event_type, ()):
            found += on_event(event, state, ctx)
        if self._heap and self._heap[0][0] <= watermark:
            found += self._fire_timers(watermark)
        return self._emit(found) if found else []

    def flush(self) -> list[Alert]:
        """End of input: judge every pending timer at the clock itself."""
        self._meta["clock"] = self._clock
        return self._emit(self._fire_timers(self.clock, every=True))

    def _apply_reference(self, event: ZoneDeclared | SiteRegistered | PartnerRegistered, ctx: Context) -> list[Finding]:
        found: list[Finding] = []
        if isinstance(event, SiteRegistered):
            d = event.data
            self._sites[d.site_id] = Site(d.site_id, d.name, d.kind, d.lat, d.lon, d.caseload_households)
            for detector in self.detectors:
                found += detector.on_site_changed(d.site_id, self._state[detector.typology], ctx)
        elif isinstance(event, ZoneDeclared):
            z = event.data
            row: dict[str, Any] = {
                "zone_id": z.zone_id,
                "name": z.name,
                "status": z.status,
                "controlled_by": z.controlled_by,
                "valid_from": epoch(z.valid_from),
                "valid_to": epoch(z.valid_to) if z.valid_to else None,
                "declared_at": event.at,
                "event_id": event.id,
                "geometry": z.geometry.model_dump(),
            }
            self._zone_rows[z.zone_id] = [*self._zone_rows.get(z.zone_id, []), row]
            self.zones.declare(ZoneVersion(**row))
            for detector in self.detectors:
                found += detector.on_zones_changed(self._state[detector.typology], ctx)
        else:
            self._partners[event.data.partner_id] = event.data.model_dump()
        return found

    def _emit(self, findings: list[Finding]) -> list[Alert]:
        alerts: dict[str, Alert] = {}
        limit = self.config.max_evidence
        for finding in findings:
            if len(finding.evidence) > limit:
                kept = sorted(finding.evidence, key=lambda p: (p.time, p.event_id))[:limit]
                finding = replace(finding, evidence=tuple(kept))
            fingerprint = _fingerprint(finding)
            key = f"{finding.typology}|{finding.subject_kind}|{finding.subject_id}|{finding.window}"
            if self._fingerprints.get(key) == fingerprint:
                continue
            self._fingerprints[key] = fingerprint
            alert = to_alert(finding)
            alerts[alert.alert_id] = alert
        return list(alerts.values())


def _fingerprint(finding: Finding) -> str:
    parts = [finding.severity, f"{finding.strength:.3f}", finding.summary, repr(finding.raised_at)]
    parts += [f"{p.event_id}:{p.detail}" for p in finding.evidence]
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()
