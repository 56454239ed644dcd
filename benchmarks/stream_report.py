"""What the streaming benchmark found: each reader's pass, a mix's figures, and how they print."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from stream_latency import Latency, percentile


@dataclass
class Run:
    """One reader's pass over the topic."""

    events: int
    startup: float = 0.0  # launch to first event
    seconds: float = 0.0  # first event to a group lag of 0 (or to the time-out)
    done: int = 0  # events handled, by the group's committed offsets at the end
    caught_up: bool = True
    peak_mib: float | None = None
    note: str = ""

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0


@dataclass
class Figures:
    mix: str
    bare: float = 0.0
    floor: Run | None = None
    worker: Run | None = None
    batch: Run | None = None
    parity: str = "not compared"
    parity_short: str = "not compared"
    batch_parity: str = "not compared"
    batch_parity_short: str = "not compared"
    latencies: list[Latency] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        began = time.monotonic()
        try:
            yield
        finally:
            self.phases[name] = time.monotonic() - began


def render(run: Run, what: str, figures: Figures) -> str:
    if run.done == 0:
        return f"{what}: {run.note or 'no figure'}"
    text = (f"{what}: {run.rate:,.0f} events/s ({run.done:,} events in {run.seconds:.1f} s;"
            f" start-up {run.startup:.1f} s)")
    if run.note:
        text += f"\n    {run.note}"
    ratios = []
    if figures.floor and figures.floor.rate and run is not figures.floor:
        ratios.append(f"{run.rate / figures.floor.rate:.3f} x the Faust floor")
    if figures.worker and figures.worker.rate and run is figures.batch:
        ratios.append(f"{run.rate / figures.worker.rate:.2f} x the worker on single events")
    if figures.bare:
        ratios.append(f"{run.rate / figures.bare:.4f} x the bare consumer")
    return text + "\n    " + ", ".join(ratios)


def mib(value: float | None) -> str:
    return "unknown" if value is None else f"{value:,.0f} MiB"


def summary(all_figures: list[Figures], rates: list[float]) -> None:
    """One row a mix: the rates (ratio to the same run's Faust floor), latencies, memory, parity."""
    print("\n== summary: events/s (x the same run's Faust floor); event-to-alert p50/p99 in ms")
    rows = [["mix", "bare consumer", "Faust floor", "worker", "worker, batches",
             *(f"paced {rate:,.0f}/s" for rate in rates), "worker peak", "alerts", "alerts, batches"]]
    for f in all_figures:
        floor = f.floor.rate if f.floor else 0.0
        latencies = [f"{percentile(lat.delays_ms, 0.5):,.0f}/{percentile(lat.delays_ms, 0.99):,.0f}"
                     if lat.delays_ms else "none" for lat in f.latencies]
        latencies += ["skipped"] * (len(rates) - len(latencies))
        rows.append([f.mix, f"{f.bare:,.0f}", f"{floor:,.0f}", cell(f.worker, floor), cell(f.batch, floor),
                     *latencies, mib(f.worker.peak_mib if f.worker else None), f.parity_short,
                     f.batch_parity_short if f.batch else "skipped"])
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    for row in rows:
        print("  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)).rstrip())


def cell(run: Run | None, floor: float) -> str:
    if run is None:
        return "skipped"
    if not run.done:
        return run.note.split(":")[0]
    return f"{run.rate:,.0f} ({run.rate / floor:.3f}){'' if run.caught_up else ' partial'}" if floor else "?"
