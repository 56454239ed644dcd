"""The processes the streaming benchmark runs and watches: `aidmon worker` and the Faust
floor (`faust_floor.py`), each with its own consumer group; when each handled its first
event, when its group's committed lag reached 0, and its peak memory."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from kafka.errors import KafkaError
from season_probe import usage
from stream_data import AIDMON, ROOT, aidmon_env

from streams.kafka.consumer import group_lag

FLOOR = Path(__file__).with_name("faust_floor.py")
PATH_WATCH = Path(__file__).with_name("path_latency.py")
LAG_POLL_SECONDS = 0.5


@dataclass
class Child:
    """A process of the benchmark's, its group and where its output goes."""

    process: subprocess.Popen[bytes]
    group: str
    log: Path
    web_port: int | None = None
    launched: float = 0.0

    def peak_mib(self) -> float | None:
        """VmHWM, the kernel's record of peak resident memory, summed over the process and
        those it started (the worker's detection process); None once it has ended."""
        if self.process.poll() is not None:
            return None
        return usage(self.process.pid).peak_bytes / 2**20

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def tail(self, lines: int = 15) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _launch(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                                start_new_session=True)


def start_worker(bootstrap: str, app_id: str, sanctions: Path, work: Path) -> Child:
    """`aidmon worker` with a fresh app id, the benchmark's secret and a free web port."""
    port, data_dir, log = free_port(), work / f"{app_id}-data", work / f"{app_id}.log"
    command = [str(AIDMON), "--log-level", "WARNING", "worker", "--sanctions", str(sanctions),
               "--data-dir", str(data_dir), "--web-port", str(port)]
    env = aidmon_env(broker=f"kafka://{bootstrap}", kafka__app_id=app_id)
    return Child(_launch(command, env, log), app_id, log, port, time.monotonic())


def start_floor(bootstrap: str, app_id: str, work: Path, topic: str | None = None) -> Child:
    """The minimal Faust agent (`faust_floor.py`) in its own process and group, on
    aid.events.v1 or `topic`."""
    log = work / f"{app_id}.log"
    command = [sys.executable, str(FLOOR), f"kafka://{bootstrap}", app_id, str(work / f"{app_id}-data"),
               str(work / f"{app_id}.first"), *([topic] if topic else [])]
    return Child(_launch(command, aidmon_env(), log), app_id, log, None, time.monotonic())


def start_path_watch(bootstrap: str, out: Path, timeout: float = 30.0) -> Child:
    """The bare consumer of `path_latency.py`, positioned at the end of aid.events.v1."""
    ready = out.with_name(out.name + ".ready")
    ready.unlink(missing_ok=True)
    log = out.with_suffix(".log")
    child = Child(_launch([sys.executable, str(PATH_WATCH), bootstrap, str(out)], aidmon_env(), log), "", log)
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if child.process.poll() is not None or time.monotonic() > deadline:
            child.stop()
            raise RuntimeError(f"the path's own consumer did not start:\n{child.tail()}")
        time.sleep(0.1)
    return child


def metric_by_label(child: Child, name: str, label: str) -> dict[str, float]:
    """A counter of the worker's /metrics summed by one label ({} if unreadable)."""
    import httpx

    try:
        text = httpx.get(f"http://127.0.0.1:{child.web_port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return {}
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(name + "{") and f'{label}="' in line:
            value = line.split(f'{label}="', 1)[1].split('"', 1)[0]
            found[value] = found.get(value, 0.0) + float(line.rsplit(" ", 1)[1])
    return found


def wait_first_event(child: Child, timeout: float) -> float:
    """When the worker (by its /metrics) or the floor (by its file) handled its first event."""
    first_file = child.log.with_suffix(".first")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            raise RuntimeError(f"{child.group} exited with {child.process.returncode}:\n{child.tail()}")
        if child.web_port is None:
            with contextlib.suppress(OSError, ValueError):
                return time.monotonic() - (time.time() - float(first_file.read_text()))
        elif sum(metric_by_label(child, "aidmon_events_total", "outcome").values()) > 0:
            return time.monotonic()
        time.sleep(0.1)
    raise RuntimeError(f"{child.group} handled no event in {timeout:.0f} s:\n{child.tail()}")


def lag(bootstrap: str, group: str) -> dict[str, int] | None:
    """The group's committed lag per topic it reads (streams.kafka.consumer.group_lag), None
    while the group or its coordinator is not there yet."""
    try:
        return group_lag(f"kafka://{bootstrap}", group)
    except KafkaError:
        return None


def wait_lag_zero(bootstrap: str, child: Child, timeout: float) -> tuple[float | None, dict[str, int]]:
    """(When the group's total lag was first seen at 0 or None after `timeout`, the last lag read)."""
    deadline, last = time.monotonic() + timeout, {}
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            raise RuntimeError(f"{child.group} exited with {child.process.returncode}:\n{child.tail()}")
        now, found = time.monotonic(), lag(bootstrap, child.group)
        if found is not None:
            last = found
            if sum(found.values()) == 0:
                return now, found
        time.sleep(max(0.0, now + LAG_POLL_SECONDS - time.monotonic()))
    return None, last
