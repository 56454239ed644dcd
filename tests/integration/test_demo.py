"""`aidmon demo` and `aidmon simulate` for real: a broker, a worker and the paced synthetic stream.

The demo runs as a user runs it, a process of its own: it must show alerts of at least five
typologies, the console's address and a monitor token that the API accepts, stop on
`--seconds` or Ctrl-C, and leave no process and no port behind, so that a second run
starts at once.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from kafka import KafkaConsumer

from streams.dev.local_broker import port_is_free
from streams.kafka.servers import bootstrap_servers
from streams.kafka.topics import EVENTS
from tests.integration.live import AIDMON, aidmon, write_config

pytestmark = pytest.mark.kafka
SECONDS = 60  # the first run; the target: five typologies within 90 s of the broker being up
STOP_SECONDS = 10.0  # Ctrl-C stops everything within this
ALERT = re.compile(r"^#\d+\s+\S+\s+(?:new|update)\s+\S+\s+\S+\s+(?P<typology>[a-z_]+)\s", re.MULTILINE)
CONSOLE = re.compile(r"console\s+(?P<web>http://127\.0\.0\.1:(?P<port>\d+))/")
TOKEN = re.compile(r"token\s+(?P<token>aidmon_[A-Za-z0-9_-]{43})\s")
BROKER = re.compile(r"broker\s+kafka://127\.0\.0\.1:(?P<port>\d+)\s")


class Demo:
    """`aidmon demo` as a process; its output lines kept as they come, with when they came."""

    def __init__(self, folder: Path, *options: str) -> None:
        self.started = time.monotonic()
        self.process = subprocess.Popen([str(AIDMON), "demo", "--dir", str(folder), *options],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[tuple[float, str]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append((time.monotonic() - self.started, line))

    @property
    def output(self) -> str:
        return "".join(line for _, line in self.lines)

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = pattern.search(self.output)
            if found:
                return found
            assert self.process.poll() is None, f"the demo exited with {self.process.returncode}:\n{self.output}"
            time.sleep(0.2)
        raise AssertionError(f"no {pattern.pattern!r} within {timeout:.0f} s:\n{self.output}")

    def wait(self, timeout: float) -> float:
        """Wait for the exit; the seconds it took since the start."""
        self.process.wait(timeout)
        self.reader.join(5)
        assert self.process.stdout is not None
        self.process.stdout.close()
        return time.monotonic() - self.started

    def first_seen(self, count: int) -> float | None:
        """Seconds after the start at which alerts of `count` typologies had been shown."""
        seen: set[str] = set()
        for at, line in self.lines:
            found = ALERT.match(line)
            if found:
                seen.add(found["typology"])
                if len(seen) >= count:
                    return at
        return None


def processes_of(folder: Path) -> list[str]:
    """Command lines of running processes that name `folder` (the broker's java, a worker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                args = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if str(folder) in args and "pytest" not in args:
                found.append(f"{entry.name}: {args[:200]}")
    return found


def assert_nothing_left(folder: Path, output: str) -> None:
    assert not processes_of(folder), f"left running: {processes_of(folder)}"
    for pattern in (CONSOLE, BROKER):
        found = pattern.search(output)
        assert found, output
        assert port_is_free(int(found["port"])), f"port {found['port']} still taken"


def test_the_demo_shows_five_typologies_live_and_stops_clean_twice(tmp_path: Path) -> None:
    """`aidmon demo --seconds 60` shows alerts of five typologies or more, the console and a token
    the API takes, exits 0 within 75 s leaving nothing behind; a second run starts at once and
    stops on Ctrl-C within 10 s, leaving nothing behind either."""
    folder = (tmp_path / "demo").resolve()
    first = Demo(folder, "--seconds", str(SECONDS))
    web = first.wait_for(CONSOLE, 60)["web"]
    token = first.wait_for(TOKEN, 5)["token"]
    assert httpx.get(f"{web}/alerts", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200
    assert httpx.get(f"{web}/alerts", timeout=10).status_code == 401
    took = first.wait(SECONDS + 30)
    assert first.process.returncode == 0, first.output
    assert took <= SECONDS + 15, f"exited {took:.1f} s after its start"
    typologies = {found["typology"] for found in ALERT.finditer(first.output)}
    assert len(typologies) >= 5, f"typologies shown: {sorted(typologies)}\n{first.output}"
    assert_nothing_left(folder, first.output)

    second = Demo(folder)  # at once, in the same folder
    second.wait_for(ALERT, 60)
    second.process.send_signal(signal.SIGINT)
    stopped = time.monotonic()
    second.wait(STOP_SECONDS + 5)
    assert time.monotonic() - stopped <= STOP_SECONDS, second.output
    assert second.process.returncode == 0, second.output
    assert "stopped in" in second.output
    assert_nothing_left(folder, second.output)
    print(f"first run: five typologies {first.first_seen(5)} s after its start; second run's stop "
          f"{time.monotonic() - stopped:.1f} s")


def test_simulate_publishes_the_stream_in_event_time_order(fresh_kafka: str, tmp_path: Path) -> None:
    """`aidmon simulate --rate N` sends every valid line of the scenario once, each partition in event-time order."""
    config = write_config(tmp_path / "aidmon.toml", "simulate")
    aidmon(fresh_kafka, "topics", "create", "--config", str(config))
    run = aidmon(fresh_kafka, "simulate", "--config", str(config), "--shipments", "4", "--seed", "5",
                 "--rate", "3000", timeout=120)
    sent = int(re.search(r"sent: (\d+), acknowledged: \1", run.stdout)[1])  # type: ignore[index]
    assert "lines sent, the end of the stream" in run.stdout
    consumer = KafkaConsumer(EVENTS, bootstrap_servers=bootstrap_servers(fresh_kafka), group_id=None,
                             auto_offset_reset="earliest", consumer_timeout_ms=5000)
    try:
        records = list(consumer)
    finally:
        consumer.close()
    assert len(records) == sent > 300
    times: dict[int, list[datetime]] = defaultdict(list)
    for record in records:
        times[record.partition].append(datetime.fromisoformat(json.loads(record.value)["time"]))
    assert all(stamps == sorted(stamps) for stamps in times.values())
