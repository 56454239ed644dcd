"""The synthetic stream generator: determinism, size, validity, noise, and its truth.

`_Checker` below re-derives every finding from the decoded events with the contract's
rules (EVENTS.md, typology table), written independently of the generator, so a planted
finding that does not hold, or an accidental one the truth misses, fails the test.
"""

from __future__ import annotations

import bisect
import json
import math
import re
import unicodedata
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from defusedxml import ElementTree as ET

from schemas.decode import REJECT_REASONS, decode_event
from schemas.exceptions import InvalidEventError
from schemas.privacy import TOKEN_PATTERN, Pseudonymiser
from streams.dev.synthetic import NEAR_MISSES, SANCTIONED, Synthetic, generate, sanctions_xml, write

TYPOLOGIES = {
    "transit_loss", "route_deviation", "unscheduled_stop", "overdue_shipment", "incident_nearby",
    "sanctioned_party", "over_distribution", "duplicate_collection", "non_receipt_feedback",
}
PSEUDONYMISER = Pseudonymiser(b"test-secret-of-32-bytes-or-more!")
KG = {"kg": 1.0, "mt": 1000.0, "l": 1.0}
RANK = {"armed_group": 3, "contested": 2, "government": 1}


@pytest.fixture(scope="module")
def noisy() -> Synthetic:
    return generate(7, 150)


@pytest.fixture(scope="module")
def clean() -> Synthetic:
    return generate(7, 150, noise=False)


def objects(lines: list[str]) -> list[dict[str, Any]]:
    """The lines that parse as JSON objects with a type (valid or not), in arrival order."""
    found = []
    for line in lines:
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict) and "type" in value:
            found.append(value)
    return found


def decode_all(lines: list[str]) -> tuple[list[Any], list[str]]:
    """Decoded events (first copy of each id) and the reasons of rejected lines."""
    events, seen, rejects = [], set(), []
    for line in lines:
        try:
            event = decode_event(line, PSEUDONYMISER)
        except InvalidEventError as exc:
            rejects.append(exc.reason)
            continue
        if event.id not in seen:
            seen.add(event.id)
            events.append(event)
    return events, rejects


# --- an independent checker of the nine rules ------------------------------------------------


def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))


def unit(lat: float, lon: float) -> Vector:
    p, lam = math.radians(lat), math.radians(lon)
    return (math.cos(p) * math.cos(lam), math.cos(p) * math.sin(lam), math.sin(p))


Vector = tuple[float, float, float]


def cross(a: Vector, b: Vector) -> Vector:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def dot(a: Vector, b: Vector) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def segment_km(lat: float, lon: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance from a point to the arc a-b (both (lon, lat)), with end clamping."""
    p, u, v = unit(lat, lon), unit(a[1], a[0]), unit(b[1], b[0])
    ends = min(km(lat, lon, a[1], a[0]), km(lat, lon, b[1], b[0]))
    n = cross(u, v)
    norm = math.sqrt(dot(n, n))
    if norm < 1e-12:
        return ends
    n = (n[0] / norm, n[1] / norm, n[2] / norm)
    height = dot(p, n)
    foot = (p[0] - height * n[0], p[1] - height * n[1], p[2] - height * n[2])
    # the foot of the perpendicular lies on the arc when it is between both ends
    if dot(cross(u, foot), n) >= 0 and dot(cross(foot, v), n) >= 0:
        return min(ends, abs(math.asin(max(-1.0, min(1.0, height)))) * 6371.0088)
    return ends


def in_ring(lon: float, lat: float, ring: list[Any]) -> bool:
    inside = False
    for (x1, y1), (x2, y2) in pairwise(ring):
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def in_geometry(lon: float, lat: float, geometry: Any) -> bool:
    polygons = geometry.coordinates if geometry.type == "MultiPolygon" else [geometry.coordinates]
    return any(in_ring(lon, lat, rings[0]) and not any(in_ring(lon, lat, hole) for hole in rings[1:])
               for rings in polygons)


def normalise(name: str) -> str:
    bare = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return " ".join(sorted(re.sub(r"[\W_]+", " ", bare.casefold()).split()))


@cache
def similarity(a: str, b: str) -> float:
    """Normalised Indel similarity: 2 * LCS / (len a + len b)."""
    row = [0] * (len(b) + 1)
    for ch in a:
        diagonal, row[0] = 0, 0
        for j, other in enumerate(b, 1):
            diagonal, row[j] = row[j], diagonal + 1 if ch == other else max(row[j], row[j - 1])
    return 2 * row[-1] / (len(a) + len(b)) if a or b else 1.0


def listed_names() -> list[str]:
    root = ET.fromstring(sanctions_xml())
    names = []
    for entry in [*root.iter("INDIVIDUAL"), *root.iter("ENTITY")]:
        parts = [entry.findtext(tag) for tag in ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME")]
        names.append(" ".join(p for p in parts if p))
        names += [a.findtext("ALIAS_NAME") or "" for a in entry if a.tag.endswith("_ALIAS")]
    return [normalise(n) for n in names]


def check(events: list[Any]) -> set[tuple[str, str]]:
    """Every finding the contract's default rules give for these (valid, deduplicated) events."""
    found: set[tuple[str, str]] = set()
    by_type: dict[str, list[Any]] = defaultdict(list)
    for e in sorted(events, key=lambda e: e.time):
        by_type[e.type].append(e)
    times = sorted(e.time for e in events)
    clock = times[-1]
    sites = {e.data.site_id: e.data for e in by_type["site.registered"]}
    zones = by_type["zone.declared"]
    dispatch = {e.data.shipment_id: e for e in by_type["shipment.dispatched"]}
    receipt = {e.data.shipment_id: e for e in by_type["shipment.received"]}
    positions: dict[str, list[Any]] = defaultdict(list)
    for e in by_type["convoy.position"]:
        positions[e.data.shipment_id].append(e)

    def status(lat: float, lon: float, when: datetime) -> str | None:
        current = {}
        for z in zones:
            if z.data.valid_from <= when and (z.data.valid_to is None or when < z.data.valid_to):
                current[z.data.zone_id] = z.data
        hits = [z.status for z in current.values() if in_geometry(lon, lat, z.geometry)]
        return max(hits, key=RANK.__getitem__) if hits else None

    listed = listed_names()
    for sid, d in dispatch.items():
        r = receipt.get(sid)
        sent, got = Counter[str](), Counter[str]()
        for item in d.data.items:
            sent[item.commodity] += item.quantity * KG[item.unit]
        names = [d.data.transporter.name, d.data.consignee.name]
        if r is not None:
            for item in r.data.items:
                got[item.commodity] += item.quantity * KG[item.unit]
            names.append(r.data.receiver.name)
            if any((sent[c] - got[c]) / sent[c] > 0.02 for c in sent):
                found.add(("transit_loss", sid))
        if any(similarity(normalise(n), ln) >= 0.90 for n in names for ln in listed):
            found.add(("sanctioned_party", sid))
        deadline = d.data.expected_arrival + timedelta(hours=24)
        after = bisect.bisect_right(times, deadline)  # the first event past the deadline
        if after < len(times) and (r is None or times[after] < r.time):
            found.add(("overdue_shipment", sid))
        route = d.data.planned_route
        off = [min(segment_km(p.data.lat, p.data.lon, a, b) for a, b in pairwise(route)) > 5
               for p in positions[sid]]
        if any(x and y for x, y in pairwise(off)):
            found.add(("route_deviation", sid))
    for e in by_type["convoy.stop"]:
        s, d = e.data, dispatch[e.data.shipment_id].data
        far = min(km(s.lat, s.lon, d.origin.lat, d.origin.lon), km(s.lat, s.lon, d.destination.lat, d.destination.lon))
        if s.payment_demanded or (s.ended_at - s.started_at >= timedelta(minutes=45) and far > 2
                                  and status(s.lat, s.lon, s.started_at) in ("armed_group", "contested")):
            found.add(("unscheduled_stop", s.shipment_id))
    for e in by_type["incident.reported"]:
        i = e.data
        if i.kind not in ("looting", "attack", "checkpoint_extortion"):
            continue
        if i.shipment_id:
            found.add(("incident_nearby", i.shipment_id))
        for sid, track in positions.items():
            start, end = dispatch[sid].time, receipt[sid].time if sid in receipt else clock
            if any(start <= p.time <= end and abs(p.time - e.time) <= timedelta(hours=6)
                   and km(i.lat, i.lon, p.data.lat, p.data.lon) <= 10 for p in track):
                found.add(("incident_nearby", sid))
    served: dict[tuple[str, str], set[str]] = defaultdict(set)
    ids: dict[tuple[str, str], set[str]] = defaultdict(set)
    flows: dict[str, list[tuple[datetime, int, Any]]] = defaultdict(list)
    for e in by_type["distribution.recorded"]:
        served[(e.data.site_id, e.data.round_id)].add(e.data.beneficiary)
        ids[(e.data.round_id, e.data.beneficiary)].add(e.id)
        flows[e.data.site_id].append((e.time, 1, e.data.items))
    for e in by_type["shipment.received"]:
        flows[e.data.site_id].append((e.time, 0, e.data.items))
    for (site, _), people in served.items():
        if len(people) > 1.10 * (sites[site].caseload_households or 0):
            found.add(("over_distribution", site))
    for site, rows in flows.items():
        stock, given = Counter[str](), Counter[str]()
        for _, kind, items in sorted(rows, key=lambda r: (r[0], r[1])):
            for item in items:
                (stock if kind == 0 else given)[item.commodity] += item.quantity * KG[item.unit]
            if kind == 1 and any(given[i.commodity] > 1.02 * stock[i.commodity] for i in items):
                found.add(("over_distribution", site))
    found |= {("duplicate_collection", who) for (_, who), n in ids.items() if len(n) >= 2}
    reports: dict[str, list[datetime]] = defaultdict(list)
    for e in by_type["feedback.received"]:
        if e.data.category in ("not_received", "payment_demanded"):
            reports[e.data.site_id].append(e.time)
    for site, moments in reports.items():
        if any(sum(t <= u <= t + timedelta(days=7) for u in moments) >= 5 for t in moments):
            found.add(("non_receipt_feedback", site))
    return found


def expected(truth: dict[str, Any]) -> set[tuple[str, str]]:
    """Truth findings plus the raw ids' duplicates under this test's pseudonymiser."""
    raw = {("duplicate_collection", PSEUDONYMISER(r)) for r in truth["raw_ids"]}
    return {(typology, subject) for typology, subject in truth["findings"]} | raw


# --- tests -------------------------------------------------------------------------------------


def test_same_seed_same_stream_and_other_seed_another() -> None:
    first, again, other = generate(3, 30), generate(3, 30), generate(4, 30)
    assert first.lines == again.lines and first.truth == again.truth
    assert first.lines != other.lines


def test_size_and_mix(noisy: Synthetic) -> None:
    types = Counter(event["type"] for event in objects(noisy.lines))
    assert 11_000 <= noisy.truth["noise"]["events"] <= 16_000
    assert types["shipment.dispatched"] >= 150 and types["shipment.received"] >= 130
    assert 0.70 <= types["distribution.recorded"] / sum(types.values()) <= 0.90
    assert types["convoy.position"] > 10 * 150


@pytest.mark.slow
def test_size_at_1500_shipments() -> None:
    assert 115_000 <= generate(7, 1500, noise=False).truth["noise"]["events"] <= 160_000


def test_valid_lines_decode_and_exactly_the_malformed_are_rejected(noisy: Synthetic) -> None:
    events, rejects = decode_all(noisy.lines)
    noise = noisy.truth["noise"]
    assert len(rejects) == noise["malformed"] == 36
    assert set(rejects) == set(REJECT_REASONS)
    assert len(events) == noise["events"]
    assert noise["lines"] == len(noisy.lines) == noise["events"] + noise["duplicates"] + noise["malformed"]
    assert noise["early_receipts"] == 2
    assert 0.005 <= noise["duplicates"] / noise["events"] <= 0.02


def test_noise_changes_arrival_not_content(noisy: Synthetic, clean: Synthetic) -> None:
    assert noisy.truth["findings"] == clean.truth["findings"]
    events, rejects = decode_all(clean.lines)
    assert not rejects and len(events) == len(clean.lines) == clean.truth["noise"]["events"]
    assert [e.time for e in events] == sorted(e.time for e in events)
    assert sorted(json.loads(line)["id"] for line in clean.lines) == sorted(e.id for e in decode_all(noisy.lines)[0])


def test_early_receipts_arrive_before_their_dispatch(noisy: Synthetic) -> None:
    seen, early = set(), 0
    for event in objects(noisy.lines):
        if event.get("type") == "shipment.dispatched":
            seen.add(event["subject"])
        elif event.get("type") == "shipment.received" and event["subject"] not in seen:
            early += 1
    assert early >= 2


def test_every_typology_is_planted(noisy: Synthetic) -> None:
    counts = Counter(typology for typology, _ in noisy.truth["findings"])
    assert set(counts) == TYPOLOGIES
    assert counts["over_distribution"] in (2, 3) and counts["non_receipt_feedback"] == 1
    assert 18 <= counts["duplicate_collection"] <= 32
    for typology, low, high in (("transit_loss", 8, 20), ("route_deviation", 3, 10), ("unscheduled_stop", 6, 15),
                                ("overdue_shipment", 8, 20), ("incident_nearby", 10, 22), ("sanctioned_party", 3, 10)):
        assert low <= counts[typology] <= high, typology


def test_raw_id_is_used_twice_in_one_round(noisy: Synthetic) -> None:
    (raw,) = noisy.truth["raw_ids"]
    assert not TOKEN_PATTERN.match(raw)
    lines = [line for line in set(noisy.lines) if f'"beneficiary":"{raw}"' in line]
    rounds = Counter(json.loads(line)["data"]["round_id"] for line in lines)
    assert max(rounds.values()) == 2
    assert all(raw not in subject for _, subject in noisy.truth["findings"])


@pytest.mark.parametrize("seed", [7, 11, 2024])
def test_truth_is_what_the_rules_give(seed: int) -> None:
    synthetic = generate(seed, 150)
    events, _ = decode_all(synthetic.lines)
    assert check(events) == expected(synthetic.truth)


@pytest.mark.slow
def test_truth_holds_at_scale() -> None:
    synthetic = generate(5, 500, noise=False)
    events, _ = decode_all(synthetic.lines)
    assert check(events) == expected(synthetic.truth)


def test_sanctions_list_and_names(noisy: Synthetic) -> None:
    root = ET.fromstring(sanctions_xml())
    assert root.tag == "CONSOLIDATED_LIST" and root.get("dateGenerated")
    assert len(root.findall("INDIVIDUALS/INDIVIDUAL")) == 3 and len(root.findall("ENTITIES/ENTITY")) == 1
    assert all(e.findtext("INDIVIDUAL_ALIAS/QUALITY") == "Good" for e in root.findall("INDIVIDUALS/INDIVIDUAL"))
    assert root.findtext("ENTITIES/ENTITY/ENTITY_ALIAS/ALIAS_NAME") == SANCTIONED[3].aliases[0]
    listed = listed_names()
    assert normalise(SANCTIONED[0].name) in listed
    for name in NEAR_MISSES:
        assert max(similarity(normalise(name), ln) for ln in listed) < 0.8


def test_write_round_trips(tmp_path: Path, noisy: Synthetic) -> None:
    path = tmp_path / "stream.jsonl"
    write(path, noisy)
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n") and text.splitlines() == noisy.lines


# --- the convoys-and-camps mix -------------------------------------------------------------------

CAMPS = "convoys-and-camps"


@pytest.fixture(scope="module")
def camps() -> Synthetic:
    return generate(7, 150, mix=CAMPS)


def test_the_default_mix_is_the_stream_without_a_mix() -> None:
    """Naming the default mix changes nothing: same lines, same truth."""
    plain, named = generate(3, 30), generate(3, 30, mix="default")
    assert plain.lines == named.lines and plain.truth == named.truth


def test_an_unknown_mix_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=CAMPS):
        generate(3, 30, mix="mostly-camels")


def test_convoys_and_camps_reports_more_often_and_serves_three_rounds(camps: Synthetic) -> None:
    """Denser tracks than the default mix, a camp of 10,000 households, three monthly rounds."""
    events = objects(camps.lines)
    types = Counter(event["type"] for event in events)
    assert types["convoy.position"] > 20 * 150
    rounds = {e["data"]["round_id"] for e in events if e["type"] == "distribution.recorded"}
    assert rounds == {"R2012-01", "R2012-02", "R2012-03"}
    caseloads = {e["data"]["site_id"]: e["data"].get("caseload_households") for e in events
                 if e["type"] == "site.registered"}
    assert caseloads["CMP-MBR"] == 10_000


def test_convoys_and_camps_plants_every_typology_and_its_truth_holds(camps: Synthetic) -> None:
    """Every typology is planted, and the truth is what the contract's rules give."""
    assert {typology for typology, _ in camps.truth["findings"]} == TYPOLOGIES
    events, rejects = decode_all(camps.lines)
    assert len(rejects) == camps.truth["noise"]["malformed"]
    assert check(events) == expected(camps.truth)


@pytest.mark.slow
def test_convoys_and_camps_proportions_at_the_benchmark_size() -> None:
    """At 2,200 shipments: ~140k events, ~38 % convoy positions, ~54 % distributions."""
    synthetic = generate(2012, 2200, noise=False, mix=CAMPS)
    types = Counter(json.loads(line)["type"] for line in synthetic.lines)
    total = sum(types.values())
    assert 125_000 <= total <= 155_000
    assert 0.33 <= types["convoy.position"] / total <= 0.43
    assert 0.50 <= types["distribution.recorded"] / total <= 0.60
