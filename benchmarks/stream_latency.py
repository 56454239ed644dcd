"""Event-to-alert latency of the streaming benchmark, from Kafka timestamps.

A slice of fresh events (`stream_data.make_slice`) is published at a steady rate, then two
more seconds of the same slice keep event time moving, so the last measured events are
judged as they would be in a steady stream, not at the end of a burst (where order-sensitive
findings wait for the partitions to turn idle). Each alert version on the topic during the
phase is matched to the latest of its evidence events published in the measured part of
the slice, and to the event that made it: the worker's header `aidmon-trigger-timestamp`
(`streams.worker.detect.TRIGGER_HEADER`), the Kafka timestamp of the event whose arrival
raised or changed it. For most typologies that is the latest evidence itself; for those
judged on the event-time clock (overdue_shipment when the watermark passes a deadline,
route_deviation when it passes the reorder allowance of a run of positions) it is a later
event, the one that moved the watermark, which is not evidence. Its latency is the alert
message's Kafka timestamp minus the later of the two (an alert cannot come before either),
the issue's "from the event's Kafka timestamp to its alert's". The latency from the latest
evidence alone (what was measured before 2026-12-02) is printed beside it: for the
clock-judged typologies it includes the event time the stream takes to reach the deadline.
Versions with no evidence from the slice (judgements of older events, re-sends) are counted
and left out, as are those whose latest evidence or trigger came in the two trailing seconds
or after them (a judgement the worker made once the partitions turned idle at the end of
the phase: the header gives the moment it saw them idle).

With `path` (`stream_speed.py --path-latency`), a bare aiokafka consumer in a process of
its own (`path_latency.py`) reads the same events beside the worker as they are published:
the same latency measured for publisher, broker and consumer alone, on the same machine at
the same moment, printed as "the path alone". Its CPU competes with the worker's on a
2-core machine (the worker's p50 at 500/s was about 170 ms beside it, 70 to 120 without),
so it is off by default.

A lead-in (`lead_seconds`, 0 by default) publishes the slice's first seconds at the same
rate before the measured part, and leaves out the alerts whose latest evidence came in it.

The slices (`--paced-slice`) are by default the quarter after the stream's, cut in
consecutive pieces (`stream_data.next_quarter`): the operation goes on in event time, as
it does live. With `year-later` each is another seed's stream a year later than the one
before (`stream_data.make_slice`): its first events make the worker forget everything the
stream left at once (the retention), a stress case; a lead-in measures the steady state
after that.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field

from cpu_share import CpuShare
from path_latency import read as read_path
from stream_data import Message, make_slice
from stream_kafka import ALERTS, end_offsets, publish_paced, read_alert_records
from stream_procs import Child, start_path_watch, wait_lag_zero

TRIGGER_HEADER = "aidmon-trigger-timestamp"  # streams.worker.detect.TRIGGER_HEADER
TRAILING_SECONDS = 2.0
SLOWEST_SHOWN = 5  # alert versions listed with the moment they were made, to tell a phase's start from its steady state
AFTER_CAUGHT_UP_SECONDS = 3.0  # for the last judgements and their sends once the group's lag is 0


@dataclass
class Latency:
    rate: float
    events: int  # published in the measured part
    seconds: float  # publishing the measured part took
    behind: int  # the worker group's lag (every topic it reads) when waiting stopped
    delays_ms: list[float] = field(default_factory=list)
    by_typology: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    from_evidence_ms: list[float] = field(default_factory=list)  # from the latest evidence alone
    unrelated: int = 0  # alert versions with no evidence from the slice
    trailing: int = 0  # alert versions whose latest evidence came in the trailing seconds
    lead_seconds: float = 0.0  # published before the measured part, at the same rate
    leading: int = 0  # alert versions whose latest evidence came in the lead-in
    slowest: list[tuple[float, str, float]] = field(default_factory=list)  # (ms, typology, s into the phase)
    path_ms: list[float] = field(default_factory=list)  # the measured part's events, to a bare consumer
    cpu: str = ""  # the cores each process used over the phase (`cpu_share`)
    worker_cores: float = 0.0  # of them, the worker's main process's

    def render(self) -> str:
        head = (f"event-to-alert paced at {self.rate:,.0f} events/s ({self.events:,} events in {self.seconds:.1f} s,"
                f" {self.events / max(self.seconds, 1e-3):,.0f}/s sent"
                f"{f'; the group still {self.behind:,} messages behind at the time-out' if self.behind else ''}): ")
        if not self.delays_ms:
            return head + f"no alert version from these events ({self.unrelated} unrelated)"
        p50, p99 = percentile(self.delays_ms, 0.5), percentile(self.delays_ms, 0.99)
        lead = f"; after a lead-in of {self.lead_seconds:g} s, {self.leading} from it left out"
        lead = lead if self.lead_seconds else ""
        lines = [head + f"p50 {p50:,.0f} ms, p99 {p99:,.0f} ms, max {max(self.delays_ms):,.0f} ms"
                 f" over {len(self.delays_ms)} alert versions"
                 f" ({self.unrelated} without evidence from the slice and {self.trailing} from its trailing"
                 f" {TRAILING_SECONDS:.0f} s left out{lead})"]
        parts = [f"{typology} {percentile(d, 0.5):,.0f}/{percentile(d, 0.99):,.0f} (n={len(d)})"
                 for typology, d in sorted(self.by_typology.items(), key=lambda kv: -percentile(kv[1], 0.99))]
        lines.append("    by typology, p50/p99 ms: " + ", ".join(parts))
        e50, e99 = percentile(self.from_evidence_ms, 0.5), percentile(self.from_evidence_ms, 0.99)
        lines.append(f"    from the latest evidence alone (not the event that made it): p50 {e50:,.0f} ms,"
                     f" p99 {e99:,.0f} ms")
        worst = sorted(self.slowest, reverse=True)[:SLOWEST_SHOWN]
        lines.append("    slowest (ms, typology, seconds into the measured part when it was made): "
                     + ", ".join(f"{ms:,.0f} {typology} at {at:.1f} s" for ms, typology, at in worst))
        if self.path_ms:
            path = self.path_ms
            lines.append(f"    the path alone (publisher, broker and a bare aiokafka consumer in a process of its own,"
                         f" the same {len(path):,} events): p50 {percentile(path, 0.5):,.0f} ms, p99"
                         f" {percentile(path, 0.99):,.0f} ms, max {max(path):,.0f} ms")
        if self.cpu:
            lines.append(self.cpu)
        return "\n".join(lines)


def percentile(values: list[float], q: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


def slice_size(rate: float, seconds: float, lead_seconds: float = 0.0) -> int:
    """The events a paced phase publishes: its lead-in, the measured part, the trailing seconds."""
    return round(rate * (lead_seconds + seconds + TRAILING_SECONDS))


def prepare(mix: str, rate: float, seconds: float, seed: int, mark: str, lead_seconds: float = 0.0) -> list[Message]:
    """A slice a year later (`--paced-slice year-later`)."""
    return make_slice(mix, slice_size(rate, seconds, lead_seconds), seed, mark)


def measure(bootstrap: str, worker: Child, messages: list[Message], rate: float, seconds: float,
            timeout: float, lead_seconds: float = 0.0, path: bool = False, broker: int | None = None) -> Latency:
    """Publish `messages` paced at `rate`, wait for the worker, match alerts to events; the
    cores the worker, the `broker` (its pid) and the publisher used meanwhile."""
    lead = min(len(messages) - 1, round(rate * lead_seconds))
    measured = min(len(messages), lead + round(rate * seconds))
    start = end_offsets(bootstrap, ALERTS)
    path_file = worker.log.with_name(f"path-{rate:.0f}.txt")
    watch = start_path_watch(bootstrap, path_file) if path else None
    cpu = CpuShare(worker.process.pid, broker)
    try:
        cpu.start()
        sent = publish_paced(bootstrap, messages, rate)
        took = (sent[measured - 1] - sent[lead]) / 1000
        _, lag = wait_lag_zero(bootstrap, worker, timeout)
        cpu.stop()
        time.sleep(AFTER_CAUGHT_UP_SECONDS)
    finally:
        if watch is not None:
            watch.stop()
    stamps: dict[str, int] = {}
    for m, stamp in zip(messages, sent, strict=True):
        stamps.setdefault(m.event_id, stamp)  # a duplicate's first copy is the one that counts
    window, last = {m.event_id for m in messages[lead:measured]}, sent[measured - 1]
    early = {m.event_id for m in messages[:lead]}
    result = Latency(rate, measured - lead, took, sum(lag.values()), lead_seconds=lead_seconds,
                     path_ms=read_path(path_file, sent[lead], sent[measured - 1]) if path else [], cpu=cpu.render(),
                     worker_cores=cpu.cores("worker"))
    for stamp, alert, headers in read_alert_records(bootstrap, start):
        mine = [(stamps[e["event_id"]], e["event_id"]) for e in alert.get("evidence", ()) if e["event_id"] in stamps]
        if not mine:
            result.unrelated += 1
            continue
        evidence, event_id = max(mine)
        trigger = int(headers[TRIGGER_HEADER]) if TRIGGER_HEADER in headers else evidence
        if event_id in early:
            result.leading += 1
            continue
        if event_id not in window or trigger > last:
            result.trailing += 1
            continue
        delay = float(stamp - max(evidence, trigger))
        result.delays_ms.append(delay)
        result.by_typology[alert["typology"]].append(delay)
        result.from_evidence_ms.append(float(stamp - evidence))
        result.slowest.append((delay, alert["typology"], (max(evidence, trigger) - sent[lead]) / 1000))
    return result
