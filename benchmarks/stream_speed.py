"""Streaming speed of `aidmon worker`, as ratios against baselines measured in the same run.

    python benchmarks/stream_speed.py [--mix default|convoys-and-camps|both] [--events N | --shipments N]
                                      [--paced-seconds 20] [--catch-up-timeout 240] [--paced-timeout 120]
                                      [--no-batch] [--batch-size 500] [--keep DIR]
                                      [--no-baselines] [--paced-rates 500,2000] [--lead-seconds 0]
                                      [--path-latency]
                                      [--paced-slice next-quarter|year-later]

For each mix (both by default, one after the other, each on a local broker of its own
started in a temporary directory and stopped at the end, also on Ctrl-C or failure):

1. the project's synthetic stream (seed 2012; ~140k events at the default 1620 shipments,
   or 2200 for convoys-and-camps) is published to aid.events.v1 (6 partitions), one event a
   message keyed by its subject, as `aidmon publish` sends it (malformed lines dropped,
   duplicates kept); publishing is not measured;
2. on that topic: a bare aiokafka consumer reading every message (the client's limit); a
   minimal Faust agent that only `json.loads` each value (`faust_floor.py`, the framework's
   floor) in a process and group of its own; then `aidmon worker` with a fresh app id. The
   agent's and the worker's rate run from the first event they handled (the floor: its own
   clock; the worker: `aidmon_events_total` > 0 on /metrics) to the first moment their
   group's committed lag (`streams.kafka.consumer.group_lag`: every topic the group reads,
   internal ones included) reads 0. A worker not caught up after --catch-up-timeout is
   rated on the events it committed by then, and the phases that need it caught up are skipped;
3. the worker's alerts (the last version of each alert id on diversion.alerts.v1, once no new
   one came for 15 s) against `aidmon replay` on the same events: the sets of (alert_id,
   typology, subject id, severity) must be equal;
4. event-to-alert latency at 500 and then 2,000 events/s paced, on the events of the
   stream's next quarter (`--paced-slice year-later`: on slices a year later each, which
   make the worker forget all it holds at once; `stream_latency.py` says how it is
   computed; each also prints the cores the worker's two processes, the broker and the
   publisher used over it, and how busy the machine's cores were: `cpu_share.py`), then
   the worker's peak memory (VmHWM of its process); with the baselines, the Faust floor then
   reads each phase's events at its rate on a topic of its own, and the cores it used are
   set beside the worker's main process's (`floor_paced.py`);
5. the same events as CloudEvents JSON batches (`application/cloudevents-batch+json`, 500
   events a message, keyed by the first one's subject) read by a second worker with a fresh
   app id from where the batches begin (a worker that rejected every batch to
   aid.rejects.v1 would be reported as "not supported"); the alerts it sent, against
   replay's.

`--no-baselines` skips the bare consumer and the Faust floor (step 2's first two readers
and the floor's paced phases),
and `--paced-rates` picks some of step 4's rates: with `--events 40000 --no-batch` a run
that measures the latency takes a few minutes instead of 15.

Each figure is printed with its ratio to the baselines and the time each phase took.
Nothing is asserted: the figures are read, not tested. The run takes about 15 minutes on
the project's 2-core machine with the default options (less once the worker is fast).
Children get the environment without its AIDMON_* variables, so the settings are the
defaults but for the broker, the app id and the pseudonymisation secret.

Beside this file: `stream_data` (the stream as messages, batches, paced slices, replay),
`stream_kafka` (the broker, publishing, the bare consumer, offsets, the alerts topic),
`stream_procs` (the worker and floor processes, first event, lag, memory),
`stream_latency` (the paced phases), `stream_report` (the figures and their print-out),
`faust_floor` (the minimal Faust agent), `cpu_share` (who had the cores in a paced phase),
`floor_paced` (the Faust floor at a paced phase's rate)
and `path_latency` (with `--path-latency`, a bare consumer beside the worker in the paced
phases: the latency of the path alone).
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from floor_paced import floor_cores
from floor_paced import render as render_floor
from stream_data import DEFAULT_SHIPMENTS, Stream, as_batches, make_stream, next_quarter, replay, shipments_for
from stream_kafka import (
    ALERTS,
    EVENTS,
    REJECTS,
    bare_consumer,
    commit_offsets,
    create_topics,
    end_offsets,
    local_broker,
    publish,
    read_alerts,
)
from stream_latency import measure, prepare, slice_size
from stream_procs import Child, metric_by_label, start_floor, start_worker, wait_first_event, wait_lag_zero
from stream_report import Figures, Run, mib, render, summary

from streams.dev.local_broker import running_broker

PACED = ((500.0, 2013, "B"), (2000.0, 2014, "C"))  # events/s, the year-later slice's seed (and year), its id mark
START_UP_TIMEOUT = 180.0
SETTLE_SECONDS = 15.0  # no new alert for this long: every partition idle (10 s) and judged


def catch_up(bootstrap: str, child: Child, events: int, messages: int, timeout: float) -> Run:
    """From the child's launch: its first event, then its group's lag to 0 (or the time-out)."""
    first = wait_first_event(child, START_UP_TIMEOUT)
    done, last = wait_lag_zero(bootstrap, child, timeout)
    run = Run(events, startup=first - child.launched)
    if done is not None:
        run.seconds, run.done = done - first, events
    else:
        behind = last.get(EVENTS, messages)
        run.seconds, run.done, run.caught_up = time.monotonic() - first, round(events * (1 - behind / messages)), False
        run.note = f"not caught up after {timeout:.0f} s: {behind:,} of {messages:,} messages still behind"
    run.peak_mib = child.peak_mib()
    return run


def compare(bootstrap: str, replayed: list[dict[str, object]],
            start: dict[int, int] | None = None) -> tuple[str, str]:
    """The worker's alerts (last version per id; those from `start` on, when given) against
    replay's, on (id, typology, subject, severity): a word or two for the summary, and the
    long story."""
    def key(a: dict[str, object]) -> tuple[str, ...]:
        subject = a["subject"]
        assert isinstance(subject, dict)
        return (str(a["alert_id"]), str(a["typology"]), str(subject["id"]), str(a["severity"]))

    live = {str(a["alert_id"]): a for _, a in read_alerts(bootstrap, start)}
    mine, theirs = {key(a) for a in live.values()}, {key(a) for a in replayed}
    if mine == theirs:
        return "equal", f"equal to replay's ({len(mine):,} alerts; compared: alert_id, typology, subject id, severity)"
    only_live, only_replay = sorted(mine - theirs), sorted(theirs - mine)
    examples = "\n      ".join(["only live:", *(" ".join(k) for k in only_live[:3]),
                                 "only in replay:", *(" ".join(k) for k in only_replay[:3])])
    short = f"DIFFERENT ({len(only_live)} only live, {len(only_replay)} only in replay)"
    return short, (f"DIFFERENT from replay's ({len(only_live)} only live, {len(only_replay)} only in replay;"
                   f" {len(mine):,} live, {len(theirs):,} replayed)\n      {examples}")


def settle(bootstrap: str, limit: float = 120.0) -> None:
    """Until the alerts topic has not grown for SETTLE_SECONDS (at most `limit`)."""
    last, since, deadline = -1, time.monotonic(), time.monotonic() + limit
    while time.monotonic() < deadline:
        ends = sum(end_offsets(bootstrap, ALERTS).values())
        if ends != last:
            last, since = ends, time.monotonic()
        elif time.monotonic() - since >= SETTLE_SECONDS:
            return
        time.sleep(1.0)


def run_batches(bootstrap: str, stream: Stream, work: Path, size: int, timeout: float,
                replayed: list[dict[str, object]], figures: Figures) -> Run:
    """A second worker on the same events as batch messages, from where the batches begin;
    its alerts (those it sent) against replay's go into `figures`."""
    batches, app_id = as_batches(stream.messages, size), f"bench-{stream.mix}-batch"
    create_topics(bootstrap, app_id)
    commit_offsets(bootstrap, app_id, EVENTS, end_offsets(bootstrap, EVENTS))
    rejects_before = sum(end_offsets(bootstrap, REJECTS).values())
    alerts_before = end_offsets(bootstrap, ALERTS)
    publish(bootstrap, batches, batch=True)
    worker = start_worker(bootstrap, app_id, stream.sanctions_file, work)
    try:
        run = catch_up(bootstrap, worker, len(stream.messages), len(batches), timeout)
        outcomes = metric_by_label(worker, "aidmon_events_total", "outcome")
        if run.caught_up:
            settle(bootstrap)
            figures.batch_parity_short, figures.batch_parity = compare(bootstrap, replayed, alerts_before)
    except RuntimeError as exc:
        return Run(len(stream.messages), caught_up=False, note=f"failed: {exc}")
    finally:
        worker.stop()
    rejected = sum(end_offsets(bootstrap, REJECTS).values()) - rejects_before
    if rejected >= len(batches):
        run.caught_up, run.done = False, 0
        run.note = (f"not supported: the worker rejected all {len(batches)} batch messages"
                    f" to {REJECTS} ({rejected} rejects)")
    elif outcomes:
        run.note = f"{len(batches)} messages of up to {size} events; events by outcome: " + ", ".join(
            f"{k} {v:,.0f}" for k, v in sorted(outcomes.items()))
    return run


def run_mix(mix: str, shipments: int, args: argparse.Namespace, work: Path) -> Figures:
    figures = Figures(mix)
    work.mkdir(parents=True, exist_ok=True)
    with figures.phase("generate"):
        stream = make_stream(mix, shipments, work)
        paced = [(rate, seed, mark) for rate, seed, mark in PACED if rate in args.paced_rates]
        if args.paced_slice == "year-later":
            slices = [prepare(mix, rate, args.paced_seconds, seed, mark, args.lead_seconds)
                      for rate, seed, mark in paced]
        else:
            slices = next_quarter(stream, [slice_size(rate, args.paced_seconds, args.lead_seconds)
                                           for rate, _, _ in paced])
    n = len(stream.messages)
    print(f"\n== {stream.describe()}", flush=True)
    with figures.phase("replay"):
        replayed = replay(stream, work)
    print(f"replay: {len(replayed):,} alerts", flush=True)
    with ExitStack() as stack:
        with figures.phase("broker"):
            bootstrap = stack.enter_context(local_broker(work / "broker"))
            create_topics(bootstrap, f"bench-{mix}-worker")
        with figures.phase("publish"):
            publish(bootstrap, stream.messages)
        if args.baselines:
            with figures.phase("bare consumer"):
                figures.bare = n / bare_consumer(bootstrap, n)
            say(f"bare aiokafka consumer: {figures.bare:,.0f} events/s")
            with figures.phase("Faust floor"):
                floor = start_floor(bootstrap, f"bench-{mix}-floor", work)
                stack.callback(floor.stop)
                figures.floor = catch_up(bootstrap, floor, n, n, args.catch_up_timeout)
                floor.stop()
            say(render(figures.floor, "minimal Faust agent (json.loads)", figures))
        with figures.phase("worker"):
            worker = start_worker(bootstrap, f"bench-{mix}-worker", stream.sanctions_file, work)
            stack.callback(worker.stop)
            figures.worker = catch_up(bootstrap, worker, n, n, args.catch_up_timeout)
        say(render(figures.worker, "aidmon worker, single-event messages", figures))
        if figures.worker.caught_up:
            with figures.phase("alerts against replay"):
                settle(bootstrap)
                figures.parity_short, figures.parity = compare(bootstrap, replayed)
            say(f"the worker's alerts: {figures.parity}")
            for messages, (rate, _, _) in zip(slices, paced, strict=True):
                with figures.phase(f"paced at {rate:,.0f}/s"):
                    figures.latencies.append(measure(bootstrap, worker, messages, rate, args.paced_seconds,
                                                     args.paced_timeout, args.lead_seconds, args.path_latency,
                                                     running_broker(work / "broker")))
                say(figures.latencies[-1].render())
        else:
            say("alerts against replay, latency: skipped (the worker had not caught up)")
        figures.worker.peak_mib = worker.peak_mib()
        say(f"worker peak memory (VmHWM): {mib(figures.worker.peak_mib)}; the Faust floor's: "
            f"{mib(figures.floor.peak_mib if figures.floor else None)}")
        worker.stop()
        if args.baselines:
            for messages, latency in zip(slices, figures.latencies, strict=False):
                try:
                    with figures.phase(f"Faust floor at {latency.rate:,.0f}/s"):
                        cpu = floor_cores(bootstrap, work, messages, latency.rate, running_broker(work / "broker"),
                                          args.paced_timeout)
                except Exception as exc:  # a figure beside the others: its failure loses none of them
                    say(f"    the Faust floor at {latency.rate:,.0f}/s: not measured ({type(exc).__name__}: {exc})")
                    continue
                say(render_floor(cpu, latency.rate, latency.worker_cores))
        if args.batch:
            with figures.phase("batch messages"):
                figures.batch = run_batches(bootstrap, stream, work, args.batch_size, args.catch_up_timeout,
                                            replayed, figures)
            say(render(figures.batch, "aidmon worker, batch messages", figures))
            say(f"its alerts: {figures.batch_parity}")
        published = n + sum(len(m) for m in slices[:len(figures.latencies)])
        check_topic(bootstrap, published + (math.ceil(n / args.batch_size) if args.batch else 0))
    say("phases: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in figures.phases.items()))
    return figures


def check_topic(bootstrap: str, published: int) -> None:
    """Say so if aid.events.v1 holds messages the benchmark did not publish (someone else's client)."""
    found = sum(end_offsets(bootstrap, EVENTS).values())
    if found != published:
        say(f"WARNING: {EVENTS} holds {found:,} messages where the benchmark published {published:,}:"
            " another client wrote to this broker, and the figures above are not to be trusted")


def say(text: str) -> None:
    print(text, flush=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mix", choices=["both", *DEFAULT_SHIPMENTS], default="both")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--events", type=int, help="about this many events per mix (sets the shipments)")
    size.add_argument("--shipments", type=int, help="default: 1620 (default mix), 2200 (convoys-and-camps)")
    parser.add_argument("--paced-seconds", type=float, default=20.0, help="length of each paced phase")
    parser.add_argument("--lead-seconds", type=float, default=0.0,
                        help="paced but not measured, before each paced phase (`stream_latency`: the steady state)")
    parser.add_argument("--paced-slice", choices=("next-quarter", "year-later"), default="next-quarter",
                        help="what the paced phases publish: the stream's next quarter (the clock goes on), or "
                             "slices a year later each (the worker forgets all it holds at once)")
    parser.add_argument("--catch-up-timeout", type=float, default=240.0,
                        help="seconds a reader gets to reach a lag of 0 (then it is rated on what it did)")
    parser.add_argument("--paced-timeout", type=float, default=120.0,
                        help="seconds the worker gets after a paced phase to reach a lag of 0")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--no-batch", dest="batch", action="store_false", help="skip the batch messages")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it (logs, streams)")
    parser.add_argument("--no-baselines", dest="baselines", action="store_false",
                        help="skip the bare consumer and the Faust floor")
    parser.add_argument("--path-latency", action="store_true",
                        help="a bare consumer beside the worker in the paced phases: the latency of the path "
                             "alone (`path_latency`; its own CPU competes with the worker's)")
    parser.add_argument("--paced-rates", type=lambda text: [float(r) for r in text.split(",")],
                        default=[rate for rate, _, _ in PACED],
                        help="which of the paced rates to measure (comma-separated; default: all)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupt)
    mixes = list(DEFAULT_SHIPMENTS) if args.mix == "both" else [args.mix]
    began, results = time.monotonic(), []
    with ExitStack() as stack:
        work = args.keep or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="stream-bench-")))
        for mix in mixes:
            try:
                results.append(run_mix(mix, shipments_for(mix, args.events, args.shipments), args, work / mix))
            except RuntimeError as exc:  # a child that exited or never started: the next mix may still run
                print(f"mix {mix} stopped: {exc}", flush=True)
    summary(results, [rate for rate, _, _ in PACED if rate in args.paced_rates])
    print(f"whole run: {(time.monotonic() - began) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
