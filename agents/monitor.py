"""The monitor: de-duplicates events, keeps the event-time clock, routes each event to the
detectors that consume it, fires their timers, and turns findings into alerts.

Time is event time only (see `agents.clock`). `clock` is the latest `time` of any
accepted event; the watermark is where every active source of events has got to, less
`reorder_minutes`. Findings that a late event could undo (route runs, deadlines, stock
balances) are judged on timers that fire when the watermark passes them; once every
source is idle (`flush()`, the end of a replay) everything is judged at the clock itself.

Writes to the stores follow the order of a changelog: a detector's state, then the
alert, then the event's id as seen. A store that keeps a prefix of those writes (a worker
killed mid-way) therefore never holds an event as seen without its effects.

The retention (`sweep`) forgets what no event still to come can need. Replay sweeps as
soon as the clock allows; the worker (`sweeps_at_checkpoints`) only between checkpoints,
so that no checkpoint holds both the effects of events applied before a sweep and records
made after it: events applied again after a crash are then never applied to a subject the
sweep forgot and a later event started anew. The worker may also sweep in steps
(`sweep_step`), a few after each checkpoint, so that forgetting much at once (a stream
read again a year on, a worker back after a long outage) never stops detection for long.
"""

from __future__ import annotations

import hashlib
import heapq
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any, NamedTuple

from agents.clock import NEVER, EventClock
from agents.collection import DuplicateCollectionDetector
from agents.config import DetectorConfig
from agents.context import subject_context
from agents.detector import Context, Detector, Site, epoch, timer_due
from agents.distribution import OverDistributionDetector
from agents.feedback import NonReceiptFeedbackDetector
from agents.findings import Finding, to_alert
from agents.geo import ZoneMap, ZoneVersion
from agents.logistics import OverdueShipmentDetector, TransitLossDetector
from agents.movement import RouteDeviationDetector, UnscheduledStopDetector
from agents.names import ListedName, SanctionsIndex
from agents.screening import SanctionedPartyDetector
from agents.security import IncidentNearbyDetector
from agents.seen import SeenEvents
from agents.state import Store, StoreFactory, memory_store
from schemas.alerts import Alert, Typology
from schemas.events import REFERENCE_TYPES, Event, PartnerRegistered, SiteRegistered, ZoneDeclared

DAY_S = 86400.0
SWEEP_SHARE = 8  # the retention is applied every eighth of it (whole days): 5 days for 45
Lane = tuple[Callable[..., list[Finding]], Mapping[str, Store]]  # a detector's on_event and its state


class Pending(NamedTuple):
    """A timer's requests: the earliest and the latest due time asked for."""

    earliest: float
    latest: float


class Due(NamedTuple):
    """An entry of the timer heap (a superseded one is skipped when it comes out)."""

    at: float
    timer: str  # "typology|key"


class Raised(NamedTuple):
    """The latest version of an alert, and the fingerprint of the finding behind it."""

    fingerprint: str
    alert: Alert


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


WRITTEN_FIRST = ("timers", "alerts", "sites", "zones", "partners")
PARTS = frozenset(OverDistributionDetector.parts)  # the only detector whose records have parts
WRITTEN_LAST = ("seen_events", "monitor")


def write_rank(store: str, deleted: bool) -> int:
    """Where a changed key goes in a checkpoint, for one cut short (the process killed
    half-way) to leave a state from which the events after the last whole checkpoint can
    be applied again to the same findings: first timers asked for and alert versions (a
    record that holds an event applies it no second time, so it would not ask again), then
    the parts of detectors' records kept in stores of their own (`Detector.parts`: leaves and nodes
    never written over, indexes only added to), then the detectors' records (a record
    decides which of its parts hold, so it goes after them: cut short before it, it holds
    its old parts, all still there), then what was deleted (a timer that fired, a subject
    the retention forgot, a part no record names any more: gone before the record that
    holds its judgement, or still names it, it would be lost), and last the events seen and
    the clock (an event marked seen, or a clock moved on, without the records it changed
    would be skipped, or judged late, when applied again)."""
    if store in WRITTEN_LAST:
        return 4
    if deleted:
        return 3
    if store in WRITTEN_FIRST:
        return 0
    return 1 if store in PARTS else 2

class Monitor:
    """Runs every detector over a stream of decoded events; see the module docstring."""

    def __init__(
        self,
        config: DetectorConfig | None = None,
        sanctions: Iterable[ListedName] | None = None,
        stores: StoreFactory = memory_store,
        sweeps_at_checkpoints: bool = False,
    ) -> None:
        self.config = config or DetectorConfig()
        self._sweeps_inline = not sweeps_at_checkpoints
        self.detectors = build_detectors(self.config)
        self._by_type: dict[str, list[Detector]] = {}
        for detector in self.detectors:
            for event_type in sorted(detector.consumes):
                self._by_type.setdefault(event_type, []).append(detector)
        self._by_typology = {d.typology: d for d in self.detectors}
        self._state: dict[Typology, Mapping[str, Store]] = {
            d.typology: {name: stores(name) for name in d.tables} for d in self.detectors
        }
        self._seen = SeenEvents(stores("seen_events"))
        self._sites: Store = stores("sites")
        self._zone_rows: Store = stores("zones")
        self._partners: Store = stores("partners")
        self._timers: Store = stores("timers")  # "typology|key" -> Pending
        self._alerts: Store = stores("alerts")  # "typology|kind|subject|window" -> Raised
        self._meta: Store = stores("monitor")  # the clock's sources, and how far the retention swept
        self._clock = EventClock(self.config.reorder_minutes * 60, self._meta)
        self._lanes: dict[tuple[str, frozenset[str] | None], list[Lane]] = {}
        self.sanctions = (
            SanctionsIndex(sanctions, self.config.sanctioned_party.similarity) if sanctions is not None else None
        )
        self.zones = ZoneMap()
        for rows in self._zone_rows.values():
            for row in rows:
                self.zones.declare(ZoneVersion(**row))
        self._ctx = Context(NEVER, NEVER, self.zones, self._sites, self.sanctions, self.config, self._schedule)
        self._heap = [Due(pending.earliest, name) for name, pending in self._timers.items()]
        heapq.heapify(self._heap)
        self.retention_s = self.config.retention_days * 86400.0
        self._swept: float = self._meta.get("swept", NEVER)
        self._sweeping: list[Iterator[None]] = []  # the steps left of a sweep begun (`sweep_step`)
        self._sweeping_to = NEVER  # the horizon of the sweep begun
        self._sweep_step_s = max(1, round(self.config.retention_days / SWEEP_SHARE)) * DAY_S
        self.duplicates = 0
        self.accepted = 0
        self.expired = 0

    # --- time -----------------------------------------------------------------------

    @property
    def clock(self) -> float:
        return self._clock.now

    @property
    def watermark(self) -> float:
        return self._clock.watermark

    def _context(self, watermark: float) -> Context:
        ctx = self._ctx
        ctx.clock = self._clock.now
        ctx.watermark = watermark
        return ctx

    def _schedule(self, typology: Typology, key: str, due: float) -> None:
        """Keep the earliest and the latest time asked for; after the earliest fires, the
        latest is asked for again (judging at a later watermark covers all between).
        Times are rounded up to the next whole minute, so that a busy key is judged at
        most once a minute of event time."""
        due = timer_due(due)
        name = f"{typology}|{key}"
        pending: Pending | None = self._timers.get(name)
        if pending is None:
            self._timers[name] = Pending(due, due)
            heapq.heappush(self._heap, Due(due, name))
            return
        earliest, latest = pending
        if due < earliest:
            heapq.heappush(self._heap, Due(due, name))
        self._timers[name] = Pending(min(earliest, due), max(latest, due))

    def _fire_timers(self, watermark: float, every: bool = False) -> list[Finding]:
        """Fire the timers due by `watermark` (or all pending ones, with `every`), judging at
        `watermark`. A detector may ask again from `on_timer`; that request waits."""
        if every:
            due_now, self._heap = sorted(self._heap), []
        else:
            due_now = []
            while self._heap and self._heap[0].at <= watermark:
                due_now.append(heapq.heappop(self._heap))
        found: list[Finding] = []
        ctx = self._context(watermark)
        self._clock.save()
        for due, name in due_now:
            pending: Pending | None = self._timers.get(name)
            if pending is None or pending.earliest != due:
                continue  # superseded by an earlier request
            del self._timers[name]
            typology, key = name.split("|", 1)
            detector = self._by_typology[typology]  # type: ignore[index]
            found += detector.on_timer(key, self._state[detector.typology], ctx)
            if pending.latest > due:
                self._schedule(detector.typology, key, pending.latest)
        return found

    # --- events ---------------------------------------------------------------------

    def is_expired(self, event: Event) -> bool:
        """Whether `event` is more than `retention_days` behind the clock (contract 1.1): the
        state it needs may be gone, so it is rejected as `expired`, never applied. With
        several sources (the worker's partitions), the clock is where they all have got to
        (`EventClock.frontier`): a partition read ahead of the others does not make their
        events expire."""
        return event.at < self._clock.frontier - self.retention_s

    def process(self, event: Event, source: str = "input", only: frozenset[str] | None = None) -> list[Alert]:
        """Apply one event from `source`; return the alerts it raised or changed (none for a
        duplicate, and none for an expired event, which is not applied: callers ask
        `is_expired` first to reject it). `only` restricts it to some typologies (the worker
        routes copies of an event to the partitions that keep each detector's state);
        reference data always applies."""
        event_id, t, clock = event.id, event.at, self._clock
        if event_id in self._seen.ids:
            self.duplicates += 1
            return []
        if t < clock.frontier - self.retention_s:
            self.expired += 1
            return []
        self.accepted += 1
        clock.observe(source, t)
        if self._sweeps_inline and clock.frontier - self.retention_s >= self._swept + self._sweep_step_s:
            self.sweep()  # the whole sweep due, at once
        watermark = clock.watermark
        ctx = self._ctx
        ctx.clock = clock.now
        ctx.watermark = watermark
        found: list[Finding] = []
        event_type = event.type
        if event_type in REFERENCE_TYPES:
            found += self._apply_reference(event, ctx)  # type: ignore[arg-type]
        lane = self._lanes.get((event_type, only)) or self._lane(event_type, only)
        for on_event, state in lane:
            found += on_event(event, state, ctx)
        if self._heap and self._heap[0].at <= watermark:
            found += self._fire_timers(watermark)
        alerts = self._emit(found) if found else []
        self._seen.add(event_id, t)  # last: see the module docstring
        return alerts

    def sweep(self) -> bool:
        """Apply the retention if the clock has moved a sweep's step since the last one (or
        finish a sweep begun in steps); whether it did. A monitor made with
        `sweeps_at_checkpoints` sweeps only here or in `sweep_step`, called right after a
        checkpoint of its state is taken, before the next event (not when it is built on
        one: the events applied again after a crash were applied before that sweep the
        first time too)."""
        swept = False
        while self.sweep_step():
            swept = True
        return swept

    def sweep_step(self) -> bool:
        """One step of the sweep due, if one is (a part of a detector's, `Detector.sweep`;
        the seen ids; the alerts raised); whether there was one. A sweep in steps holds
        state a little longer, which changes no finding: the retention only forgets what no
        event that is not expired can need, and an event is judged expired by the clock,
        not by what was swept. The horizon counts as swept, and the next sweep can begin,
        once its last step is done."""
        if not self._sweeping:
            horizon = self._horizon()
            self._sweeping = self._sweep_steps(horizon)
            if not self._sweeping:
                return False
            self._sweeping_to = horizon
        try:
            next(self._sweeping[0])
        except StopIteration:
            self._sweeping.pop(0)
        return True

    @property
    def sweep_behind(self) -> bool:
        """A sweep begun in steps is not done, and the clock has moved a sweep's step past its
        horizon: the caller finishes it whole, so that state is never held more than two
        steps longer however fast event time goes."""
        return bool(self._sweeping) and self._horizon() >= self._sweeping_to + self._sweep_step_s

    def _horizon(self) -> float:
        """How far the retention may forget now, rounded down to a sweep's step (NEVER: not yet)."""
        horizon = self._clock.frontier - self.retention_s
        return horizon if horizon == NEVER else math.floor(horizon / self._sweep_step_s) * self._sweep_step_s

    def _sweep_steps(self, horizon: float) -> list[Iterator[None]]:
        """The steps of the sweep due up to `horizon` (`_horizon`), in order, as iterators advanced a step at a time;
        none if no sweep is due. It forgets what no event that is not expired can need
        (contract 1.1, state retention): everything before the horizon, the clock less
        `retention_days`, where the clock is where every source has got to (`is_expired`: a
        source read behind the others still delivers events the horizon must not pass, and
        the watermark, less only the reorder allowance, is past the horizon: every timer
        before it has fired), rounded down to a multiple of the sweep's step so that every
        monitor forgets at the same event times. A sweep reads much of the state (it finds
        the beneficiary tokens by day, `agents.expiry`, and the event ids by bucket,
        `agents.seen`), so it runs every eighth of the retention (5 days of event time for
        45): state is held at most that much longer, and the sweeps cost a small constant
        per event. Raised alerts stay on the outputs."""
        if horizon == NEVER or horizon < self._swept + self._sweep_step_s:
            return []  # a source not heard from yet, or the last sweep is recent enough
        steps = [detector.sweep(self._state[detector.typology], horizon) for detector in self.detectors]
        return [*steps, _lazily(self._seen.expire, horizon), _lazily(self._forget_alerts, horizon)]

    def _forget_alerts(self, horizon: float) -> None:
        """The last step of a sweep: the alerts last changed before `horizon` go from the
        state (they stay on the outputs), and the horizon counts as swept."""
        alerts = self._alerts
        for key in [key for key, raised in alerts.items() if _last_change(raised.alert) < horizon]:
            del alerts[key]
        self._swept = self._meta["swept"] = horizon

    def on_checkpoint(self) -> None:
        """The state was just written as it stands (a worker's checkpoint): the ids of the
        events applied from now on go into new buckets (`agents.seen`), so that no
        checkpoint writes a bucket an earlier one wrote."""
        self._seen.seal()

    def _lane(self, event_type: str, only: frozenset[str] | None) -> list[Lane]:
        """The detectors (with their state) that an event of this type goes to."""
        lane = self._lanes.get((event_type, only))
        if not lane:
            lane = self._lanes[(event_type, only)] = [
                (d.on_event, self._state[d.typology])
                for d in self._by_type.get(event_type, ())
                if only is None or d.typology in only
            ]
        return lane

    def expect(self, sources: list[str]) -> None:
        """Every source that will deliver events (the worker's partitions of aid.events.v1):
        none of them is passed by the watermark before it is heard from."""
        self._clock.expect(sources)

    def take_held(self) -> set[str]:
        """The idle sources a source's waking made hold the watermark since the last call
        (`agents.clock`): each is to be announced idle again if it stays quiet."""
        return self._clock.take_held()

    def tick(self, source: str, time: float) -> list[Alert]:
        """`source` has got to `time` without an event for this monitor (a heartbeat)."""
        clock = self._clock
        clock.observe(source, time)
        if self._sweeps_inline and clock.frontier - self.retention_s >= self._swept + self._sweep_step_s:
            self.sweep()  # the whole sweep due, at once
        return self._emit(self._fire_timers(clock.watermark))

    def idle(self, source: str) -> list[Alert]:
        """`source` has nothing more for now; when every source is idle, judge everything."""
        self._clock.idle(source)
        return self._judge_now()

    def flush(self) -> list[Alert]:
        """End of input: every source is idle; judge every pending timer at the clock itself."""
        self._clock.idle_all()
        return self._judge_now()

    def _judge_now(self) -> list[Alert]:
        self._clock.save()
        found = self._fire_timers(self._clock.watermark, every=self._clock.all_idle)
        return self._emit(found)

    def alerts(self) -> list[Alert]:
        """The latest version of every alert raised so far whose evidence the retention has
        not passed (replay keeps its own record of what it wrote)."""
        return [raised.alert for raised in self._alerts.values()]

    def context(self, kind: str, subject_id: str, at: float) -> dict[str, Any]:
        """The map of an alert's subject (`agents.context`), zones as in force at `at`."""
        records: dict[str, Any] = {t: tables[t].get(subject_id) for t, tables in self._state.items()}
        return subject_context(records, self.zones, self._sites, kind, subject_id, at)

    def _apply_reference(self, event: ZoneDeclared | SiteRegistered | PartnerRegistered, ctx: Context) -> list[Finding]:
        found: list[Finding] = []
        if isinstance(event, SiteRegistered):
            d = event.data
            site = Site(d.site_id, d.name, d.kind, d.lat, d.lon, d.caseload_households)
            if self._sites.get(d.site_id) == site:
                return found  # registered again as it was (an agency's periodic re-send): nothing to judge again
            self._sites[d.site_id] = site
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
            rows = self._zone_rows.get(z.zone_id, [])
            if all(r["event_id"] != event.id for r in rows):
                self._zone_rows[z.zone_id] = [*rows, row]
            if not self.zones.declare(ZoneVersion(**row)):
                return found  # known, or declared again as it was: no zone changed
            for detector in self.detectors:
                found += detector.on_zones_changed(self._state[detector.typology], ctx, row["valid_from"])
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
            known: Raised | None = self._alerts.get(key)
            if known is not None and known.fingerprint == fingerprint:
                continue
            alert = to_alert(finding)
            self._alerts[key] = Raised(fingerprint, alert)
            alerts[alert.alert_id] = alert
        return list(alerts.values())


def _last_change(alert: Alert) -> float:
    return (alert.updated_at or alert.raised_at).timestamp()


def _fingerprint(finding: Finding) -> str:
    parts = [finding.severity, f"{finding.strength:.3f}", finding.summary, repr(finding.raised_at)]
    parts += [f"{p.event_id}:{p.detail}" for p in finding.evidence]
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()


def _lazily(work: Callable[[float], None], horizon: float) -> Iterator[None]:
    """`work(horizon)` as a sweep's step, done when first advanced."""
    work(horizon)
    yield from ()
