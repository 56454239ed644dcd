"""Aid at the sites: rounds of distributions fed by receipts, and beneficiary feedback."""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from streams.dev.synthetic.mixes import Mix
from streams.dev.synthetic.places import Site
from streams.dev.synthetic.records import DAYS, START, WFP, Builder
from streams.dev.synthetic.shipments import Trip

SHARE = 0.215  # normal distribution hands out at most this share of what a site received
RATION = {"sorghum": ("kg", 9.0), "pulses": ("kg", 1.5), "veg_oil": ("l", 0.75), "csb": ("kg", 1.0)}


@dataclass
class Visit:
    """A planned extra distribution: duplicates, the raw id, and over-distribution plants."""

    site: str
    rnd: int
    day: int
    beneficiary: str
    forced: tuple[str, ...] = ()  # commodities handed out whatever the stock


def kilograms(items: list[dict[str, Any]]) -> dict[str, float]:
    """Kilograms per commodity (`mt` is 1000 kg, `l` counts as kg)."""
    totals = Counter[str]()
    for item in items:
        totals[item["commodity"]] += item["quantity"] * (1000 if item["unit"] == "mt" else 1)
    return dict(totals)


def _token(rng: random.Random) -> str:
    return f"tok_{rng.getrandbits(128):032x}"


def _round_day(rng: random.Random, rnd: int, days: int) -> int:
    return rnd * days + rng.randrange(min(days, DAYS - rnd * days))


def _visits(rng: random.Random, pools: dict[str, list[str]], shipments: int, mix: Mix) -> list[Visit]:
    points, days, last = mix.points, mix.round_days, mix.rounds - 1
    weights = [p.weight for p in points]
    visits = []
    for _ in range(max(5, round(shipments / 6))):  # same token twice in a round
        rnd, first = rng.randrange(1, last + 1), rng.choices(points, weights)[0]
        second = first if rng.random() < 0.6 else rng.choices(points, weights)[0]
        token = rng.choice(pools[first.site_id])
        visits += [Visit(s.site_id, rnd, _round_day(rng, rnd, days), token) for s in (first, second)]
    raw = f"MLI-MBR-{rng.randrange(10000, 100000)}"  # a raw id: its token depends on the secret
    rnd = min(4, last)
    visits += [Visit("CMP-MBR", rnd, _round_day(rng, rnd, days), raw) for _ in range(2)]
    for token in rng.sample(pools["DP-KID"], rng.randint(15, 30)):  # before any receipt
        visits.append(Visit("DP-KID", 0, 0, token, ("sorghum",)))
    rnd = rng.randrange(1, last + 1)
    for token in rng.sample(pools["DP-MEN"], rng.randint(12, 25)):  # csb never reaches Menaka
        visits.append(Visit("DP-MEN", rnd, rnd * days, token, ("csb",)))
    return visits


def _ration(size: int, received: Counter[str], given: Counter[str], share: float | None,
            forced: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Items for a household of `size`, within `share` of the stock received (None: no check)."""
    items: list[dict[str, Any]] = []
    for commodity, (unit, per_person) in RATION.items():
        quantity = round(per_person * size, 2)
        if forced:
            wanted = commodity in forced
        elif share is None:
            wanted = commodity in ("sorghum", "pulses")
        else:
            wanted = given[commodity] + quantity <= share * received[commodity]
        if wanted:
            items.append({"commodity": commodity, "unit": unit, "quantity": quantity})
    if share is not None and not forced and items[:1] != [] and items[0]["commodity"] != "sorghum":
        return []  # no staple in stock: the household comes back another day
    for item in items:
        given[item["commodity"]] += item["quantity"]
    return items


def _serve(b: Builder, site: Site, receipts: list[tuple[datetime, dict[str, float], str]], pool: list[str],
           visits: list[Visit], rules: dict[int, tuple[int, float | None]], mix: Mix) -> None:
    """Day by day: planned visits first, then households in random order, while stock lasts."""
    rng, received, given, k, last = b.rng, Counter[str](), Counter[str](), 0, ""
    source, days = "/agencies/unhcr/mrt" if site.kind == "camp" else WFP, mix.round_days
    order: list[str] = []
    served: set[str] = set()
    for day in range(DAYS):
        rnd = day // days
        if day % days == 0:
            order, served, at = rng.sample(pool, len(pool)), set(), 0
        opens = START + timedelta(days=day, hours=8)
        while k < len(receipts) and receipts[k][0] < opens:
            received.update(receipts[k][1])
            last, k = receipts[k][2], k + 1
        target, share = rules.get(rnd, (int(0.9 * site.caseload), SHARE))
        due = [v for v in visits if v.rnd == rnd and v.day <= day]
        if not due and rnd not in rules and rng.random() > 0.7:
            continue
        rows = []
        for v in due:
            size = rng.randint(2, 10)
            items = _ration(size, received, given, share and max(share, 0.9), v.forced)
            if items:
                rows.append((v.beneficiary, size, items))
                served.add(v.beneficiary)
                visits.remove(v)
        cap = site.caseload // 3 + 1 if rnd in rules else max(15, site.caseload // 5)
        while len(served) < target and len(rows) < cap and at < len(order):
            if order[at] not in served:
                size = rng.randint(2, 10)
                items = _ration(size, received, given, share)
                if not items:
                    break
                rows.append((order[at], size, items))
                served.add(order[at])
            at += 1
        times = sorted(opens + timedelta(seconds=rng.uniform(0, 9 * 3600)) for _ in rows)
        for when, (beneficiary, size, items) in zip(times, rows, strict=True):
            data = {"site_id": site.site_id, "round_id": mix.round_id(rnd), "beneficiary": beneficiary,
                    "household_size": size, "items": items}
            if last and rng.random() < 0.2:
                data["shipment_id"] = last
            b.emit("distribution.recorded", when, site.site_id, data, source)


def distribute(b: Builder, trips: list[Trip], shipments: int, mix: Mix) -> dict[str, list[str]]:
    """Rounds at every point; plants over-distribution at Kidal (before receipts), Menaka
    (csb never received) and Ansongo (116 % of caseload); Bourem serves 105 % (near miss)."""
    rng, sites, last = b.rng, mix.sites, mix.rounds - 1
    pools = {p.site_id: [_token(rng) for _ in range(math.ceil(1.3 * p.caseload))] for p in mix.points}
    visits = _visits(rng, pools, shipments, mix)
    receipts: dict[str, list[tuple[datetime, dict[str, float], str]]] = defaultdict(list)
    for trip in trips:
        if trip.receipt is not None:
            receipts[trip.dest.site_id].append((trip.receipt.time, kilograms(trip.receipt.data["items"]), trip.sid))
    rules: dict[str, dict[int, tuple[int, float | None]]] = {
        "DP-ANS": {rng.randrange(1, last + 1): (math.ceil(1.16 * sites["DP-ANS"].caseload), None)},
        "DP-BRM": {last: (math.ceil(1.05 * sites["DP-BRM"].caseload), 0.9)}}
    for p in mix.points:
        mine = [v for v in visits if v.site == p.site_id]
        _serve(b, p, sorted(receipts[p.site_id], key=lambda r: (r[0], r[2])), pools[p.site_id], mine,
               rules.get(p.site_id, {}), mix)
    return pools


def emit_feedback(b: Builder, pools: dict[str, list[str]], shipments: int, mix: Mix) -> str:
    """Scattered partial/other feedback; 6-12 non-receipt reports in 3 days at one site,
    4 in 5 days at another (near miss), and two isolated ones elsewhere. Returns the planted site."""
    rng, ids, days, last = b.rng, [p.site_id for p in mix.points], mix.round_days, mix.rounds - 1

    def say(site: str, day: float, category: str) -> None:
        data: dict[str, Any] = {"site_id": site, "category": category}
        if rng.random() < 0.7:
            data["round_id"] = mix.round_id(min(last, int(day) // days))
        if rng.random() < 0.6:
            data["beneficiary"] = rng.choice(pools[site])
        b.emit("feedback.received", START + timedelta(days=day), site, data, "/agencies/wfp/mli/hotline")

    for _ in range(max(10, shipments // 4)):
        say(rng.choice(ids), rng.uniform(0, DAYS), rng.choice(["partial", "partial", "other"]))
    planted, near = rng.sample(ids, 2)
    start = rng.uniform(20, 80)
    for _ in range(rng.randint(6, 12)):
        say(planted, start + rng.uniform(0, 3), rng.choice(["not_received"] * 4 + ["payment_demanded"]))
    start = rng.uniform(20, 80)
    for _ in range(4):
        say(near, start + rng.uniform(0, 5), "not_received")
    for site in ids:
        if site not in (planted, near):
            say(site, rng.uniform(2, 25), "not_received")
            say(site, rng.uniform(55, 90), "payment_demanded")
    say("CMP-MBR", DAYS - 0.15, "other")  # closes the stream well after every deadline
    return planted
