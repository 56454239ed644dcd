"""A season of operations: replay and the worker over one quarter and over several.

    python benchmarks/season.py [--mix default|convoys-and-camps|both] [--quarters 4] [--shipments N]
                                [--rounds 3] [--skip-worker] [--catch-up-timeout 1800]
                                [--retention-days D] [--keep DIR]

For each mix (both by default; ~140k events a quarter: 1620 shipments in the default mix,
2200 in the position-heavy, big-camp `convoys-and-camps`):

1. the project's generator writes one quarter (seed 2012), and `streams.dev.synthetic.season` makes the
   season: that quarter, then `--quarters - 1` copies of it, each moved on in event time
   by the quarter's span in whole days, with shipments, waybills, rounds, incidents,
   beneficiaries and event ids of its own (same sites, zones and partners);
2. replay, `--rounds` times: a bare `json.loads` loop over the quarter's file then
   `aidmon replay` on it in a fresh child process, then the same on the season's file
   (`season_replay`); CPU seconds of each, the child's peak memory; ratios season / quarter
   and replay / json.loads, the median of the rounds (the runs of a round are near in time);
3. unless --skip-worker: on a local broker of its own, the first quarter published and
   `aidmon worker` run to a group lag of 0, then the quarters up to the last at once (a
   backfill), then the last (`season_worker`):
   the worker's CPU per event and peak memory after each phase, the bytes it wrote to its
   state changelog per event, the changelog's size once the broker compacted it at the
   end, and its alerts against replay's after the first quarter and on the season.

Targets: memory over the season <= 1.3 x over one quarter and CPU per event <= 1.25 x,
for replay and the worker; replay >= 0.3 x json.loads on both mixes. Nothing is asserted:
the summary marks each figure pass or MISS. Children get the environment without its
AIDMON_* variables: the project's defaults (detectors.retention_days = 45) unless
--retention-days is given. A full run of both mixes takes well over an hour on the
project's 2-core machine (--skip-worker: about ten minutes).
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from itertools import islice
from pathlib import Path

from season_replay import describe, per_quarter, replay_once
from season_report import Figures, say, summary
from stream_data import DEFAULT_SHIPMENTS, as_messages

from streams.dev.synthetic.season import copy_quarter, quarter_days


def run_mix(mix: str, args: argparse.Namespace, work: Path, settings: dict[str, str]) -> Figures:
    from streams.dev import synthetic

    figures, shipments = Figures(mix, args.quarters), args.shipments or DEFAULT_SHIPMENTS[mix]
    work.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    quarter = synthetic.generate(seed=2012, shipments=shipments, mix=mix).lines
    files = {1: work / "quarter.jsonl", args.quarters: work / f"season-{args.quarters}q.jsonl"}
    days = write_season(quarter, args.quarters, files[1], files[args.quarters])
    sanctions = work / "sanctions.xml"
    sanctions.write_text(synthetic.sanctions_xml(), encoding="utf-8")
    figures.lines_per_quarter, figures.phases["generate"] = len(quarter), time.monotonic() - began
    say(f"mix {mix}: {shipments} shipments, {len(quarter):,} lines a quarter, {args.quarters * len(quarter):,} in "
        f"{args.quarters} quarters, each {days} days after the one before "
        f"({files[args.quarters].stat().st_size / 2**20:,.0f} MiB)")

    began = time.monotonic()
    for round_no in range(1, args.rounds + 1):
        pair = tuple(replay_once(path, sanctions, work / "replay", q, settings) for q, path in files.items())
        figures.replay.append((pair[0], pair[1]))
        for run in pair:
            say(f"replay round {round_no}/{args.rounds}, {describe(run)}")
    figures.phases["replay"] = time.monotonic() - began
    say(per_quarter(*figures.replay[-1]))

    if not args.skip_worker:
        from season_worker import run_worker

        began = time.monotonic()
        say("worker: the events as messages (decoded, tokenised, malformed lines dropped)")
        with files[args.quarters].open(encoding="utf-8") as season:
            lines = [line.rstrip("\n") for line in islice(season, len(quarter), None)]
        quarters = [as_messages(quarter)] + [as_messages(lines[k:k + len(quarter)])
                                             for k in range(0, len(lines), len(quarter))]
        replayed = {q: [json.loads(line) for line in (work / "replay" / f"alerts-{q}q.jsonl").open(encoding="utf-8")]
                    for q in files}
        shutil.rmtree(work / "worker", ignore_errors=True)  # a kept directory's broker from an earlier run
        run_worker(figures, quarters, sanctions, replayed, work / "worker", args.catch_up_timeout, settings)
        figures.phases["worker"] = time.monotonic() - began
    say(f"mix {mix} done: " + ", ".join(f"{name} {seconds / 60:.1f} min" for name, seconds in figures.phases.items()))
    return figures


def write_season(quarter: list[str], quarters: int, one: Path, season: Path) -> int:
    """The quarter's file, and the season's: the quarter then its copies, written as they are
    made; the days from one copy to the next."""
    days = quarter_days(quarter)
    text = "".join(line + "\n" for line in quarter)
    one.write_text(text, encoding="utf-8")
    with season.open("w", encoding="utf-8") as out:
        out.write(text)
        for k in range(1, quarters):
            out.writelines(line + "\n" for line in copy_quarter(quarter, k, days))
    return days


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mix", choices=["both", *DEFAULT_SHIPMENTS], default="both")
    parser.add_argument("--quarters", type=int, default=4, help="quarters in the season (at least 2)")
    parser.add_argument("--shipments", type=int, help="a quarter's shipments (default: 1620, or 2200 for "
                        "convoys-and-camps: ~140k events); fewer for a quick run")
    parser.add_argument("--rounds", type=int, default=3, help="paired replay rounds")
    parser.add_argument("--skip-worker", action="store_true", help="replay only")
    parser.add_argument("--catch-up-timeout", type=float, default=1800.0,
                        help="seconds the worker gets per quarter to reach a lag of 0")
    parser.add_argument("--retention-days", type=float, help="detectors.retention_days for replay and the worker")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it (streams, alerts, logs)")
    args = parser.parse_args()
    if args.quarters < 2 or args.rounds < 1:
        parser.error("--quarters must be at least 2 and --rounds at least 1")
    signal.signal(signal.SIGTERM, _interrupt)
    settings = {} if args.retention_days is None else {"detectors__retention_days": f"{args.retention_days:g}"}
    mixes = list(DEFAULT_SHIPMENTS) if args.mix == "both" else [args.mix]
    began, results = time.monotonic(), []
    with ExitStack() as stack:
        work = args.keep or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="season-bench-")))
        for mix in mixes:
            try:
                results.append(run_mix(mix, args, work / mix, settings))
            except RuntimeError as exc:  # a child that failed: the next mix may still run
                say(f"mix {mix} stopped: {exc}")
    summary(results)
    print(f"whole run: {(time.monotonic() - began) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
