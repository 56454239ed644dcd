"""Distribution sites that hand out more than they have: more households than the caseload
allows in a round, or more of a commodity than they received."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar

from agents.chunks import CHUNK_SIZE, Chunk, chain, collect
from agents.config import OverDistributionConfig
from agents.detector import Context, Detector, timer_due
from agents.findings import Finding
from agents.rounds import allowed_households, crossing_of, last_service, serve
from agents.site_record import SiteRecord, site_finding
from agents.state import Store
from agents.stock import DISTRIBUTION, NOTHING, RECEIPT, Excess, Line, by_commodity, fold, place_late, recount
from schemas.alerts import Typology
from schemas.events import DistributionRecorded, Event, ShipmentReceived

SWEEP_SERVED = 2000  # served tokens a part of a sweep in parts forgets (`sweep`)


class OverDistributionDetector(Detector):
    """A round serving more households than the caseload allows, or a commodity distributed
    beyond what the site received at any moment of event time."""

    typology: ClassVar[Typology] = "over_distribution"
    consumes = frozenset({DistributionRecorded.TYPE, ShipmentReceived.TYPE})
    _served: ClassVar[str] = f"{typology}.served"  # site, round, token -> the services that were its first
    _services: ClassVar[str] = f"{typology}.services"  # name -> an earlier chunk of a round's first services
    _ledgers: ClassVar[str] = f"{typology}.ledgers"  # name -> an earlier chunk of a commodity's ledger
    parts = (_served, _services, _ledgers)
    tables = (typology, *parts)

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
            record: SiteRecord = table.get(key) or SiteRecord(site_id=key)
            for commodity, kilos in by_commodity(event.data.items).items():
                self._move(key, record, commodity, t, RECEIPT, event.id, kilos, state, ctx)
        elif isinstance(event, DistributionRecorded):
            key = event.subject
            record = table.get(key) or SiteRecord(site_id=key)
            data = event.data
            limit = self._limits.get(key)
            if limit is None:
                limit = self._allowed(key, ctx)
            round_id = data.round_id
            crossing = record.crossings.get(round_id)
            served = serve(state[self._served], state[self._services], record.rounds.get(round_id),
                           f"{key}\x1f{round_id}\x1f{data.beneficiary}", (t, event.id), limit, crossing,
                           record.new_name)
            if served is not None:
                record.rounds[round_id], moved = served
                if moved != crossing and moved is not None:
                    record.crossings[round_id] = moved
                    record.changed = True
            ledgers, ratio, items = record.ledgers, self.config.stock_ratio, data.items
            # one item, the usual distribution: what by_commodity gives, without the dict
            moves = ((items[0].commodity, items[0].kilograms),) if len(items) == 1 else by_commodity(items).items()
            for commodity, kilos in moves:
                latest = ledgers.get(commodity)
                if latest is not None and commodity not in record.stale:
                    _, lines = latest
                    last_time, _, _, _, received, distributed = lines[-1]
                    if t > last_time:  # the in-order case of _move, written out: the usual one
                        distributed += kilos
                        line = (t, DISTRIBUTION, event.id, kilos, received, distributed)
                        if len(lines) < CHUNK_SIZE:
                            lines.append(line)
                        else:
                            self._push(key, record, commodity, line, state)
                        if distributed > ratio * received and commodity not in record.candidates:
                            self._candidate(key, record, commodity, line, ctx)
                        continue
                self._move(key, record, commodity, t, DISTRIBUTION, event.id, kilos, state, ctx)
        else:
            return []
        found = site_finding(self.config, key, record, ctx.sites.get(key))
        table[key] = record
        return found

    def _push(self, key: str, record: SiteRecord, commodity: str, line: Line, state: Mapping[str, Store]) -> None:
        """Start the commodity's next chunk with `line`, its full latest chunk going into the store."""
        name = record.new_name()
        state[self._ledgers][name] = record.ledgers[commodity]
        record.ledgers[commodity] = (name, [line])

    def _append(self, key: str, record: SiteRecord, commodity: str, line: Line, state: Mapping[str, Store]) -> None:
        """Add `line` at the end of the commodity's ledger."""
        latest = record.ledgers.get(commodity)
        if latest is None:
            record.ledgers[commodity] = (None, [line])
            return
        _, lines = latest
        if len(lines) < CHUNK_SIZE:
            lines.append(line)
        else:
            self._push(key, record, commodity, line, state)

    def _move(self, key: str, record: SiteRecord, commodity: str, t: float, kind: int, eid: str, kilos: float,
              state: Mapping[str, Store], ctx: Context) -> None:
        """Add a line to the commodity's ledger. In order, its running totals follow from the
        last line's and the first excess is looked for at once. A late line goes in its
        place and makes the totals after it stale: they are counted again, once for any
        number of late lines, when the watermark reaches the earliest of them (a timer), and
        only then is the first excess after it looked for. (A partition read ahead of
        another brings a busy site's lines hours out of order: counting the tail again at
        each late line cost a quarter of the detectors' time.)"""
        latest = record.ledgers.get(commodity)
        stamp = (t, kind, eid)  # sorts as the ledger line would
        if latest is None:
            received, distributed = record.base.get(commodity, NOTHING)
        else:
            _, lines = latest
            if stamp < lines[-1]:  # late (a line with the same stamp sorts after it too)
                self._late(key, record, commodity, latest, (t, kind, eid, kilos, 0.0, 0.0), state, ctx)
                return
            _, _, _, _, received, distributed = lines[-1]
        if commodity in record.stale:  # the last line's totals are stale too: counted with them
            self._append(key, record, commodity, (t, kind, eid, kilos, 0.0, 0.0), state)
            return
        if kind == RECEIPT:
            received += kilos
        else:
            distributed += kilos
        line = (t, kind, eid, kilos, received, distributed)
        self._append(key, record, commodity, line, state)
        if distributed > self.config.stock_ratio * received and commodity not in record.candidates:
            self._candidate(key, record, commodity, line, ctx)

    def _late(self, key: str, record: SiteRecord, commodity: str, latest: Chunk, line: Line,
              state: Mapping[str, Store], ctx: Context) -> None:
        """Put a late line in its place: the totals from it on are stale, and what the
        candidate or confirmed excess after it rested on may have changed."""
        placed = place_late(state[self._ledgers], latest, record.floors.get(commodity), line,
                            record.new_name)
        if placed is None:
            return  # applied already
        t, kind, eid, _, _, _ = line
        stamp = (t, kind, eid)
        record.ledgers[commodity] = placed
        stale = record.stale.get(commodity)
        record.stale[commodity] = stamp if stale is None else min(stale, stamp)
        for found in (record.candidates, record.excess):
            known = found.get(commodity)
            if known is not None and (known.time, DISTRIBUTION, known.event_id) > stamp:
                del found[commodity]  # it may no longer hold, or hold elsewhere
                record.changed = True
        ctx.schedule(self.typology, key, t)

    def _recount(self, key: str, record: SiteRecord, state: Mapping[str, Store], ctx: Context) -> None:
        """Count the stale running totals again, and look for the first excess after them."""
        ledgers, names = state[self._ledgers], record.new_name
        for commodity, start in record.stale.items():
            latest, found = recount(ledgers, record.ledgers[commodity], record.floors.get(commodity), start,
                                    record.base.get(commodity, NOTHING), self.config.stock_ratio,
                                    commodity not in record.candidates, names)
            record.ledgers[commodity] = latest
            if found is not None:
                self._candidate(key, record, commodity, found, ctx)
        record.stale.clear()

    def _candidate(self, key: str, record: SiteRecord, commodity: str, line: Line, ctx: Context) -> None:
        t, _, eid, _, received, distributed = line
        record.candidates[commodity] = Excess(t, eid, distributed, received)
        ctx.schedule(self.typology, key, t)  # confirmed once no late receipt can undo it

    def expire(self, state: Mapping[str, Store], horizon: float) -> None:
        """Rounds whose last service is before `horizon` go (a crossing found in one stays);
        the ledgers' chunks before it are folded into the totals they left (no event at or
        after `horizon` goes before them, and the watermark has passed them). Then every
        chunk no record names any more goes, and the tokens of the rounds that went."""
        for _ in self.sweep(state, horizon):
            pass

    def sweep(self, state: Mapping[str, Store], horizon: float) -> Iterator[None]:
        """`expire` in parts: the sites' records and the chunks first, then the tokens of
        the rounds that went, `SWEEP_SERVED` a part (a big camp's round has thousands). A
        token of a round that went counts as never served (`rounds.serve` reads its first
        services only with the round's head, and a round served again after `horizon` holds
        none of them), so events applied between the parts find what they would after the
        whole sweep; a round served again meanwhile keeps the tokens it has."""
        gone = self._forget_rounds(state, horizon)
        if not gone:
            return
        yield
        served = state[self._served]
        prefixes = {f"{site_id}\x1f{round_id}\x1f": (site_id, round_id) for site_id, round_id in gone}
        starts = tuple(prefixes)
        names = [name for name in served if name.startswith(starts)]
        table = state[self.typology]
        for start in range(0, len(names), SWEEP_SERVED):
            yield
            for name in names[start:start + SWEEP_SERVED]:
                went = prefixes.get(name[:name.rindex("\x1f") + 1])  # a token has no separator; ids may
                if went is None:
                    continue  # another site's or round's whose id begins as this one's
                site_id, round_id = went
                record: SiteRecord | None = table.get(site_id)
                if (record is None or round_id not in record.rounds) and name in served:
                    del served[name]

    def _forget_rounds(self, state: Mapping[str, Store], horizon: float) -> list[tuple[str, str]]:
        """The first part of a sweep: the rounds before `horizon` leave the sites' records,
        the ledgers are folded, the chunks no record names go; the (site, round) that went."""
        table, ledgers, services = state[self.typology], state[self._ledgers], state[self._services]
        gone: list[tuple[str, str]] = []
        chunks: set[str] = set()
        lines: set[str] = set()
        for key, record in list(table.items()):
            changed = False
            for round_id in [r for r, head in record.rounds.items() if last_service(head) < horizon]:
                del record.rounds[round_id]
                gone.append((key, round_id))
                changed = True
            for _, latest in record.rounds.values():
                chunks.update(chain(services, latest))
            for commodity, latest in record.ledgers.items():
                floor, stale = record.floors.get(commodity), record.stale.get(commodity)
                folded = fold(ledgers, latest, floor, horizon, stale, lines)
                if folded is not None:
                    record.floors[commodity], record.base[commodity] = folded
                    changed = True
            if changed:
                table[key] = record
        collect(services, chunks)
        collect(ledgers, lines)
        return gone

    def on_timer(self, key: str, state: Mapping[str, Store], ctx: Context) -> list[Finding]:
        table = state[self.typology]
        record: SiteRecord | None = table.get(key)
        if record is None:
            return []
        if record.stale:
            self._recount(key, record, state, ctx)
        for commodity, candidate in record.candidates.items():
            # confirmed once the watermark reaches the candidate's own timer (or the clock, when
            # every source is idle), whichever of the site's timers brought this call: the
            # moment does not depend on the order the late lines came in
            due = min(timer_due(candidate.time), ctx.clock)
            if due <= ctx.watermark and record.excess.get(commodity) != candidate:
                record.excess[commodity] = candidate
                record.changed = True
        found = site_finding(self.config, key, record, ctx.sites.get(key))
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
        site = ctx.sites.get(site_id)
        if site is not None and site.caseload_households is not None:
            allowed = allowed_households(self.config.caseload_ratio, site.caseload_households)
            for round_id, head in record.rounds.items():
                crossing = crossing_of(state[self._services], head, allowed)
                if crossing is not None:
                    record.crossings[round_id] = crossing
        found = site_finding(self.config, site_id, record, site)
        table[site_id] = record
        return found
