"""Running the live path in tests: config, workers as processes, waiting for them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
from kafka.errors import KafkaError

from streams.kafka.consumer import group_lag, read_alerts
from streams.kafka.topics import ALERTS
from tests.paths import ROOT

AIDMON = Path(sys.executable).with_name("aidmon")
SECRET = "integration-test-secret-0123456789"  # noqa: S105 - a test fixture, not a credential


def write_config(path: Path, app_id: str, partitions: int = 4) -> Path:
    path.write_text(
        f'[pseudonymisation]\nsecret = "{SECRET}"\n'
        f'[kafka]\napp_id = "{app_id}"\npartitions = {partitions}\nidle_seconds = 2.0\ntick_seconds = 0.5\n',
        encoding="utf-8",
    )
    return path


def aidmon(
    broker: str, *args: str, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`aidmon ARGS` against `broker` (with `env` added to the environment); it must succeed."""
    run = subprocess.run(
        [str(AIDMON), *args], capture_output=True, text=True, timeout=timeout, check=False,
        env={**os.environ, "AIDMON_BROKER": broker, **(env or {})},
    )
    assert run.returncode == 0, f"aidmon {' '.join(args)} failed:\n{run.stdout}\n{run.stderr}"
    return run


def start_worker(
    broker: str, config: Path, sanctions: Path, data_dir: Path, log: Path, web_port: int | None = None,
    log_level: str | None = None, command: Sequence[str] = (str(AIDMON),),
) -> subprocess.Popen[bytes]:
    """A worker process; its HTTP API on `web_port` (a free port when not given). `command`
    runs the CLI (a wrapper module of the tests, with the checkout on its path, may)."""
    port = web_port or free_port()
    log_level = log_level or os.environ.get("AIDMON_TEST_WORKER_LOG_LEVEL", "WARNING")  # INFO to debug a failure
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    with log.open("ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [*command, "--log-level", log_level, "worker", "--config", str(config), "--sanctions", str(sanctions),
             "--data-dir", str(data_dir), "--web-port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "AIDMON_BROKER": broker, "PYTHONPATH": path},
            start_new_session=True,
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(base_url: str, worker: subprocess.Popen[bytes], timeout: float = 120) -> None:
    """Until GET /readyz answers 200; fails if the worker exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert worker.poll() is None, f"the worker exited with {worker.returncode}"
        try:
            if httpx.get(f"{base_url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{base_url} was not ready in {timeout:.0f} s")


def stop(worker: subprocess.Popen[bytes], hard: bool = False) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)


def detection_lag(broker: str, app_id: str) -> int | None:
    """The group's lag on the topics the detectors read (not the alerts that webhooks deliver)."""
    lag = {topic: behind for topic, behind in group_lag(broker, app_id).items() if topic != ALERTS}
    return sum(lag.values()) if lag else None


def wait_caught_up(
    broker: str, app_id: str, timeout: float = 240, settle: float = 6.0, log: Path | None = None,
    running: subprocess.Popen[bytes] | Sequence[subprocess.Popen[bytes]] = (),
) -> None:
    """Until the group has no lag on the topics the detectors read, then `settle` more
    seconds (idle marks, the last judgements and a checkpoint); fails after `timeout`,
    with the end of the workers' `log` if given; raises `WorkerStopped` if one of the
    `running` workers exits with status 3."""
    workers = [running] if isinstance(running, subprocess.Popen) else list(running)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for index, worker in enumerate(workers):
            if worker.poll() == 3:
                raise WorkerStopped(index)
        try:
            if detection_lag(broker, app_id) == 0:
                time.sleep(settle)
                if detection_lag(broker, app_id) == 0:
                    return
        except KafkaError:
            pass  # the group or its coordinator is not there yet
        time.sleep(1.0)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-60:]) if log is not None and log.exists() else ""
    raise AssertionError(f"the worker group {app_id} did not catch up in {timeout:.0f} s: "
                         f"{group_lag(broker, app_id)}\nthe end of the workers' log:\n{tail}")


def wait_caught_up_supervised(
    broker: str, app_id: str, worker: subprocess.Popen[bytes], start: Callable[[], subprocess.Popen[bytes]],
    log: Path, restarts: int = 3,
) -> subprocess.Popen[bytes]:
    """`Supervisor.wait_caught_up` for one worker, already started; the worker running at
    the end (to stop). If it fails, the worker it started is stopped first: the caller only
    holds the one it passed, and one left running would go on into the next tests."""
    workers = Supervisor()
    workers.adopt(worker, start)
    try:
        workers.wait_caught_up(broker, app_id, log, restarts)
    except BaseException:
        workers.stop()
        raise
    return workers.workers[0]


class WorkerStopped(Exception):
    """A worker exited with status 3 (it stopped on its own, to be restarted)."""

    def __init__(self, index: int = 0) -> None:
        super().__init__(f"worker {index} stopped on its own")
        self.index = index  # which of the workers waited on


class Supervisor:
    """Workers of one group, each restarted when it stops on its own (exit status 3), as
    their supervisor would (`docker compose`'s `restart: unless-stopped`)."""

    def __init__(self) -> None:
        self._starts: list[Callable[[], subprocess.Popen[bytes]]] = []
        self.workers: list[subprocess.Popen[bytes]] = []
        self.restarts = 0

    def start(self, start: Callable[[], subprocess.Popen[bytes]]) -> None:
        """One more worker, `start()`ed now and by each restart."""
        self.adopt(start(), start)

    def adopt(self, worker: subprocess.Popen[bytes], start: Callable[[], subprocess.Popen[bytes]]) -> None:
        """One more worker, already started; `start()` restarts it."""
        self._starts.append(start)
        self.workers.append(worker)

    def wait_caught_up(self, broker: str, app_id: str, log: Path, restarts: int = 3) -> None:
        """`wait_caught_up`, restarting a worker that stops on its own, at most `restarts` times in all."""
        while True:
            try:
                wait_caught_up(broker, app_id, log=log, running=self.workers)
                return
            except WorkerStopped as stopped:
                if self.restarts == restarts:
                    raise AssertionError(f"the workers stopped on their own {restarts + 1} times") from stopped
                self.restarts += 1
                self.workers[stopped.index] = self._starts[stopped.index]()

    def stop(self) -> None:
        for worker in self.workers:
            stop(worker)


def exported(broker: str) -> list[dict[str, Any]]:
    """Every version of every alert on the topic, in order."""
    return list(read_alerts(broker, idle_seconds=3.0))


def rejected(broker: str) -> list[dict[str, Any]]:
    """Every record of aid.rejects.v1, from the beginning."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer("aid.rejects.v1", bootstrap_servers=broker.removeprefix("kafka://"),
                             auto_offset_reset="earliest", consumer_timeout_ms=5000, group_id=None)
    try:
        return [json.loads(record.value) for record in consumer]
    finally:
        consumer.close()


def pairs(alerts: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(a["typology"], a["subject"]["id"]) for a in alerts}


def ids_per_pair(alerts: list[dict[str, Any]]) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = {}
    for a in alerts:
        found.setdefault((a["typology"], a["subject"]["id"]), set()).add(a["alert_id"])
    return found


def replay_alerts(events: Path, sanctions: Path, config: Path, out: Path) -> list[dict[str, Any]]:
    """The last version of each alert as `aidmon replay` writes it for the same input and settings."""
    subprocess.run(
        [str(AIDMON), "replay", str(events), "--sanctions", str(sanctions), "--config", str(config),
         "--alerts", str(out)],
        capture_output=True, check=True, timeout=300,
    )
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def replay_pairs(events: Path, sanctions: Path, config: Path, out: Path) -> set[tuple[str, str]]:
    return pairs(replay_alerts(events, sanctions, config, out))


def latest(alerts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last version of each alert id on the topic, as a consumer (or `aidmon alerts export`)
    keeps it: the versions of one alert share its key, so its partition holds them in order."""
    return {alert["alert_id"]: alert for alert in alerts}


def alert_differences(live: list[dict[str, Any]], replayed: list[dict[str, Any]]) -> list[str]:
    """What tells the worker's alerts (their last versions) from replay's, one line per
    difference: an alert id on one side only, or a field of one alert that differs.

    Every field is compared (id, typology, subject, severity, score, summary, the evidence
    with its event ids, times and details, raised_at, updated_at, reference): the worker and
    replay run the same detectors on the same events, and their clocks agree once every
    source is idle (replay's end of input), so nothing may differ."""
    mine, theirs = latest(live), latest(replayed)
    found = [f"{alert_id}: {theirs[alert_id]['typology']} {theirs[alert_id]['subject']['id']} only in replay"
             for alert_id in sorted(theirs.keys() - mine.keys())]
    found += [f"{alert_id}: {mine[alert_id]['typology']} {mine[alert_id]['subject']['id']} only live"
              for alert_id in sorted(mine.keys() - theirs.keys())]
    for alert_id in sorted(mine.keys() & theirs.keys()):
        a, b = mine[alert_id], theirs[alert_id]
        found += [f"{alert_id} ({a['typology']} {a['subject']['id']}) {key}: "
                  f"live {_short(a.get(key))}, replay {_short(b.get(key))}"
                  for key in sorted(a.keys() | b.keys()) if a.get(key) != b.get(key)]
    return found


def _short(value: object, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"
