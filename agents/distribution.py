"""Distribution sites that hand out more than they have: more households than the caseload
allows in a round, or more of a commodity than they received."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar

from agents.chunks import LEAF, append, collect, drop, fold, names, place, start
from agents.config import OverDistributionConfig
from agents.detector import Context, Detector, timer_due
from agents.findings import Finding
from agents.rounds import RoundTokens, allowed_households, crossing_of, last_service, serve
from agents.site_record import SiteRecord, site_finding
from agents.state import Store
from agents.stock import DISTRIBUTION, MG_PER_KG, NOTHING, RECEIPT, Line, by_commodity, excess, first_excess, weigh
from schemas.alerts import Typology
from schemas.events import DistributionRecorded, Event, ShipmentReceived
from schemas.types import KG_PER_UNIT

SWEEP_SERVED = 2000  # served tokens a part of a sweep in parts forgets (`sweep`)


class OverDistributionDetector(Detector):
    """A round serving more households than the caseload allows, or a commodity distributed
    beyond what the site received at any moment of event time."""

    typology: ClassVar[Typology] = "over_distribution"
    consumes = frozenset({DistributionRecorded.TYPE, ShipmentReceived.TYPE})
    _served: ClassVar[str] = f"{typology}.served"  # site, round, token -> the services that were its first
    _services: ClassVar[str] = f"{typology}.services"  # name -> a leaf or node of a round's first services
    _ledgers: ClassVar[str] = f"{typology}.ledgers"  # name -> a leaf or node of a commodity's ledger
    parts = (_served, _services, _ledgers)
    tables = (typology, *parts)

    def __init__(self, config: OverDistributionConfig) -> None:
        self.config = config
        self._limits: dict[str, float] = {}  # site id -> households a round may serve (derived)
        self._collected = False  # whether a sweep has collected the leaves and nodes no record names
        self._tokens = RoundTokens()  # the served store's names by round (derived)

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
        if isinstance(event, DistributionRecorded):
            key = event.subject
            record: SiteRecord = table.get(key) or SiteRecord(site_id=key)
            self._serve(event, key, record, state, ctx)
            self._distribute(event, key, record, state, ctx)
        elif isinstance(event, ShipmentReceived):
            key = event.data.site_id
            record = table.get(key) or SiteRecord(site_id=key)
            t = event.at
            for commodity, amount in by_commodity(event.data.items).items():
                self._move(key, record, commodity, (t, RECEIPT, event.id, amount), state, ctx)
        else:
            return []
        table[key] = record
        if not record.changed:  # site_finding's first test, without the call: the usual case
            return []
        return site_finding(self.config, key, record, ctx.sites.get(key))

    def _serve(self, event: DistributionRecorded, key: str, record: SiteRecord, state: Mapping[str, Store],
               ctx: Context) -> None:
        """Count the distribution's beneficiary in its round (`rounds.serve`)."""
        data = event.data
        round_id = data.round_id
        limit = self._limits.get(key)
        if limit is None:
            limit = self._allowed(key, ctx)
        prefix = f"{key}\x1f{round_id}\x1f"
        name = prefix + data.beneficiary
        served, stamp, tokens = state[self._served], (event.at, event.id), self._tokens
        if tokens.store is not served:
            tokens.follow(served)
        head = record.rounds.get(round_id)
        if name not in served:
            tokens.add(prefix, name)
            if head is not None:
                households, firsts = head
                leaf = firsts[0]
                if households < limit and len(leaf) < LEAF and stamp > leaf[-1]:
                    # a household's first service, in order, within the caseload: the usual case of
                    # `serve`, written out
                    served[name] = (stamp,)
                    leaf.append(stamp)
                    record.rounds[round_id] = households + 1, firsts
                    return
        crossing = record.crossings.get(round_id)
        after = serve(served, state[self._services], head, name, stamp, limit, crossing, record.new_name)
        if after is not None:
            record.rounds[round_id], moved = after
            if moved != crossing and moved is not None:
                record.crossings[round_id] = moved
                record.changed = True

    def _distribute(self, event: DistributionRecorded, key: str, record: SiteRecord, state: Mapping[str, Store],
                    ctx: Context) -> None:
        """Add the distribution's lines to the site's ledgers (`_move`)."""
        t, event_id, items = event.at, event.id, event.data.items
        ledgers, totals, ratio = record.ledgers, record.totals, self.config.stock_ratio
        n = len(items)
        if n > 1 and (items[0].commodity == items[1].commodity if n == 2
                      else len({item.commodity for item in items}) < n):
            for commodity, amount in by_commodity(items).items():  # a commodity listed twice is one line
                self._move(key, record, commodity, (t, DISTRIBUTION, event_id, amount), state, ctx)
            return
        stale, candidates = record.stale, record.candidates
        for item in items:
            commodity = item.commodity
            amount = round(item.quantity * KG_PER_UNIT[item.unit] * MG_PER_KG)  # by_commodity's sum, written out
            ledger = ledgers.get(commodity)
            if ledger is not None:
                leaf = ledger[0]
                last_t, last_kind, last_id, _ = leaf[-1]
                if t > last_t or (t == last_t and (last_kind < DISTRIBUTION or event_id > last_id)):
                    # the in-order case of _move, written out: the usual one
                    received, distributed = totals[commodity]
                    distributed += amount
                    totals[commodity] = received, distributed
                    line = (t, DISTRIBUTION, event_id, amount)
                    if len(leaf) < LEAF:
                        leaf.append(line)
                    else:
                        append(state[self._ledgers], ledger, line, weigh, record.new_name)
                    if distributed > ratio * received and commodity not in candidates and commodity not in stale:
                        self._candidate(key, record, commodity, t, event_id, ctx)
                    continue
            self._move(key, record, commodity, (t, DISTRIBUTION, event_id, amount), state, ctx)

    def _move(self, key: str, record: SiteRecord, commodity: str, line: Line, state: Mapping[str, Store],
              ctx: Context) -> None:
        """Add a line to the commodity's ledger and its totals. In order, the first excess
        is looked for at once. A late line goes in its place and the running totals after it
        change: the first excess after it is looked for once for any number of late lines,
        when the watermark reaches the earliest of them (a timer). (A partition read ahead of
        another brings a busy site's lines hours out of order.)"""
        t, kind, eid, amount = line
        ledger = record.ledgers.get(commodity)
        if ledger is None:
            record.ledgers[commodity] = start(line)
        elif line[:3] > ledger[0][-1][:3]:
            append(state[self._ledgers], ledger, line, weigh, record.new_name)
        elif place(state[self._ledgers], ledger, line[:3], line, weigh, record.new_name):
            self._late(key, record, commodity, line, ctx)
            return
        else:
            return  # applied already
        received, distributed = record.totals.get(commodity, NOTHING)
        if kind == RECEIPT:
            received += amount
        else:
            distributed += amount
        record.totals[commodity] = received, distributed
        if commodity in record.stale:
            return  # looked for from the earliest late line on, this one included
        if distributed > self.config.stock_ratio * received and commodity not in record.candidates:
            self._candidate(key, record, commodity, t, eid, ctx)

    def _late(self, key: str, record: SiteRecord, commodity: str, line: Line, ctx: Context) -> None:
        """A late line was put in its place: add it to the totals; the running totals from it
        on changed, and what the candidate or confirmed excess after it rested on may have."""
        t, kind, eid, amount = line
        received, distributed = record.totals[commodity]
        record.totals[commodity] = (received + amount, distributed) if kind == RECEIPT else (received,
                                                                                             distributed + amount)
        stamp = (t, kind, eid)
        stale = record.stale.get(commodity)
        record.stale[commodity] = stamp if stale is None else min(stale, stamp)
        for found in (record.candidates, record.excess):
            known = found.get(commodity)
            if known is not None and (known.time, DISTRIBUTION, known.event_id) > stamp:
                del found[commodity]  # it may no longer hold, or hold elsewhere
                record.changed = True
        ctx.schedule(self.typology, key, t)

    def _look_again(self, key: str, record: SiteRecord, state: Mapping[str, Store], ctx: Context) -> None:
        """Look for the first excess after the earliest late line of each commodity (one
        before it, still a candidate, stands)."""
        for commodity, stamp in record.stale.items():
            if commodity in record.candidates:
                continue
            found = first_excess(state[self._ledgers], record.ledgers[commodity], record.base.get(commodity, NOTHING),
                                 stamp, self.config.stock_ratio)
            if found is not None:
                record.candidates[commodity] = found
                ctx.schedule(self.typology, key, found.time)
        record.stale.clear()

    def _candidate(self, key: str, record: SiteRecord, commodity: str, t: float, eid: str, ctx: Context) -> None:
        record.candidates[commodity] = excess(t, eid, record.totals[commodity])
        ctx.schedule(self.typology, key, t)  # confirmed once no late receipt can undo it

    def expire(self, state: Mapping[str, Store], horizon: float) -> None:
        """Rounds whose last service is before `horizon` go (a crossing found in one stays);
        the ledgers' leaves before it are folded into the totals they left (no event at or
        after `horizon` goes before them, and the watermark has passed them). The leaves and
        nodes they held go with them (at a monitor's first sweep, every one no record names),
        and the tokens of the rounds that went."""
        for _ in self.sweep(state, horizon):
            pass

    def sweep(self, state: Mapping[str, Store], horizon: float) -> Iterator[None]:
        """`expire` in parts: the sites' records and the leaves and nodes first, then the tokens of
        the rounds that went, `SWEEP_SERVED` a part (a big camp's round has thousands). A
        token of a round that went counts as never served (`rounds.serve` reads its first
        services only with the round's head, and a round served again after `horizon` holds
        none of them), so events applied between the parts find what they would after the
        whole sweep; a round served again meanwhile keeps the tokens it has."""
        gone = self._forget_rounds(state, horizon)
        if not gone:
            return
        yield
        served, table, index = state[self._served], state[self.typology], self._tokens
        index.follow(served)
        for site_id, round_id in gone:
            prefix = f"{site_id}\x1f{round_id}\x1f"
            tokens = index.take(prefix)
            for part in range(0, len(tokens), SWEEP_SERVED):
                yield
                record: SiteRecord | None = table.get(site_id)
                if record is not None and round_id in record.rounds:  # served again meanwhile: it keeps them
                    for name in tokens[part:]:
                        if name in served:
                            index.add(prefix, name)
                    break
                for name in tokens[part:part + SWEEP_SERVED]:
                    if name in served:
                        del served[name]

    def _forget_rounds(self, state: Mapping[str, Store], horizon: float) -> list[tuple[str, str]]:
        """The first part of a sweep: the rounds before `horizon` leave the sites' records,
        their leaves and nodes deleted, and the ledgers are folded; the (site, round) that
        went. The first sweep of a monitor also deletes every leaf or node no record names
        (`collect`: those of a checkpoint cut short before the monitor was made on its state)."""
        table, ledgers, services = state[self.typology], state[self._ledgers], state[self._services]
        gone: list[tuple[str, str]] = []
        for key, record in list(table.items()):
            changed = False
            for round_id in [r for r, head in record.rounds.items() if last_service(head) < horizon]:
                _, sequence = record.rounds.pop(round_id)
                drop(services, sequence)
                gone.append((key, round_id))
                changed = True
            for commodity, ledger in record.ledgers.items():
                stale = record.stale.get(commodity)
                folded = fold(ledgers, ledger, (horizon,) if stale is None else min((horizon,), stale), weigh,
                              record.new_name)
                if folded is not None:
                    _, received, distributed = folded
                    before_received, before_distributed = record.base.get(commodity, NOTHING)
                    record.base[commodity] = before_received + received, before_distributed + distributed
                    changed = True
            if changed:
                table[key] = record
        if not self._collected:
            self._collected = True
            collect(services, {name for record in table.values() for _, sequence in record.rounds.values()
                               for name in names(services, sequence)})
            collect(ledgers, {name for record in table.values() for ledger in record.ledgers.values()
                              for name in names(ledgers, ledger)})
        return gone

    def on_timer(self, key: str, state: Mapping[str, Store], ctx: Context) -> list[Finding]:
        table = state[self.typology]
        record: SiteRecord | None = table.get(key)
        if record is None:
            return []
        if record.stale:
            self._look_again(key, record, state, ctx)
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
