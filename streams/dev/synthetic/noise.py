"""Arrival order and noise: duplicates, shuffled arrival, early receipts and malformed lines."""

from __future__ import annotations

import json
import random
import uuid

from streams.dev.synthetic.places import REFERENCE
from streams.dev.synthetic.records import DAYS, START, Ev, iso
from streams.dev.synthetic.shipments import Trip


def _malformed(rng: random.Random, positions: list[Ev], handouts: list[Ev], kind: int) -> str:
    """One broken line of kind 0-9; it copies a real event under a fresh id."""
    ev = rng.choice(handouts if kind in (7, 9) else positions)
    body = json.loads(ev.line(id=str(uuid.UUID(int=rng.getrandbits(128), version=4))))
    if kind == 0:
        return f"{ev.subject};{iso(ev.time)};position;{ev.data.get('lat')};{ev.data.get('lon')}"
    if kind == 1:
        text = json.dumps(body, ensure_ascii=False)
        return text[: len(text) // 2]
    if kind == 2:
        return json.dumps([body], ensure_ascii=False)
    edits = {3: lambda: body.update(type="convoy.teleported"), 4: lambda: body.pop("time"),
             5: lambda: body["data"].update(lon="west"), 6: lambda: body["data"].update(lat=123.4),
             7: lambda: body["data"]["items"][0].update(quantity=-5), 8: lambda: body.update(time="2012-07-05 10:00"),
             9: lambda: body.update(subject="DP-XXX")}
    edits[kind]()
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def arrange(seed: int, events: list[Ev], trips: list[Trip], findings: list[list[str]],
            noise: bool) -> tuple[list[str], dict[str, int]]:
    """Arrival order: clean and time-ordered, or with duplicates, shuffles, early receipts, rejects."""
    counts = {"events": len(events), "lines": len(events), "duplicates": 0, "malformed": 0, "early_receipts": 0}
    if not noise:
        order = sorted(range(len(events)), key=lambda i: (events[i].time, events[i].type not in REFERENCE, i))
        return [events[i].line() for i in order], counts
    rng = random.Random(f"noise-{seed}")  # noqa: S311 - a seeded simulation, not secrets
    keyed = [(e.time.timestamp() + (rng.uniform(0, 240) if e.type == "convoy.position" else 0), i, e.line())
             for i, e in enumerate(events)]
    flagged = {sid for _, sid in findings}
    clean = [t for t in trips if t.receipt and not t.plan and t.sid not in flagged]
    for trip in rng.sample(clean, min(2, len(clean))):  # the receipt arrives before its dispatch
        i = events.index(trip.receipt)  # type: ignore[arg-type]
        keyed[i] = (trip.t0.timestamp() - rng.uniform(60, 1800), i, keyed[i][2])
        counts["early_receipts"] += 1
    for i in rng.sample(range(len(events)), round(0.01 * len(events))):
        keyed.append((keyed[i][0] + rng.uniform(60, 6 * 3600), len(keyed), keyed[i][2]))
        counts["duplicates"] += 1
    positions = [e for e in events if e.type == "convoy.position"]
    handouts = [e for e in events if e.type == "distribution.recorded"]
    for n in range(36):
        line = _malformed(rng, positions, handouts, n % 10)
        keyed.append((START.timestamp() + rng.uniform(0, DAYS * 86400), len(keyed), line))
        counts["malformed"] += 1
    lines = [line for _, _, line in sorted(keyed)]
    counts["lines"] = len(lines)
    return lines, counts
