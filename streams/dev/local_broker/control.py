"""Starting and stopping the broker of a data directory, and telling whether it runs."""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import time
from importlib.resources.abc import Traversable
from pathlib import Path

from schemas.exceptions import BrokerError
from streams.dev.local_broker.jars import broker_classpath, require_java
from streams.dev.local_broker.layout import BROKER_FILES, HOST, OUT_FILE, PID_FILE, PROPERTIES_FILE
from streams.dev.local_broker.probe import wait_until_ready
from streams.dev.local_broker.processes import (
    command_line,
    forget_child,
    is_alive,
    kill_child,
    register_child,
    send_signal,
    wait_for_exit,
)
from streams.dev.local_broker.storage import format_storage, is_formatted, log_options, write_server_properties

log = logging.getLogger(__name__)

DEFAULT_PORT = 9092
DEFAULT_START_TIMEOUT = 90.0
DEFAULT_STOP_TIMEOUT = 30.0

MAIN_CLASS = "kafka.Kafka"


def start_broker(
    data_dir: Path,
    port: int = DEFAULT_PORT,
    controller_port: int | None = None,
    *,
    cache_dir: Path | None = None,
    timeout: float = DEFAULT_START_TIMEOUT,
    broker_files: Traversable = BROKER_FILES,
) -> str:
    """Start a broker in the background on 127.0.0.1 and return its bootstrap "127.0.0.1:PORT".

    Writes DATA_DIR/server.properties (listeners on `port` and `controller_port`,
    `port` + 1 by default), formats the storage on first use, starts java detached from
    this process (its own session; output in DATA_DIR/broker.out, log in
    DATA_DIR/server.log, pid in DATA_DIR/broker.pid), then waits up to `timeout` seconds
    for the broker to list itself in a metadata response. If it exits or does not answer
    in time, it is stopped and BrokerError carries the end of its logs. Refuses if a
    broker from DATA_DIR is already running or if a port is taken.
    """
    data_dir = Path(data_dir).expanduser().resolve()
    controller_port = port + 1 if controller_port is None else controller_port
    _check_ports(port, controller_port)
    _refuse_if_running(data_dir)
    _refuse_taken_ports(port, controller_port)
    command = _broker_command(data_dir, port, controller_port, cache_dir, broker_files)
    bootstrap = f"{HOST}:{port}"
    started = time.monotonic()
    process = _launch(command, data_dir)
    log.info("started the Kafka broker (pid %d), waiting for it on %s", process.pid, bootstrap)
    try:
        wait_until_ready(process, port, started + timeout, data_dir)
    except BaseException:
        kill_child(process)
        (data_dir / PID_FILE).unlink(missing_ok=True)
        raise
    log.info("the Kafka broker answers on %s (%.1f s)", bootstrap, time.monotonic() - started)
    return bootstrap


def stop_broker(data_dir: Path, timeout: float = DEFAULT_STOP_TIMEOUT) -> bool:
    """Stop the broker of DATA_DIR: SIGTERM, then SIGKILL after `timeout` seconds.

    Returns True if a broker was running and has stopped, False if none was running.
    The pid file is removed either way.
    """
    data_dir = Path(data_dir).expanduser().resolve()
    pid = running_broker(data_dir)
    if pid is None:
        _remove_stale_pid_file(data_dir)
        return False
    log.info("stopping the Kafka broker of %s (pid %d)", data_dir, pid)
    send_signal(pid, signal.SIGTERM)
    if not wait_for_exit(pid, timeout):
        log.warning("the broker (pid %d) did not stop within %.0f s; killing it", pid, timeout)
        send_signal(pid, signal.SIGKILL)
        if not wait_for_exit(pid, 10.0):
            raise BrokerError(f"the broker of {data_dir} (pid {pid}) survived SIGKILL")
    forget_child(pid)
    (data_dir / PID_FILE).unlink(missing_ok=True)
    return True


def running_broker(data_dir: Path) -> int | None:
    """The pid of the broker started from DATA_DIR if it is running, else None.

    The pid file alone is not trusted: the process must be alive and, where /proc tells,
    be `kafka.Kafka` with this directory's server.properties (pids get reused).
    """
    data_dir = Path(data_dir).expanduser().resolve()
    try:
        pid = int((data_dir / PID_FILE).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None
    if pid <= 0 or not is_alive(pid):
        return None
    args = command_line(pid)
    if args is not None and (MAIN_CLASS not in args or str(data_dir / PROPERTIES_FILE) not in args):
        return None
    return pid


def port_is_free(port: int, host: str = HOST) -> bool:
    """True when nothing listens on host:port (bound as the JVM binds, with SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _check_ports(port: int, controller_port: int) -> None:
    for name, value in (("port", port), ("controller port", controller_port)):
        if not 0 < value < 65536:
            raise BrokerError(f"{name} {value} is not a TCP port (1-65535)")
    if port == controller_port:
        raise BrokerError(f"the broker and controller ports must differ (both {port})")


def _refuse_if_running(data_dir: Path) -> None:
    """Raise if a broker from DATA_DIR runs; otherwise clear a pid file it left behind."""
    running = running_broker(data_dir)
    if running is not None:
        raise BrokerError(
            f"a broker from {data_dir} is already running (pid {running}); stop it first "
            f"(python -m streams.dev.local_broker stop {data_dir})"
        )
    _remove_stale_pid_file(data_dir)


def _refuse_taken_ports(port: int, controller_port: int) -> None:
    for name, value in (("port", port), ("controller port", controller_port)):
        if not port_is_free(value):
            raise BrokerError(
                f"{name} {value} on {HOST} is already in use: stop what listens there or choose another port"
            )


def _broker_command(
    data_dir: Path, port: int, controller_port: int, cache_dir: Path | None, broker_files: Traversable
) -> list[str]:
    """Get everything the broker needs in place (jars, server.properties, formatted storage);
    return the java command line that runs it."""
    java = require_java()
    classpath = broker_classpath(cache_dir, broker_files=broker_files)
    data_dir.mkdir(parents=True, exist_ok=True)
    properties = write_server_properties(data_dir, port, controller_port, broker_files=broker_files)
    if not is_formatted(data_dir):
        format_storage(data_dir, classpath)
    return [
        java, "-Xmx1g", "-Xms256m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true",
        # the quick compiler only (C1): a broker for tests, benchmarks and demos runs minutes, and
        # the optimising one (C2) took a third of a core for the first seconds of each new load
        # (paced events after a backlog), beside the worker on a machine of two cores
        "-XX:TieredStopAtLevel=1",
        *log_options(data_dir), "-cp", f"{classpath}/*", MAIN_CLASS, str(properties),
    ]


def _launch(command: list[str], data_dir: Path) -> subprocess.Popen[bytes]:
    """Run `command` in its own session, output appended to DATA_DIR/broker.out; write its pid file."""
    with (data_dir / OUT_FILE).open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - our own command line, no shell
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            cwd=data_dir, start_new_session=True, close_fds=True,
        )
    register_child(process)
    (data_dir / PID_FILE).write_text(f"{process.pid}\n", encoding="utf-8")
    return process


def _remove_stale_pid_file(data_dir: Path) -> None:
    if running_broker(data_dir) is None:
        (data_dir / PID_FILE).unlink(missing_ok=True)
