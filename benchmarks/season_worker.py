"""The worker over a season, on a local broker of its own: the first quarter published and
handled to a group lag of 0 and its alerts compared with replay's on that quarter, then the
quarters between the first and the last at once (a backfill, its partitions read at
different speeds), then the last, and the same comparison on the season.

Each phase runs from the moment its events are there for the worker (the first: its first
event handled, start-up left out; the rest: just before they are published) to the first
moment its group's committed lag reads 0. The worker acknowledges an event only once the
checkpoint holding its effects is on the broker, so at lag 0 the changelog holds the
phase's writes. CPU and memory are those of the worker's process tree (`season_probe`).
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

from season_probe import HOLD, compact, set_topic_config, topic_bytes, usage
from season_report import Figures, WorkerPhase, say
from stream_data import AIDMON, ROOT, Message, aidmon_env
from stream_kafka import PARTITIONS, create_topics, end_offsets, local_broker, publish, read_alerts
from stream_procs import Child, free_port, metric_by_label, wait_first_event, wait_lag_zero
from stream_speed import settle

from streams.kafka.topics import state_changelog

START_UP_TIMEOUT = 180.0


def start_worker(bootstrap: str, app_id: str, sanctions: Path, work: Path, settings: dict[str, str]) -> Child:
    """`aidmon worker` with a fresh app id, the benchmark's secret, `settings` and a free web port."""
    import subprocess

    port, log = free_port(), work / f"{app_id}.log"
    command = [str(AIDMON), "--log-level", "WARNING", "worker", "--sanctions", str(sanctions),
               "--data-dir", str(work / f"{app_id}-data"), "--web-port", str(port)]
    env = aidmon_env(broker=f"kafka://{bootstrap}", kafka__app_id=app_id, **settings)
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                                   start_new_session=True)
    return Child(process, app_id, log, port, time.monotonic())


Mark = tuple[float, float, int, int]  # monotonic time, CPU seconds, changelog bytes and records


class Season:
    """The worker's phases on one broker, and what each left in the changelog."""

    def __init__(self, bootstrap: str, log_dirs: Path, worker: Child, changelog: str) -> None:
        self.bootstrap, self.log_dirs, self.worker, self.changelog = bootstrap, log_dirs, worker, changelog

    def mark(self) -> Mark:
        cpu = usage(self.worker.process.pid).cpu_seconds
        return (time.monotonic(), cpu, topic_bytes(self.log_dirs, self.changelog),
                sum(end_offsets(self.bootstrap, self.changelog).values()))

    def phase(self, name: str, events: int, timeout: float, start: Mark) -> WorkerPhase:
        """From `start` to the group's lag of 0 (or `timeout`)."""
        began, cpu, written, records = start
        done, last = wait_lag_zero(self.bootstrap, self.worker, timeout)
        now, end = usage(self.worker.process.pid), self.mark()
        if done is None:
            say(f"worker NOT caught up after {timeout:.0f} s: lag {last}; figures as they stand")
        return WorkerPhase(name, events, now.cpu_seconds - cpu, (done or end[0]) - began, now.peak_bytes,
                           now.rss_bytes, end[2] - written, end[3] - records, done is not None, self.outcomes())

    def outcomes(self) -> str:
        """The worker's counters so far: events by outcome, rejects by reason (/metrics)."""
        found = []
        for name, label in (("aidmon_events_total", "outcome"), ("aidmon_rejects_total", "reason")):
            counts = metric_by_label(self.worker, name, label)
            found.append(", ".join(f"{key} {value:,.0f}" for key, value in sorted(counts.items()) if value) or "none")
        return f"events {found[0]}; rejects {found[1]}"


def run_worker(figures: Figures, quarters: list[list[Message]], sanctions: Path,
               replayed: dict[int, list[dict[str, Any]]], work: Path, timeout: float, settings: dict[str, str]) -> None:
    """The phases (the first quarter; the ones between it and the last at once, a backfill;
    the last), the alerts after the first and at the end against replay's on as many
    quarters (`replayed`), the compacted changelog; into `figures`."""
    app_id = f"season-{figures.mix}"
    changelog = state_changelog(app_id)
    middle = [message for quarter in quarters[1:-1] for message in quarter]
    later = [(f"quarters 2 to {len(quarters) - 1} at once", middle)] if len(quarters) > 3 else \
        [("second quarter", middle)] if middle else []
    if len(quarters) > 1:
        later.append(("last quarter", quarters[-1]))
    with local_broker(work / "broker") as bootstrap:
        log_dirs = work / "broker" / "logs"
        create_topics(bootstrap, app_id)
        set_topic_config(bootstrap, changelog, HOLD)
        say(f"worker: broker on {bootstrap}; publishing the first quarter ({len(quarters[0]):,} events)")
        publish(bootstrap, quarters[0])
        worker = start_worker(bootstrap, app_id, sanctions, work, settings)
        try:
            wait_first_event(worker, START_UP_TIMEOUT)
            season = Season(bootstrap, log_dirs, worker, changelog)
            began, cpu, _, _ = season.mark()
            phases = [season.phase("first quarter", len(quarters[0]), timeout, (began, cpu, 0, 0))]
            say(describe(phases[0]))
            if phases[0].caught_up:  # the settling is not counted: the next phase begins after it
                settle(bootstrap)
                figures.parity_first = compare(read_alerts(bootstrap), replayed[1])[1]
                say(f"worker's alerts against replay's on the first quarter: {figures.parity_first}")
            for name, messages in later:
                say(f"worker: publishing the {name} ({len(messages):,} events)")
                start = season.mark()
                publish(bootstrap, messages)
                phases.append(season.phase(name, len(messages), timeout * len(messages) / len(quarters[0]), start))
                say(describe(phases[-1]))
            whole = WorkerPhase("season", sum(p.events for p in phases), sum(p.cpu_seconds for p in phases),
                                sum(p.wall_seconds for p in phases), phases[-1].peak_bytes, phases[-1].rss_bytes,
                                sum(p.changelog_bytes for p in phases), sum(p.changelog_records for p in phases),
                                all(p.caught_up for p in phases), phases[-1].outcomes)
            figures.worker = [*phases, whole]
            say(describe(whole))
            if whole.caught_up:
                settle(bootstrap)
                figures.parity_equal, figures.parity = compare(read_alerts(bootstrap), replayed[figures.quarters])
                say(f"worker's alerts against replay's on {figures.quarters} quarters: {figures.parity}")
        finally:
            worker.stop()
        say("worker stopped; letting the broker compact the changelog")
        figures.compacted = compact(bootstrap, log_dirs, changelog, PARTITIONS, 300.0, say)
        say(f"compacted changelog: {figures.compacted}")


def describe(run: WorkerPhase) -> str:
    return (f"worker, {run.name}: {run.events:,} events in {run.wall_seconds:.0f} s "
            f"({run.events / max(run.wall_seconds, 1e-9):,.0f} events/s), {run.cpu_seconds:.0f} s CPU "
            f"({run.cpu_per_event_us:,.0f} us/event), peak {run.peak_bytes / 2**20:,.0f} MiB, "
            f"RSS {run.rss_bytes / 2**20:,.0f} MiB, changelog {run.changelog_bytes / 2**20:,.1f} MiB "
            f"({run.changelog_bytes / max(run.events, 1):,.0f} B/event, {run.changelog_records:,} records)"
            + ("" if run.caught_up else " NOT CAUGHT UP") + f"\n    counters so far: {run.outcomes}")


def compare(live: list[tuple[int, dict[str, Any]]], replayed: list[dict[str, Any]]) -> tuple[bool, str]:
    """The worker's alerts (last version of each id) against replay's: equal sets of (id,
    typology, subject, severity), and the count per typology of each."""
    def key(a: dict[str, Any]) -> tuple[str, str, str, str]:
        return (str(a["alert_id"]), str(a["typology"]), str(a["subject"]["id"]), str(a["severity"]))

    latest = {str(a["alert_id"]): a for _, a in live}
    mine, theirs = {key(a) for a in latest.values()}, {key(a) for a in replayed}
    counts_live, counts_replay = Counter(k[1] for k in mine), Counter(k[1] for k in theirs)
    per = ", ".join(f"{t} {counts_live[t]}" + ("" if counts_live[t] == counts_replay[t]
                                                 else f" (replay {counts_replay[t]})")
                    for t in sorted(counts_live | counts_replay))
    if mine == theirs:
        return True, f"equal ({len(mine):,} alerts); per typology: {per}"
    return False, (f"DIFFERENT ({len(mine - theirs)} only live, {len(theirs - mine)} only in replay; "
                   f"{len(mine):,} live, {len(theirs):,} replayed); per typology: {per}")
