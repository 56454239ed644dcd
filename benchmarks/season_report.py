"""What the season benchmark found, and the summary table that ends its run.

Targets (the issue "A season of operations"): peak memory over the season at most 1.3 x
that over one quarter, CPU per event at most 1.25 x, replay at least 0.3 x a bare
`json.loads` loop on both mixes, and the worker's changelog bytes per event flat.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

MEMORY_RATIO, CPU_RATIO, JSON_RATIO = 1.3, 1.25, 0.3
# Changelog bytes per event "flat": the first quarter has nothing for the retention to
# forget in its first 45 days, so none of the tombstones every key costs once forgotten;
# from the second on, the last quarter writes within a tenth of what the ones before it did.
FLAT_RATIO = 1.1
MIB = 2**20
_BEGAN = time.monotonic()


@dataclass(frozen=True)
class ReplayRun:
    """One `aidmon replay` in a child process, beside a bare json.loads loop over the same file."""

    quarters: int
    lines: int
    cpu_seconds: float  # the replay's own, imports excluded
    json_seconds: float  # the bare loop's, in this process, just before
    peak_bytes: int  # the child's peak resident memory (VmHWM)
    start_bytes: int  # its resident memory once the CLI was imported, before the replay
    alerts: Counter[str]
    rejects: Counter[str]

    @property
    def cpu_per_event_us(self) -> float:
        return 1e6 * self.cpu_seconds / self.lines

    @property
    def json_ratio(self) -> float:
        return self.json_seconds / self.cpu_seconds


@dataclass
class WorkerPhase:
    """The worker from the start of a phase's events to a group lag of 0 again."""

    name: str
    events: int
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    peak_bytes: int = 0  # VmHWM at the end of the phase: the peak so far
    rss_bytes: int = 0  # VmRSS at the end of the phase
    changelog_bytes: int = 0  # written to the state changelog during the phase (on disk, uncompacted)
    changelog_records: int = 0
    caught_up: bool = True
    outcomes: str = ""  # the worker's counters at the end of the phase (events by outcome, rejects by reason)

    @property
    def cpu_per_event_us(self) -> float:
        return 1e6 * self.cpu_seconds / self.events if self.events else 0.0


@dataclass
class Figures:
    mix: str
    quarters: int
    lines_per_quarter: int = 0
    replay: list[tuple[ReplayRun, ReplayRun]] = field(default_factory=list)  # (1 quarter, all), a round each
    worker: list[WorkerPhase] = field(default_factory=list)  # first quarter, those up to the last, the last, the season
    compacted: str = "not measured"
    parity: str = "not compared"
    parity_first: str = "not compared"  # after the first quarter
    parity_equal: bool | None = None
    phases: dict[str, float] = field(default_factory=dict)

    def median(self, which: int, figure: str) -> float:
        return statistics.median(float(getattr(pair[which], figure)) for pair in self.replay)

    def ratio(self, figure: str) -> float:
        """All quarters against one, the median of the rounds (each round's two runs are near in time)."""
        return statistics.median(float(getattr(b, figure)) / float(getattr(a, figure)) for a, b in self.replay)


def say(text: str) -> None:
    """A progress line, with the minutes and seconds since the benchmark began."""
    elapsed = int(time.monotonic() - _BEGAN)
    print(f"[{elapsed // 60:3d}:{elapsed % 60:02d}] {text}", flush=True)


def verdict(value: float, target: float, most: bool) -> str:
    return "pass" if (value <= target if most else value >= target) else "MISS"


def rows(f: Figures) -> list[list[str]]:
    q = f.quarters
    found = []
    if f.replay:
        mem = f.ratio("peak_bytes")
        cpu = f.ratio("cpu_per_event_us")
        found += [
            ["replay peak memory", f"{f.median(0, 'peak_bytes') / MIB:,.0f} MiB",
             f"{f.median(1, 'peak_bytes') / MIB:,.0f} MiB", f"{mem:.2f}", f"<= {MEMORY_RATIO}",
             verdict(mem, MEMORY_RATIO, True)],
            ["replay CPU per event", f"{f.median(0, 'cpu_per_event_us'):,.1f} us",
             f"{f.median(1, 'cpu_per_event_us'):,.1f} us", f"{cpu:.2f}", f"<= {CPU_RATIO}",
             verdict(cpu, CPU_RATIO, True)],
        ]
        for which, label in ((0, "1 quarter"), (1, f"{q} quarters")):
            value = f.median(which, "json_ratio")
            found.append([f"replay / json.loads, {label}", f"{value:.3f}" if which == 0 else "",
                          f"{value:.3f}" if which else "", "", f">= {JSON_RATIO}", verdict(value, JSON_RATIO, False)])
    if len(f.worker) >= 2:
        first, season, later = f.worker[0], f.worker[-1], f.worker[1:-1]
        mem, cpu = season.peak_bytes / first.peak_bytes, season.cpu_per_event_us / first.cpu_per_event_us
        late = "" if season.caught_up else " (not caught up)"
        found += [
            ["worker peak memory", f"{first.peak_bytes / MIB:,.0f} MiB", f"{season.peak_bytes / MIB:,.0f} MiB",
             f"{mem:.2f}", f"<= {MEMORY_RATIO}", verdict(mem, MEMORY_RATIO, True) + late],
            ["worker CPU per event", f"{first.cpu_per_event_us:,.0f} us", f"{season.cpu_per_event_us:,.0f} us",
             f"{cpu:.2f}", f"<= {CPU_RATIO}", verdict(cpu, CPU_RATIO, True) + late],
        ]
        found += [[f"  {phase.name}", "", f"{phase.cpu_per_event_us:,.0f} us",
                   f"{phase.cpu_per_event_us / first.cpu_per_event_us:.2f}", "", ""] for phase in later]
        found.append(["changelog bytes per event", f"{per_event(first):,.0f} B", f"{per_event(season):,.0f} B",
                      f"{per_event(season) / per_event(first):.2f}" if first.changelog_bytes else "", "", ""])
        found += [[f"  {phase.name}", "", f"{per_event(phase):,.0f} B",
                   f"{per_event(phase) / per_event(first):.2f}" if first.changelog_bytes else "", "", ""]
                  for phase in later]
        if len(later) >= 2 and later[0].changelog_bytes:
            flat = per_event(later[-1]) / per_event(later[0])
            found.append([f"  {later[-1].name} against {later[0].name}", "", "", f"{flat:.2f}", f"<= {FLAT_RATIO}",
                          verdict(flat, FLAT_RATIO, True)])
        found.append(["worker alerts = replay's", f.parity_first.split(" (")[0], f.parity.split(" (")[0], "",
                      "equal", "pass" if f.parity_equal else "MISS"])
    return found


def per_event(phase: WorkerPhase) -> float:
    return phase.changelog_bytes / phase.events if phase.events else 0.0


def summary(all_figures: list[Figures]) -> None:
    for f in all_figures:
        q = f.quarters
        print(f"\n== summary, mix {f.mix}: {f.lines_per_quarter:,} lines a quarter; "
              f"ratios are {q} quarters against 1 (replay: median of {len(f.replay)} paired rounds)")
        table = [["figure", "1 quarter", f"{q} quarters", "ratio", "target", ""], *rows(f)]
        widths = [max(len(row[k]) for row in table) for k in range(len(table[0]))]
        for row in table:
            print("  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)).rstrip())
        if f.worker:
            print(f"worker's counters at the end: {f.worker[-1].outcomes}")
            print(f"compacted changelog at the end: {f.compacted}")
            print(f"worker's alerts against replay's, first quarter: {f.parity_first}")
            print(f"worker's alerts against replay's, {q} quarters: {f.parity}")
