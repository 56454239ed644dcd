"""Replay over one quarter and over the season: `aidmon replay` in a fresh child process per
run, so that each run's peak memory is its own, next to a bare `json.loads` loop over the
same file (`replay_speed.bare_json_loads`) timed just before it.

The child reports its CPU seconds from the start of the replay (imports excluded), its
peak resident memory (VmHWM: `ru_maxrss` would count the pages of this process the child
was forked from, which holds the season's lines), its resident memory once the CLI was
imported, and the replay's summary (alerts per typology, rejects per reason).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from replay_speed import bare_json_loads
from season_report import ReplayRun
from stream_data import ROOT, aidmon_env

_CHILD = """
import sys, time
from streams.cli.main import main
import streams.bootstrap, streams.replay  # what replay imports when it starts, outside the measure too
def status(field):
    return open('/proc/self/status').read().split(field + ':')[1].split()[0]
start = status('VmRSS')
began = time.process_time()
code = main(sys.argv[1:])
seconds = time.process_time() - began
print('SEASON', seconds, status('VmHWM'), start, file=sys.stderr)
sys.exit(code)
"""


def replay_once(events: Path, sanctions: Path, out: Path, quarters: int, settings: dict[str, str]) -> ReplayRun:
    """The bare loop over `events`, then `aidmon replay` on it in a child (alerts and summary kept in `out`)."""
    json_seconds = bare_json_loads(events)
    out.mkdir(parents=True, exist_ok=True)
    summary_file = out / f"summary-{quarters}q.json"
    args = [sys.executable, "-c", _CHILD, "replay", str(events), "--sanctions", str(sanctions),
            "--alerts", str(out / f"alerts-{quarters}q.jsonl"), "--rejects", str(out / f"rejects-{quarters}q.jsonl"),
            "--summary-json", str(summary_file)]
    run = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=aidmon_env(**settings), check=False)
    if run.returncode != 0:
        raise RuntimeError(f"replay of {events} exited with {run.returncode}:\n{run.stderr[-3000:]}")
    report = next(line for line in run.stderr.splitlines() if line.startswith("SEASON "))
    _, seconds, peak_kib, start_kib = report.split()
    summary = json.loads(summary_file.read_text(encoding="utf-8"))
    return ReplayRun(quarters, summary["lines"], float(seconds), json_seconds, int(peak_kib) * 1024,
                     int(start_kib) * 1024, Counter(summary["alerts"]), Counter(summary["rejects"]))


def describe(run: ReplayRun) -> str:
    return (f"{run.quarters} quarter(s), {run.lines:,} lines: {run.cpu_seconds:.1f} s CPU "
            f"({run.cpu_per_event_us:.1f} us/event; json.loads {1e6 * run.json_seconds / run.lines:.1f} us/line, "
            f"ratio {run.json_ratio:.3f}), peak {run.peak_bytes / 2**20:,.0f} MiB "
            f"(start-up {run.start_bytes / 2**20:,.0f} MiB), {sum(run.alerts.values()):,} alerts, "
            f"{run.rejects.get('expired', 0):,} expired")


def per_quarter(one: ReplayRun, season: ReplayRun) -> str:
    """Alerts per typology over one quarter and over the season, and their ratio."""
    parts = []
    for typology in sorted(one.alerts | season.alerts):
        a, b = one.alerts.get(typology, 0), season.alerts.get(typology, 0)
        parts.append(f"{typology} {a} -> {b}" + (f" ({b / a:.2f} x)" if a else ""))
    total_a, total_b = sum(one.alerts.values()), sum(season.alerts.values())
    return (f"alerts {total_a:,} -> {total_b:,} ({total_b / max(total_a, 1):.2f} x): " + ", ".join(parts))
