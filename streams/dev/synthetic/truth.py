"""The ground truth: the findings a correct monitor raises, and the raw ids used twice."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from streams.dev.synthetic.aid import kilograms
from streams.dev.synthetic.mixes import Mix
from streams.dev.synthetic.records import Ev
from streams.dev.synthetic.shipments import Trip


def derive_truth(events: list[Ev], trips: list[Trip], hits: set[str], site: str,
                 mix: Mix) -> tuple[list[list[str]], list[str]]:
    """Shipment findings as planted (incidents: as placed, with margins); distribution
    findings by the contract's rules over the events themselves."""
    found = {("incident_nearby", sid) for sid in hits} | {("non_receipt_feedback", site)}
    by_flag = {"loss": "transit_loss", "deviate": "route_deviation", "pay_stop": "unscheduled_stop",
               "long_stop": "unscheduled_stop", "late": "overdue_shipment", "lost": "overdue_shipment",
               "sanction": "sanctioned_party"}
    found |= {(by_flag[flag], t.sid) for t in trips for flag in t.plan if flag in by_flag}
    rounds: dict[tuple[str, str], set[str]] = defaultdict(set)
    visits: Counter[tuple[str, str]] = Counter()
    flows: dict[str, list[tuple[datetime, int, dict[str, float]]]] = defaultdict(list)
    for ev in events:
        d = ev.data
        if ev.type == "shipment.received":
            flows[d["site_id"]].append((ev.time, 0, kilograms(d["items"])))
        elif ev.type == "distribution.recorded":
            rounds[(d["site_id"], d["round_id"])].add(d["beneficiary"])
            visits[(d["round_id"], d["beneficiary"])] += 1
            flows[d["site_id"]].append((ev.time, 1, kilograms(d["items"])))
    found |= {("over_distribution", site) for (site, _), people in rounds.items()
              if len(people) > 1.10 * mix.sites[site].caseload}
    for site, rows in flows.items():
        received, given = Counter[str](), Counter[str]()
        for _, kind, items in sorted(rows, key=lambda r: (r[0], r[1])):
            (received if kind == 0 else given).update(items)
            if kind == 1 and any(given[c] > 1.02 * received[c] for c in items):
                found.add(("over_distribution", site))
    found |= {("duplicate_collection", who) for (_, who), n in visits.items() if n > 1 and who.startswith("tok_")}
    raw_ids = sorted({who for (_, who), n in visits.items() if n > 1 and not who.startswith("tok_")})
    return sorted([list(f) for f in found]), raw_ids
