"""`generate()`: every step in order, returning the lines and their truth; `write()` saves them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams.dev.synthetic.aid import distribute, emit_feedback
from streams.dev.synthetic.convoys import add_deviations, drive_convoy, emit_incidents
from streams.dev.synthetic.mixes import DEFAULT, mix_named
from streams.dev.synthetic.noise import arrange
from streams.dev.synthetic.places import emit_reference
from streams.dev.synthetic.records import Builder
from streams.dev.synthetic.shipments import plan_trips
from streams.dev.synthetic.truth import derive_truth


@dataclass(frozen=True)
class Synthetic:
    lines: list[str]  # JSONL lines (no trailing newline), in arrival order, noise included
    truth: dict[str, Any]  # {"findings", "raw_ids", "noise"}


def generate(seed: int = 7, shipments: int = 150, noise: bool = True, mix: str = DEFAULT) -> Synthetic:
    """A deterministic stream and its ground truth: ~87 events per shipment in the default
    mix, ~63 at 2,200 shipments in `convoys-and-camps` (`streams.dev.synthetic.mixes`)."""
    chosen, b = mix_named(mix), Builder(seed)
    emit_reference(b, chosen.points)
    trips = plan_trips(b, shipments, chosen)
    for trip in trips:
        drive_convoy(b, trip, chosen)
    add_deviations(b.rng, trips)
    hits = emit_incidents(b, trips)
    pools = distribute(b, trips, shipments, chosen)
    feedback_site = emit_feedback(b, pools, shipments, chosen)
    findings, raw_ids = derive_truth(b.events, trips, hits, feedback_site, chosen)
    lines, counts = arrange(seed, b.events, trips, findings, noise)
    return Synthetic(lines, {"findings": findings, "raw_ids": raw_ids, "noise": counts})


def write(path: str | Path, synthetic: Synthetic) -> None:
    """One line per event, UTF-8, each ending in a newline."""
    with open(path, "w", encoding="utf-8") as out:
        out.writelines(line + "\n" for line in synthetic.lines)
