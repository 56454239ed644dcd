"""Who had the machine's cores during a paced phase: the CPU time of the worker's main
process, of its detection process, of the broker and of the publisher (the benchmark's
own process), and how busy all the cores were, from /proc.

A paced phase's latency depends on whether the worker gets a core when an event comes:
on a machine of two cores the publisher and the broker want one between them as well.
This prints, for each, the cores it used on average over the phase, and how much of the
broker's went to the JVM's just-in-time compilers (threads named "C1/C2 CompilerThread").
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from season_probe import TICKS, process_tree, stat_fields

COMPILERS = "the broker's JIT compilers"  # part of the broker's figure, shown with it


def _own_seconds(pid: int) -> float:
    """User and system CPU seconds of `pid`'s threads (not of its children)."""
    fields = stat_fields(pid)
    return 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / TICKS


def _compiler_seconds(pid: int) -> float:
    """CPU seconds of `pid`'s just-in-time compiler threads (a JVM's), 0 for another process."""
    seconds = 0
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            if not (task / "comm").read_text().startswith(("C1 Compiler", "C2 Compiler")):
                continue
            text = (task / "stat").read_text()
        except OSError:
            continue  # a thread that ended meanwhile
        fields = text[text.rfind(")") + 2:].split()
        seconds += int(fields[11]) + int(fields[12])
    return seconds / TICKS


def _machine() -> tuple[int, int]:
    """All cores' busy and total ticks since boot (/proc/stat's first line)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


@dataclass
class CpuShare:
    """CPU seconds per process from `start` to `stop`; `render` gives cores used."""

    worker: int  # the worker's main process; its children are its detection process
    broker: int | None
    name: str = "worker"  # how the line names `worker` (the Faust floor, in its paced phase)
    children: str | None = "its detection process"  # and its children (None: not shown)
    seconds: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0
    busy: float = 0.0  # of all the cores, 0 to 1

    def _sample(self) -> dict[str, float]:
        sample = {self.name: _own_seconds(self.worker)}
        if self.children is not None:
            children = [pid for pid in process_tree(self.worker) if pid != self.worker]
            sample[self.children] = sum(_own_seconds(pid) for pid in children)
        sample["broker"] = _own_seconds(self.broker) if self.broker else 0.0
        sample[COMPILERS] = _compiler_seconds(self.broker) if self.broker else 0.0
        sample["publisher (this benchmark)"] = _own_seconds(os.getpid())
        return sample

    def cores(self, name: str) -> float:
        """The cores `name` used on average over the phase (0 before `stop`)."""
        return self.seconds.get(name, 0.0) / self.wall if self.wall else 0.0

    def start(self) -> None:
        self._began, self._first, self._machine = time.monotonic(), self._sample(), _machine()

    def stop(self) -> None:
        last, (busy, total) = self._sample(), _machine()
        self.wall = time.monotonic() - self._began
        self.seconds = {name: last[name] - self._first[name] for name in last}
        self.busy = (busy - self._machine[0]) / max(1, total - self._machine[1])

    def render(self) -> str:
        if not self.wall:
            return ""
        parts = []
        for name, seconds in self.seconds.items():
            if name == COMPILERS:
                continue
            part = f"{name} {seconds / self.wall:.2f}"
            if name == "broker" and self.broker:
                part += f" (its JIT compilers {self.cores(COMPILERS):.2f})"
            parts.append(part)
        used = ", ".join(parts)
        return (f"    cores used over the phase ({os.cpu_count()} on this machine, {self.busy:.0%} busy): {used}")
