"""What the season benchmark reads beside the worker: its process tree's CPU time and
memory (from /proc), and the state changelog's size on the broker's disk, with the
broker's compaction held back while the phases run and let go at the end.

Holding compaction (`min.compaction.lag.ms` of a week on the changelog) makes the growth
of the changelog's log files the bytes the worker wrote, record batch framing included.
At the end the hold is lifted, the active segments are rolled (a tombstone for a key the
worker never uses, written once the worker has stopped) and the broker's log cleaner is
given time to compact them; the size it leaves is reported with what was seen of the
cleaner, or as not compacted if it did not finish in time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
HOLD = {"min.compaction.lag.ms": str(7 * 24 * 3600 * 1000)}
RELEASE = {"min.compaction.lag.ms": "0", "min.cleanable.dirty.ratio": "0.01", "segment.ms": "1000",
           "delete.retention.ms": "0"}
ROLL_KEY = b"season-benchmark|roll"  # not a key of the state table (those begin with a partition number)


@dataclass(frozen=True)
class Usage:
    cpu_seconds: float  # user + system of the process and its descendants (live or reaped)
    peak_bytes: int  # VmHWM summed over the tree (each process's own peak)
    rss_bytes: int  # VmRSS summed over the tree


def stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat from its third field (the state) on; None once the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2:].split()  # fields from the 3rd (state) on


def process_tree(root: int) -> list[int]:
    """`root` and every process below it."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := stat_fields(int(entry.name))) is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += parents.get(pid, [])
    return found


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def usage(root: int) -> Usage:
    """CPU and memory of `root` and every process below it, now."""
    ticks, peak, rss = 0, 0, 0
    for pid in process_tree(root):
        fields = stat_fields(pid)
        if fields is not None:
            ticks += sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
            peak += _status_kib(pid, "VmHWM")
            rss += _status_kib(pid, "VmRSS")
    return Usage(ticks / TICKS, peak * 1024, rss * 1024)


def topic_bytes(log_dirs: Path, topic: str) -> int:
    """Bytes of the topic's log segments (indexes, which the broker preallocates, left out)."""
    return sum(path.stat().st_size for path in log_dirs.glob(f"{topic}-*/*.log") if path.is_file())


def set_topic_config(bootstrap: str, topic: str, configs: dict[str, str]) -> None:
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=[bootstrap], client_id="season-benchmark")
    try:
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs=configs)])
    finally:
        admin.close()


def compact(bootstrap: str, log_dirs: Path, topic: str, partitions: int, limit: float,
            progress: Callable[[str], None] = print) -> str:
    """Lift the hold, roll every partition's active segment, and wait (at most `limit` s)
    until the log cleaner has left the topic's size alone for 45 s; what happened, in words."""
    from kafka import KafkaProducer

    before = topic_bytes(log_dirs, topic)
    set_topic_config(bootstrap, topic, RELEASE)
    time.sleep(2.0)  # older than segment.ms: the next append rolls the segment
    producer = KafkaProducer(bootstrap_servers=[bootstrap], acks="all", client_id="season-benchmark")
    try:
        for partition in range(partitions):
            producer.send(topic, key=ROLL_KEY, value=None, partition=partition)
        producer.flush(timeout=60)
    finally:
        producer.close()
    began = last_change = time.monotonic()
    size = topic_bytes(log_dirs, topic)
    while time.monotonic() - began < limit and time.monotonic() - last_change < 45.0:
        time.sleep(5.0)
        now = topic_bytes(log_dirs, topic)
        if now != size:
            size, last_change = now, time.monotonic()
            progress(f"changelog being compacted: {size / 2**20:,.1f} MiB")
    cleaned = time.monotonic() - last_change >= 45.0 and size < before
    how = "after the broker's log cleaner" if cleaned else f"NOT compacted within {limit:.0f} s (log files as they are)"
    return f"{size / 2**20:,.1f} MiB on disk {how}, from {before / 2**20:,.1f} MiB written"
