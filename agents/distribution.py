"""Distribution sites that hand out more than they have: more households than the caseload
allows in a round, or more of a commodity than they received."""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple

from agents.config import OverDistributionConfig
from agents.detector import Context, Detector, Site, timer_due
from agents.findings import Finding, Proof
from agents.state import Store
from agents.text import kg, moment
from schemas.alerts import Typology
from schemas.events import DistributionRecorded, Event, ShipmentReceived
from schemas.types import Item

RECEIPT, DISTRIBUTION = 0, 1
_NOTHING = (0.0, 0.0)

Entry = tuple[float, int, str, float, float, float]
"""A line of a commodity's stock ledger at a site, with the running totals after it:
`time, kind (RECEIPT | DISTRIBUTION), event_id, kilograms, received, distributed`, read by
unpacking. Ledgers are sorted, so receipts come first at equal times. A plain tuple: see
`agents.state`."""


class Excess(NamedTuple):
    """The first moment a commodity's distributions passed its receipts."""

    time: float
    event_id: str
    distributed: float  # kg distributed so far
    received: float  # kg received so far
    line: int  # its index in the ledger


def _by_commodity(items: Sequence[Item]) -> dict[str, float]:
    """Kilograms per commodity of an event (a commodity listed twice is one ledger line)."""
    if len(items) == 1:
        item = items[0]
        return {item.commodity: item.kilograms}
    kilos: dict[str, float] = {}
    for item in items:
        kilos[item.commodity] = kilos.get(item.commodity, 0.0) + item.kilograms
    return kilos


def _totals_before(ledger: list[Entry], index: int, base: tuple[float, float]) -> tuple[float, float]:
    """Kilograms received and distributed before the ledger line at `index` (`base`: before
    its first line, the totals of the lines the retention took out)."""
    if not index:
        return base
    _, _, _, _, received, distributed = ledger[index - 1]
    return received, distributed


def allowed_households(caseload_ratio: float, caseload: int) -> int:
    """How many households a round may serve at a site of this caseload."""
    return int(caseload_ratio * caseload + 1e-9)


@dataclass(slots=True)
class SiteRecord:
    rounds: dict[str, dict[str, tuple[float, str]]] = field(default_factory=dict)
    """round id -> beneficiary token -> (first time served, event id)"""
    crossings: dict[str, tuple[float, str]] = field(default_factory=dict)
    """round id -> the first service beyond the caseload limit, for rounds over it"""
    ledgers: dict[str, list[Entry]] = field(default_factory=dict)  # commodity -> its ledger
    candidates: dict[str, Excess] = field(default_factory=dict)
    """commodity -> the first excess in the movements known so far (a late receipt may undo it)"""
    excess: dict[str, Excess] = field(default_factory=dict)
    """commodity -> a candidate confirmed once the watermark passed it"""
    changed: bool = False  # crossings or excess changed since the last finding
    base: dict[str, tuple[float, float]] = field(default_factory=dict)
    """commodity -> kilograms received and distributed before its ledger's first line: the
    running totals of the lines the retention took out (`expire`)"""
    stale: dict[str, int] = field(default_factory=dict)
    """commodity -> the first ledger line whose running totals a late line has made stale
    (they are counted again, and the first excess looked for, before the stock is judged)"""


class OverDistributionDetector(Detector):
    """A round serving more households than the caseload allows, or a commodity distributed
    beyond what the site received at any moment of event time."""

    typology: ClassVar[Typology] = "over_distribution"
    consumes = frozenset({DistributionRecorded.TYPE, ShipmentReceived.TYPE})
    tables = (typology,)

    def __init__(self, config: OverDistributionConfig) -> None:
        self.config = config
        self._limits: dict[str, float] = {}  # site id -> households a round may serve (derived)

    def _allowed(self, site_id: str, ctx: Context) -> float:
        limit = self._limits.get(site_id)
        if limit is None:
            site = ctx.sites.get(site_id)
            caseload = site.caseload_households if site is not None else None
            limit = float("inf") if caseload is None else allowed_households(self.config.caseload_ratio, caseload)
            self._limits[site_id] = limit
        return limit

    def on_event(self, event: Event, state: Mapping[str, Store], ctx: Context) -> list[Finding]:
        table = state[self.typology]
        t = event.at
        if isinstance(event, ShipmentReceived):
            key = event.data.site_id
            record: SiteRecord = table.get(key) or SiteRecord()
            for commodity, kilos in _by_commodity(event.data.items).items():
                self._move(key, record, commodity, t, RECEIPT, event.id, kilos, ctx)
        elif isinstance(event, DistributionRecorded):
            key = event.subject
            record = table.get(key) or SiteRecord()
            data = event.data
            served = record.rounds.get(data.round_id)
            if served is None:
                served = record.rounds[data.round_id] = {}
            known = served.get(data.beneficiary)
            stamp = (t, event.id)
            if known is None or stamp < known:
                served[data.beneficiary] = stamp
                crossing = record.crossings.get(data.round_id)
                if crossing is not None:
                    if stamp < crossing and (known is None or known >= crossing):
                        # one more household served before the crossing: it moves back to the
                        # latest first service before it (late services only; in order, nothing moves)
                        record.crossings[data.round_id] = max(v for v in served.values() if v < crossing)
                        record.changed = True
                else:
                    limit = self._limits.get(key)
                    if limit is None:
                        limit = self._allowed(key, ctx)
                    if len(served) > limit:  # the first household beyond the caseload: found once
                        self._cross(record, data.round_id, ctx.sites.get(key))
            ledgers, ratio = record.ledgers, self.config.stock_ratio
            for commodity, kilos in _by_commodity(data.items).items():
                ledger = ledgers.get(commodity)
                if ledger and commodity not in record.stale:
                    last_time, _, _, _, received, distributed = ledger[-1]
                    if t > last_time:  # the hot path of _move, written out: in order
                        distributed += kilos
                        ledger.append((t, DISTRIBUTION, event.id, kilos, received, distributed))
                        if distributed > ratio * received and commodity not in record.candidates:
                            self._candidate(key, record, commodity, len(ledger) - 1, ctx)
                        continue
                self._move(key, record, commodity, t, DISTRIBUTION, event.id, kilos, ctx)
        else:
            return []
        found = self._judged(key, record, ctx)
        table[key] = record
        return found

    def _move(self, key: str, record: SiteRecord, commodity: str, t: float, kind: int, eid: str, kilos: float,
              ctx: Context) -> None:
        """Add a line to the commodity's ledger. In order, its running totals follow from the
        last line's and the first excess is looked for at once. A late line goes in its
        place and makes the totals after it stale: they are counted again, once for any
        number of late lines, when the watermark reaches the earliest of them (a timer) or
        the ledger is folded, and only then is the first excess after it looked for. (A
        partition read ahead of another brings a busy site's lines hours out of order:
        counting the tail again at each late line cost a quarter of the detectors' time.)"""
        ledger = record.ledgers.get(commodity)
        if ledger is None:
            ledger = record.ledgers[commodity] = []
        line = (t, kind, eid)  # sorts as the ledger line would
        stale = record.stale.get(commodity)
        if not ledger or line > ledger[-1]:  # in order: the usual case
            if stale is not None:  # the last line's totals are stale too: counted with them
                ledger.append((t, kind, eid, kilos, 0.0, 0.0))
                return
            received, distributed = _totals_before(ledger, len(ledger), record.base.get(commodity, _NOTHING))
            if kind == RECEIPT:
                received += kilos
            else:
                distributed += kilos
            ledger.append((t, kind, eid, kilos, received, distributed))
            if distributed > self.config.stock_ratio * received and commodity not in record.candidates:
                self._candidate(key, record, commodity, len(ledger) - 1, ctx)
            return
        index = bisect.bisect_left(ledger, line)
        if index < len(ledger):
            when, how, which, _, _, _ = ledger[index]
            if (when, how, which) == line:
                return  # applied already
        ledger.insert(index, (t, kind, eid, kilos, 0.0, 0.0))
        record.stale[commodity] = index if stale is None else min(stale, index)
        for found in (record.candidates, record.excess):
            if commodity in found and found[commodity].line >= index:
                del found[commodity]  # it may no longer hold, or hold elsewhere
                record.changed = True
        ctx.schedule(self.typology, key, t)

    def _recount(self, key: str, record: SiteRecord, ctx: Context) -> None:
        """Count the stale running totals again, and look for the first excess after them."""
        limit = self.config.stock_ratio
        for commodity, start in record.stale.items():
            ledger = record.ledgers[commodity]
            received, distributed = _totals_before(ledger, start, record.base.get(commodity, _NOTHING))
            look = commodity not in record.candidates
            for i in range(start, len(ledger)):
                when, how, which, amount, _, _ = ledger[i]
                if how == RECEIPT:
                    received += amount
                else:
                    distributed += amount
                ledger[i] = (when, how, which, amount, received, distributed)
                if look and how == DISTRIBUTION and distributed > limit * received:
                    self._candidate(key, record, commodity, i, ctx)
                    look = False
        record.stale.clear()

    def expire(self, state: Mapping[str, Store], horizon: float) -> None:
        """Rounds whose last service is before `horizon` go (a crossing found in one stays);
        ledger lines before it are folded into the totals they left (no event at or after
        `horizon` goes before them, and the watermark has passed them)."""
        table = state[self.typology]
        for key, record in list(table.items()):
            changed = False
            for round_id in [r for r, served in record.rounds.items() if max(served.values())[0] < horizon]:
                del record.rounds[round_id]
                changed = True
            for commodity, ledger in record.ledgers.items():
                folded = bisect.bisect_left(ledger, (horizon,))
                stale = record.stale.get(commodity)
                if stale is not None:  # lines before a stale one have their totals (late lines are not expired)
                    folded = min(folded, stale)
                    record.stale[commodity] = stale - folded
                if not folded:
                    continue
                _, _, _, _, received, distributed = ledger[folded - 1]
                record.base[commodity] = (received, distributed)
                del ledger[:folded]
                for found in (record.candidates, record.excess):
                    if commodity in found:
                        found[commodity] = found[commodity]._replace(line=found[commodity].line - folded)
                changed = True
            if changed:
                table[key] = record

    def _candidate(self, key: str, record: SiteRecord, commodity: str, index: int, ctx: Context) -> None:
        t, _, eid, _, received, distributed = record.ledgers[commodity][index]
        record.candidates[commodity] = Excess(t, eid, distributed, received, index)
        ctx.schedule(self.typology, key, t)  # confirmed once no late receipt can undo it

    def on_timer(self, key: str, state: Mapping[str, Store], ctx: Context) -> list[Finding]:
        table = state[self.typology]
        record: SiteRecord | None = table.get(key)
        if record is None:
            return []
        if record.stale:
            self._recount(key, record, ctx)
        for commodity, candidate in record.candidates.items():
            # confirmed once the watermark reaches the candidate's own timer (or the clock, when
            # every source is idle), whichever of the site's timers brought this call: the
            # moment does not depend on the order the late lines came in
            due = min(timer_due(candidate.time), ctx.clock)
            if due <= ctx.watermark and record.excess.get(commodity) != candidate:
                record.excess[commodity] = candidate
                record.changed = True
        found = self._judged(key, record, ctx)
        table[key] = record
        return found

    def on_site_changed(self, site_id: str, state: Mapping[str, Store], ctx: Context) -> list[Finding]:
        self._limits.pop(site_id, None)
        table = state[self.typology]
        record: SiteRecord | None = table.get(site_id)
        if record is None:
            return []
        for round_id in record.rounds:  # the caseload may have changed (rounds the retention took out stand)
            record.crossings.pop(round_id, None)
        record.changed = True
        for round_id in record.rounds:
            self._cross(record, round_id, ctx.sites.get(site_id))
        found = self._judged(site_id, record, ctx)
        table[site_id] = record
        return found

    def _cross(self, record: SiteRecord, round_id: str, site: Site | None) -> None:
        """Find the first service of the round beyond the caseload limit, if there is one."""
        if site is None or site.caseload_households is None:
            return
        served = record.rounds[round_id]
        allowed = allowed_households(self.config.caseload_ratio, site.caseload_households)
        if len(served) > allowed:
            crossing = heapq.nsmallest(allowed + 1, served.values())[-1]
            if record.crossings.get(round_id) != crossing:
                record.crossings[round_id] = crossing
                record.changed = True

    def _judged(self, key: str, record: SiteRecord, ctx: Context) -> list[Finding]:
        if not record.changed:
            return []
        record.changed = False
        if not record.crossings and not record.excess:
            return []
        site = ctx.sites.get(key)
        caseload = site.caseload_households if site else None
        evidence: list[Proof] = []
        parts = []
        raised = []
        for round_id, (t, eid) in sorted(record.crossings.items()):
            evidence.append(Proof(eid, DistributionRecorded.TYPE, t, (
                f"round {round_id}: beneficiary beyond {self.config.caseload_ratio:.0%} of the caseload "
                f"of {caseload} households")))
            parts.append(
                f"round {round_id} served more households than {self.config.caseload_ratio:.0%} "
                f"of its caseload of {caseload}"
            )
            raised.append(t)
        for commodity, excess in sorted(record.excess.items()):
            distributed, received = kg(excess.distributed), kg(excess.received)
            evidence.append(Proof(excess.event_id, DistributionRecorded.TYPE, excess.time, (
                f"{commodity}: {distributed} distributed against {received} received by {moment(excess.time)}")))
            parts.append(f"{commodity} distributed beyond stock ({distributed} against {received} received)")
            raised.append(excess.time)
        both = bool(record.crossings) and bool(record.excess)
        return [Finding(
            typology=self.typology,
            subject_kind="site",
            subject_id=key,
            severity=self.config.both_severity if both else self.config.severity,
            strength=min(1.0, len(parts) / 4),
            summary=(
                f"Site {key} over-distributed: {'; '.join(parts[:3])}; "
                f"audit the distribution lists and the stock ledger."
            ),
            evidence=tuple(evidence),
            raised_at=min(raised),
        )]
