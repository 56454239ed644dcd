"""What `aidmon demo` starts and stops: a local broker, the topics, one worker, in a folder of its own.

    DIR/demo.lock     held while a demo runs from DIR (a second one is refused)
    DIR/aidmon.toml   this run's settings: a new pseudonymisation secret and a monitor token
    DIR/sanctions.xml the generator's fictitious sanctions list
    DIR/broker/       the broker's data (streams.dev.local_broker), emptied at every start
    DIR/worker/       the worker's local files, emptied at every start
    DIR/worker.log    the worker's output;  DIR/worker.pid its process id while it runs

Ports are free ones unless given. `stop()` ends the worker (SIGTERM, then SIGKILL to its
process group) and the broker (SIGTERM, then SIGKILL), within `STOP_SECONDS` together. A
demo killed before it could stop leaves its pid files: the next start stops what they name.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from schemas.exceptions import AidmonError, BrokerError
from streams.cli.tokens import create_token
from streams.dev.local_broker import port_is_free, start_broker, stop_broker
from streams.dev.local_broker.processes import command_line, is_alive

HOST = "127.0.0.1"
APP_ID = "aidmon-demo"
WORKER_STOP_SECONDS = 5.0  # then SIGKILL to its process group
BROKER_STOP_SECONDS = 3.5  # then SIGKILL: together with the worker's, within 10 s
READY_SECONDS = 90.0


@dataclass(frozen=True)
class Addresses:
    broker: str  # kafka://127.0.0.1:PORT
    web: str  # http://127.0.0.1:PORT
    token: str  # the monitor token of this run, shown once


class DemoStack:
    """The broker and worker of one demo run from `folder`."""

    def __init__(self, folder: Path, broker_port: int | None = None, web_port: int | None = None) -> None:
        self.folder = folder.resolve()
        self.broker_port, self.web_port = broker_port, web_port
        self.controller_port: int | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.broker_started = False
        self._lock: IO[str] | None = None

    @property
    def config(self) -> Path:
        return self.folder / "aidmon.toml"

    def prepare(self, sanctions_xml: str) -> Addresses:
        """Lock the folder, stop what a killed demo left, choose ports, write the settings and sanctions."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        self._stop_leftovers()
        for name in ("broker", "worker"):
            shutil.rmtree(self.folder / name, ignore_errors=True)
        broker_port = _chosen_port(self.broker_port, "--broker-port")
        controller_port = _free_port()
        web_port = _chosen_port(self.web_port, "--web-port", preferred=6066)
        self.broker_port, self.web_port, self.controller_port = broker_port, web_port, controller_port
        broker = f"kafka://{HOST}:{broker_port}"
        self.config.write_text(
            "# written by `aidmon demo` for one run: a secret and a token of this run only\n"
            f'broker = "{broker}"\n[pseudonymisation]\nsecret = "{secrets.token_urlsafe(32)}"\n'
            f'[kafka]\napp_id = "{APP_ID}"\npartitions = 4\nidle_seconds = 2.0\n'
            f'[api]\nport = {web_port}\n', encoding="utf-8")
        self.config.chmod(0o600)
        token = create_token(self.config, "monitor", name="demo-monitor").token
        (self.folder / "sanctions.xml").write_text(sanctions_xml, encoding="utf-8")
        return Addresses(broker, f"http://{HOST}:{web_port}", token)

    def start_broker(self) -> None:
        try:
            assert self.broker_port is not None, "prepare() chooses the ports"
            start_broker(self.folder / "broker", self.broker_port, self.controller_port)
        except BrokerError as exc:
            first = str(exc).splitlines()[0].rstrip(":")
            logs = self.folder / "broker"
            raise BrokerError(f"{first} (its logs: {logs / 'broker.out'}, {logs / 'server.log'})") from None
        self.broker_started = True

    def start_worker(self, broker: str) -> None:
        command = [sys.executable, "-m", "streams.cli.main", "--log-level", "WARNING", "worker",
                   "--config", str(self.config), "--broker", broker, "--sanctions", str(self.folder / "sanctions.xml"),
                   "--data-dir", str(self.folder / "worker"), "--web-port", str(self.web_port)]
        with (self.folder / "worker.log").open("wb") as log:
            self.worker = subprocess.Popen(  # noqa: S603 - our own command line, no shell
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        (self.folder / "worker.pid").write_text(f"{self.worker.pid}\n", encoding="utf-8")

    def wait_ready(self, web: str, timeout: float = READY_SECONDS) -> None:
        """Until the worker's /readyz answers 200; AidmonError if it exits or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.worker is not None and self.worker.poll() is not None:
                raise AidmonError(f"the worker exited with status {self.worker.returncode} while starting "
                                f"(its output: {self.folder / 'worker.log'})")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{web}/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.3)
        raise AidmonError(f"the worker was not ready within {timeout:.0f} s (its output: {self.folder / 'worker.log'})")

    def stop(self) -> None:
        """Stop the worker, then the broker; release the folder."""
        if self.worker is not None:
            _stop_group(self.worker.pid, lambda: self.worker is not None and self.worker.poll() is None)
            (self.folder / "worker.pid").unlink(missing_ok=True)
        if self.broker_started:
            stop_broker(self.folder / "broker", timeout=BROKER_STOP_SECONDS)
        if self._lock is not None:
            self._lock.close()

    def _take_lock(self) -> None:
        lock = (self.folder / "demo.lock").open("w", encoding="utf-8")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            raise AidmonError(f"another `aidmon demo` runs from {self.folder}: stop it, or give --dir") from None
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        self._lock = lock

    def _stop_leftovers(self) -> None:
        """Stop the worker and broker a demo killed before it stopped them left running."""
        pid_file = self.folder / "worker.pid"
        with contextlib.suppress(OSError, ValueError):
            pid = int(pid_file.read_text(encoding="utf-8"))
            if is_alive(pid) and str(self.config) in (command_line(pid) or []):
                _stop_group(pid, lambda: is_alive(pid))
        pid_file.unlink(missing_ok=True)
        stop_broker(self.folder / "broker", timeout=BROKER_STOP_SECONDS)


def _stop_group(pid: int, running: Callable[[], bool]) -> None:
    """SIGTERM to `pid`, then SIGKILL to its whole process group (it leads one) after a grace."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + WORKER_STOP_SECONDS
    while running() and time.monotonic() < deadline:
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)  # the worker if it is still there, and any child it left
    while running() and time.monotonic() < deadline + 2:
        time.sleep(0.05)


def _chosen_port(port: int | None, option: str, preferred: int | None = None) -> int:
    """The port given (it must be free), else `preferred` if free, else any free port."""
    if port is not None:
        if not port_is_free(port):
            raise BrokerError(f"port {port} ({option}) on {HOST} is already in use: stop what listens there "
                            f"or choose another {option}")
        return port
    if preferred is not None and port_is_free(preferred):
        return preferred
    return _free_port()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])
