"""A local single-node Apache Kafka broker (KRaft), started from the broker's own jars.

No Docker and no tarball: Maven resolves the broker's classpath from Maven Central once
(`deploy/kafka/pom.xml`, cached in `~/.cache/aidmon/kafka-3.9.1/` by default), and `java`
runs `kafka.Kafka` in the background on 127.0.0.1, as broker and controller in one
process. Everything a broker needs lives in its data directory:

    DATA_DIR/server.properties   written from deploy/kafka/server.properties.template
    DATA_DIR/logs/               the partitions and the cluster metadata log
    DATA_DIR/server.log          the broker's log (deploy/kafka/log4j.properties)
    DATA_DIR/broker.out          the JVM's own standard output and error
    DATA_DIR/broker.pid          the process id while it runs

`start_broker` returns once the broker answers a real metadata request, and
`stop_broker` stops it. The CLI and the integration tests call these two; for a shell,
`python -m streams.dev.local_broker start DATA_DIR` and `python -m streams.dev.local_broker stop DATA_DIR`.

Paths and ports are arguments: nothing here reads the environment.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import logging
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from schemas.exceptions import BrokerError

log = logging.getLogger(__name__)

KAFKA_VERSION = "3.9.1"
"""The broker release, as pinned in deploy/kafka/pom.xml."""

HOST = "127.0.0.1"
"""Every listener binds here, never on a public interface."""

DEFAULT_PORT = 9092
DEFAULT_START_TIMEOUT = 90.0
DEFAULT_STOP_TIMEOUT = 30.0
MAVEN_TIMEOUT = 900.0
FORMAT_TIMEOUT = 120.0

DEPLOY_DIR = Path(__file__).resolve().parents[2] / "deploy" / "kafka"
"""deploy/kafka of the source checkout: the POM, the properties template, log4j.properties."""

PROPERTIES_FILE = "server.properties"
PID_FILE = "broker.pid"
OUT_FILE = "broker.out"
LOG_FILE = "server.log"
LOG_DIRS = "logs"

MAIN_CLASS = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"

_REQUIRED_JARS = (f"kafka_2.13-{KAFKA_VERSION}.jar", "slf4j-reload4j-1.7.36.jar")
_COMPLETE_MARKER = ".complete"
_TAIL_LINES = 40
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

# Brokers this process started: kept so that they are reaped (no zombie answers as alive)
# and so that Popen objects are not collected while their process runs.
_children: dict[int, subprocess.Popen[bytes]] = {}


# --- classpath ----------------------------------------------------------------------


def default_cache_dir() -> Path:
    """Where the broker's jars are cached: ~/.cache/aidmon/kafka-3.9.1/."""
    return Path.home() / ".cache" / "aidmon" / f"kafka-{KAFKA_VERSION}"


def broker_classpath(cache_dir: Path | None = None, *, deploy_dir: Path = DEPLOY_DIR) -> Path:
    """The directory holding the broker's jars (use it as `-cp 'DIR/*'`), resolving it once.

    The first call runs Maven on `deploy_dir/pom.xml`, which copies the runtime classpath
    of kafka_2.13 and its logging backend from Maven Central (or the local Maven
    repository) into a temporary sibling of `cache_dir`, then renames it into place, so
    that an interrupted or concurrent run never leaves a half-filled cache. Later calls
    find the jars there and return at once.
    """
    cache_dir = (cache_dir if cache_dir is not None else default_cache_dir()).expanduser().resolve()
    if _is_complete(cache_dir):
        return cache_dir
    if cache_dir.exists():
        if not cache_dir.is_dir() or any(p.suffix != ".jar" for p in cache_dir.iterdir()):
            raise BrokerError(
                f"{cache_dir} exists but is not a cache of the Kafka broker's jars: "
                "remove it or choose another cache dir"
            )
        shutil.rmtree(cache_dir)  # an incomplete cache of ours (jars only): resolve again

    pom = deploy_dir / "pom.xml"
    if not pom.is_file():
        raise BrokerError(f"{pom} is missing: the local broker runs from a source checkout of aidmon (deploy/kafka/)")
    _require_java()
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError(
            "Maven (mvn) is not on PATH: install Apache Maven 3.6 or newer (e.g. `apt-get install maven`); "
            "it resolves the Kafka broker's jars from Maven Central once"
        )

    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = cache_dir.parent / f".{cache_dir.name}.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    command = [
        mvn, "-q", "-B", "-Dstyle.color=never", "-f", str(pom), "dependency:copy-dependencies",
        "-DincludeScope=runtime", f"-DoutputDirectory={staging}",
    ]
    log.info("resolving the Kafka %s broker's jars with Maven (once) into %s", KAFKA_VERSION, cache_dir)
    started = time.monotonic()
    try:
        result = subprocess.run(  # noqa: S603 - our own command line, no shell
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            timeout=MAVEN_TIMEOUT, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise BrokerError(
            f"Maven did not finish resolving the Kafka broker's jars within {MAVEN_TIMEOUT:.0f} s:\n"
            + _tail_text(exc.output or b"")
        ) from exc
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise BrokerError(
            f"Maven failed (exit status {result.returncode}) resolving the Kafka broker's jars "
            f"({' '.join(command[1:])}); is Maven Central reachable? Its output ends with:\n"
            + _tail_text(result.stdout)
        )
    missing = [name for name in _REQUIRED_JARS if not (staging / name).is_file()]
    if missing:
        shutil.rmtree(staging, ignore_errors=True)
        raise BrokerError(f"Maven ran but {', '.join(missing)} did not arrive in {staging}")
    (staging / _COMPLETE_MARKER).write_text(f"kafka {KAFKA_VERSION}\n", encoding="utf-8")
    try:
        staging.rename(cache_dir)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)  # another process filled the cache first
        if not _is_complete(cache_dir):
            raise
    log.info("broker jars resolved in %.1f s", time.monotonic() - started)
    return cache_dir


def _is_complete(cache_dir: Path) -> bool:
    return (cache_dir / _COMPLETE_MARKER).is_file() and all((cache_dir / n).is_file() for n in _REQUIRED_JARS)


def _require_java() -> str:
    java = shutil.which("java")
    if java is None:
        raise BrokerError(
            "java is not on PATH: install a Java runtime, 17 recommended (11 or newer), "
            "e.g. `apt-get install openjdk-17-jre-headless`; the local Kafka broker runs on it"
        )
    return java


# --- configuration and storage --------------------------------------------------------


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes in unpadded base64url (22 characters).

    Like Kafka's `Uuid.randomUuid()`, an id starting with '-' is drawn again, since
    command lines would take it for an option.
    """
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")
        if not text.startswith("-"):
            return text


def write_server_properties(
    data_dir: Path, port: int, controller_port: int, *, deploy_dir: Path = DEPLOY_DIR
) -> Path:
    """Write DATA_DIR/server.properties from the template for these ports; return its path."""
    template = deploy_dir / "server.properties.template"
    if not template.is_file():
        raise BrokerError(f"{template} is missing: the local broker runs from a source checkout of aidmon")
    try:
        text = template.read_text(encoding="utf-8").format(
            port=port, controller_port=controller_port, data_dir=data_dir.as_posix()
        )
    except (KeyError, IndexError, ValueError) as exc:
        raise BrokerError(f"{template}: unknown or malformed placeholder {exc}") from exc
    path = data_dir / PROPERTIES_FILE
    path.write_text(text, encoding="utf-8")
    return path


def is_formatted(data_dir: Path) -> bool:
    """True when the storage of DATA_DIR has been formatted (it holds a meta.properties)."""
    return (data_dir / LOG_DIRS / "meta.properties").is_file()


def format_storage(data_dir: Path, classpath: Path, *, deploy_dir: Path = DEPLOY_DIR) -> str:
    """Format the KRaft storage of DATA_DIR with a new cluster id, and return the id.

    The quorum is static (controller.quorum.voters), so the storage tool runs without
    `--standalone`.
    """
    cluster_id = new_cluster_id()
    command = [
        _require_java(), "-Xmx256m", *_log_options(data_dir, deploy_dir), "-cp", f"{classpath}/*",
        STORAGE_TOOL, "format", "-t", cluster_id, "-c", str(data_dir / PROPERTIES_FILE),
    ]
    try:
        result = subprocess.run(  # noqa: S603 - our own command line, no shell
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            timeout=FORMAT_TIMEOUT, check=False, cwd=data_dir,
        )
    except subprocess.TimeoutExpired as exc:
        raise BrokerError(f"formatting the storage of {data_dir} took more than {FORMAT_TIMEOUT:.0f} s") from exc
    if result.returncode != 0 or not is_formatted(data_dir):
        raise BrokerError(
            f"formatting the broker storage in {data_dir} failed (exit status {result.returncode}):\n"
            + _tail_text(result.stdout)
        )
    log.info("formatted %s (cluster id %s)", data_dir / LOG_DIRS, cluster_id)
    return cluster_id


def _log_options(data_dir: Path, deploy_dir: Path) -> list[str]:
    log4j = deploy_dir / "log4j.properties"
    if not log4j.is_file():
        raise BrokerError(f"{log4j} is missing: the local broker runs from a source checkout of aidmon")
    return [f"-Dkafka.logs.dir={data_dir}", f"-Dlog4j.configuration={log4j.resolve().as_uri()}"]


# --- start and stop -------------------------------------------------------------------


def start_broker(
    data_dir: Path,
    port: int = DEFAULT_PORT,
    controller_port: int | None = None,
    *,
    cache_dir: Path | None = None,
    timeout: float = DEFAULT_START_TIMEOUT,
    deploy_dir: Path = DEPLOY_DIR,
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
    for name, value in (("port", port), ("controller port", controller_port)):
        if not 0 < value < 65536:
            raise BrokerError(f"{name} {value} is not a TCP port (1-65535)")
    if port == controller_port:
        raise BrokerError(f"the broker and controller ports must differ (both {port})")

    running = running_broker(data_dir)
    if running is not None:
        raise BrokerError(
            f"a broker from {data_dir} is already running (pid {running}); stop it first "
            f"(python -m streams.dev.local_broker stop {data_dir})"
        )
    _remove_stale_pid_file(data_dir)
    for name, value in (("port", port), ("controller port", controller_port)):
        if not port_is_free(value):
            raise BrokerError(
                f"{name} {value} on {HOST} is already in use: stop what listens there or choose another port"
            )

    java = _require_java()
    classpath = broker_classpath(cache_dir, deploy_dir=deploy_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    properties = write_server_properties(data_dir, port, controller_port, deploy_dir=deploy_dir)
    if not is_formatted(data_dir):
        format_storage(data_dir, classpath, deploy_dir=deploy_dir)

    command = [
        java, "-Xmx1g", "-Xms256m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true",
        *_log_options(data_dir, deploy_dir), "-cp", f"{classpath}/*", MAIN_CLASS, str(properties),
    ]
    bootstrap = f"{HOST}:{port}"
    started = time.monotonic()
    with (data_dir / OUT_FILE).open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - our own command line, no shell
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            cwd=data_dir, start_new_session=True, close_fds=True,
        )
    _children[process.pid] = process
    (data_dir / PID_FILE).write_text(f"{process.pid}\n", encoding="utf-8")
    log.info("started the Kafka broker (pid %d), waiting for it on %s", process.pid, bootstrap)
    try:
        _wait_until_ready(process, port, started + timeout, data_dir)
    except BaseException:
        _kill(process)
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
    _signal(pid, signal.SIGTERM)
    if not _wait_for_exit(pid, timeout):
        log.warning("the broker (pid %d) did not stop within %.0f s; killing it", pid, timeout)
        _signal(pid, signal.SIGKILL)
        if not _wait_for_exit(pid, 10.0):
            raise BrokerError(f"the broker of {data_dir} (pid {pid}) survived SIGKILL")
    _children.pop(pid, None)
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
    if pid <= 0 or not _is_alive(pid):
        return None
    args = _command_line(pid)
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


def broker_log_tail(data_dir: Path, lines: int = _TAIL_LINES) -> str:
    """The last lines of the broker's JVM output and of its log, for error messages."""
    parts = []
    for name in (OUT_FILE, LOG_FILE):
        text = _tail_file(Path(data_dir) / name, lines)
        if text.strip():
            parts.append(f"--- {Path(data_dir) / name} (last lines) ---\n{text}")
    return "\n".join(parts) if parts else f"(no output in {data_dir})"


# --- waiting for the broker -----------------------------------------------------------


def _wait_until_ready(process: subprocess.Popen[bytes], port: int, deadline: float, data_dir: Path) -> None:
    """Return once the broker lists itself in metadata; raise BrokerError if it exits or time runs out.

    Two steps, each retried until the deadline: a bare Metadata request on a socket
    (cheap, and silent while the broker is still starting), then kafka-python's admin
    client `describe_cluster()`, the real client check.
    """
    last_problem = "it did not answer yet"
    while True:
        code = process.poll()
        if code is not None:
            raise BrokerError(
                f"the Kafka broker exited with status {code} while starting:\n{broker_log_tail(data_dir)}"
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BrokerError(
                f"the Kafka broker did not answer on {HOST}:{port} in time ({last_problem}):\n"
                f"{broker_log_tail(data_dir)}"
            )
        try:
            brokers = _metadata_broker_count(port, min(2.0, remaining))
        except OSError as exc:
            last_problem = f"metadata request: {exc or type(exc).__name__}"
        else:
            if brokers == 0:
                last_problem = "its metadata lists no broker yet"
            else:
                try:
                    _describe_cluster(f"{HOST}:{port}", remaining)
                except Exception as exc:  # any client failure is retried until the deadline
                    last_problem = f"describe_cluster: {type(exc).__name__}: {exc}"
                else:
                    return
        time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))


def _metadata_broker_count(port: int, timeout: float) -> int:
    """Send a Metadata v1 request for no topics; return how many brokers the answer lists."""
    client_id = b"aidmon-broker-probe"
    # header: api_key 3 (Metadata), api_version 1, correlation_id 1, client_id; body: topics = []
    request = struct.pack(">hhih", 3, 1, 1, len(client_id)) + client_id + struct.pack(">i", 0)
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(struct.pack(">i", len(request)) + request)
        (size,) = struct.unpack(">i", _receive(sock, 4))
        if not 8 <= size <= 1_000_000:
            raise ConnectionError(f"unexpected metadata response size {size}")
        correlation_id, brokers = struct.unpack_from(">ii", _receive(sock, size))
    if correlation_id != 1:
        raise ConnectionError(f"unexpected correlation id {correlation_id}")
    return int(brokers)


def _receive(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the broker closed the connection")
        data += chunk
    return data


def _describe_cluster(bootstrap: str, remaining: float) -> dict[str, Any]:
    """kafka-python's `KafkaAdminClient.describe_cluster()`; raises unless it lists a broker."""
    timeout_ms = int(max(1.0, min(remaining, 15.0)) * 1000)
    with _kafka_logs_quiet():
        admin = _kafka().KafkaAdminClient(
            bootstrap_servers=bootstrap, client_id="aidmon-broker-probe",
            bootstrap_timeout_ms=timeout_ms, request_timeout_ms=timeout_ms, reconnect_backoff_max_ms=1000,
        )
        try:
            cluster: dict[str, Any] = admin.describe_cluster()
        finally:
            admin.close()
    if not cluster.get("brokers"):
        raise BrokerError("describe_cluster lists no broker")
    return cluster


def _kafka() -> Any:
    """The kafka-python package, imported on first use (stopping a broker does not need it).

    kafka-python 3.0.12 loads its protocol schemas with importlib.resources.read_text,
    deprecated since Python 3.11: that DeprecationWarning is theirs, so it is silenced
    for the import only.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import kafka

    return kafka


@contextlib.contextmanager
def _kafka_logs_quiet() -> Iterator[None]:
    """kafka-python logs every bootstrap step at INFO; a readiness probe keeps only warnings."""
    logger = logging.getLogger("kafka")
    level = logger.level
    if logger.getEffectiveLevel() < logging.WARNING:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


# --- processes ------------------------------------------------------------------------


def _is_alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None  # polling reaps our own exited child
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by another user
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True  # no /proc (macOS): kill(0) is all there is
    state = stat.rsplit(")", 1)[-1].split()[:1]
    return state not in (["Z"], ["X"])  # a zombie has exited


def _command_line(pid: int) -> list[str] | None:
    """The arguments of a process from /proc, or None where /proc cannot tell."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [arg.decode("utf-8", "replace") for arg in raw.split(b"\0") if arg]


def _signal(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _wait_for_exit(pid: int, timeout: float) -> bool:
    """Wait up to `timeout` seconds for `pid` to exit; True if it did."""
    child = _children.get(pid)
    if child is not None:
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    deadline = time.monotonic() + timeout
    while _is_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Stop a broker that failed to start: SIGTERM, a short grace, then SIGKILL; reap it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10.0)
    _children.pop(process.pid, None)


def _remove_stale_pid_file(data_dir: Path) -> None:
    if running_broker(data_dir) is None:
        (data_dir / PID_FILE).unlink(missing_ok=True)


# --- text helpers -----------------------------------------------------------------------


def _tail_text(data: bytes | str, lines: int = _TAIL_LINES) -> str:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    text = _ANSI_ESCAPE.sub("", text)
    return "\n".join(text.rstrip().splitlines()[-lines:]) or "(no output)"


def _tail_file(path: Path, lines: int) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 64 * 1024))
            data = handle.read()
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").rstrip().splitlines()[-lines:])


# --- python -m streams.dev.local_broker ------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m streams.dev.local_broker start|stop DATA_DIR`: the broker without the aidmon CLI."""
    parser = argparse.ArgumentParser(prog="python -m streams.dev.local_broker",
                                     description="A local Kafka broker (KRaft).")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="start a broker in the background; prints its bootstrap address")
    start.add_argument("data_dir", type=Path)
    start.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"client port (default {DEFAULT_PORT})")
    start.add_argument("--controller-port", type=int, help="controller port (default: port + 1)")
    start.add_argument("--cache-dir", type=Path, help=f"where the jars are cached (default {default_cache_dir()})")
    start.add_argument("--timeout", type=float, default=DEFAULT_START_TIMEOUT, help="seconds to wait (default 90)")
    stop = commands.add_parser("stop", help="stop the broker of DATA_DIR")
    stop.add_argument("data_dir", type=Path)
    stop.add_argument("--timeout", type=float, default=DEFAULT_STOP_TIMEOUT, help="seconds before SIGKILL")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="broker: %(message)s", stream=sys.stderr)
    try:
        if args.command == "start":
            print(start_broker(args.data_dir, args.port, args.controller_port, cache_dir=args.cache_dir,
                               timeout=args.timeout))
        elif not stop_broker(args.data_dir, args.timeout):
            print(f"no broker of {args.data_dir} is running", file=sys.stderr)
    except BrokerError as exc:
        print(f"broker: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
