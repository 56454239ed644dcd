"""Replay speed and memory, as ratios against a bare `json.loads` loop over the same file.

    python benchmarks/replay_speed.py [--shipments 1500] [--rounds 3] [--events FILE]

Writes a synthetic stream (~140k events at the default 1620 shipments) unless --events is given,
then alternates, `--rounds` times: a bare json.loads loop over the file's lines, and a
full `aidmon replay` (read, validate, detect, write alerts and rejects) in a fresh child
process whose peak memory is read from the kernel. Both are timed in CPU seconds of
their own process, which other work on a shared machine disturbs less than wall time.
Prints each round's ratio (the two runs of a round are next to each other in time, so
the machine's speed changes them alike), their median, and the best rate of each; the
target is a ratio of at least 0.3 (issue "A season"; 0.25 before it) and a peak under
1.5 GiB. Nothing is asserted: the figures are read, not tested.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bare_json_loads(path: Path) -> float:
    """CPU seconds for `for line in file: json.loads(line)`, malformed lines skipped."""
    start = time.process_time()
    with path.open("rb") as lines:
        for line in lines:
            try:  # noqa: SIM105 - the bare loop is the baseline: no context manager per line
                json.loads(line)
            except ValueError:
                pass
    return time.process_time() - start


def replay_in_child(path: Path, sanctions: Path, out: Path) -> tuple[float, int]:
    """CPU seconds of a full `aidmon replay` in a child process (imports excluded), and
    its peak RSS in bytes."""
    code = (  # the modules replay imports when it starts (the monitor's) are imported before the clock too
        "import sys, time; from streams.cli.main import main; import streams.bootstrap, streams.replay; "
        "t = time.process_time(); "
        "rc = main(sys.argv[1:]); print('SECONDS', time.process_time() - t, file=sys.stderr); sys.exit(rc)"
    )
    args = [
        sys.executable, "-c", code, "replay", str(path), "--sanctions", str(sanctions),
        "--alerts", str(out / "alerts.jsonl"), "--rejects", str(out / "rejects.jsonl"),
        "--config", str(ROOT / "examples" / "aidmon.toml"),
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    run = subprocess.run(args, capture_output=True, text=True, check=True, cwd=ROOT)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    seconds = float(next(line.split()[1] for line in run.stderr.splitlines() if line.startswith("SECONDS")))
    return seconds, max(peak_kib, before) * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shipments", type=int, default=1620)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events", type=Path, help="an existing JSONL stream instead of a synthetic one")
    parser.add_argument("--sanctions", type=Path, help="with --events: its sanctions list")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from streams.dev import synthetic

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        events, sanctions = args.events, args.sanctions
        if events is None:
            data = synthetic.generate(seed=2012, shipments=args.shipments)
            events = work / "events.jsonl"
            synthetic.write(events, data)
        if sanctions is None:
            sanctions = work / "sanctions.xml"
            sanctions.write_text(synthetic.sanctions_xml(), encoding="utf-8")
        lines = sum(1 for _ in events.open("rb"))
        print(f"stream: {events.name if args.events else 'synthetic'}, {lines} lines, "
              f"{events.stat().st_size / 2**20:.1f} MiB")
        baseline, replay, peak = [], [], 0
        for round_no in range(1, args.rounds + 1):
            baseline.append(bare_json_loads(events))
            seconds, rss = replay_in_child(events, sanctions, work)
            replay.append(seconds)
            peak = max(peak, rss)
            print(f"round {round_no}: json.loads {lines / baseline[-1]:,.0f} lines/s, "
                  f"replay {lines / replay[-1]:,.0f} lines/s, ratio {baseline[-1] / replay[-1]:.3f}")
        base_rate, replay_rate = lines / min(baseline), lines / min(replay)
        paired = statistics.median(b / r for b, r in zip(baseline, replay, strict=True))
        print(f"best json.loads: {base_rate:,.0f} lines/s")
        print(f"best replay:     {replay_rate:,.0f} lines/s")
        print(f"ratio replay / json.loads: {paired:.3f} median of the rounds, "
              f"{replay_rate / base_rate:.3f} best against best (target >= 0.3)")
        print(f"replay peak memory: {peak / 2**20:,.0f} MiB (target < 1536 MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
