"""The broker's process: the children this process started, pids, signals, waiting for exit,
and the tails of its output for error messages."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from streams.dev.local_broker.layout import LOG_FILE, OUT_FILE

TAIL_LINES = 40
"""How many last lines of a log an error message carries."""

_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

# Brokers this process started: kept so that they are reaped (no zombie answers as alive)
# and so that Popen objects are not collected while their process runs.
_children: dict[int, subprocess.Popen[bytes]] = {}


def register_child(process: subprocess.Popen[bytes]) -> None:
    """Keep a broker this process started, until it is stopped."""
    _children[process.pid] = process


def forget_child(pid: int) -> None:
    """Drop a stopped broker from the children kept (a no-op for another process's broker)."""
    _children.pop(pid, None)


def is_alive(pid: int) -> bool:
    """True while `pid` runs (a zombie has exited; our own exited child is reaped here)."""
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


def command_line(pid: int) -> list[str] | None:
    """The arguments of a process from /proc, or None where /proc cannot tell."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [arg.decode("utf-8", "replace") for arg in raw.split(b"\0") if arg]


def send_signal(pid: int, signum: signal.Signals) -> None:
    """Send `signum` to `pid`; a process that is already gone is not an error."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def wait_for_exit(pid: int, timeout: float) -> bool:
    """Wait up to `timeout` seconds for `pid` to exit; True if it did."""
    child = _children.get(pid)
    if child is not None:
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    deadline = time.monotonic() + timeout
    while is_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def kill_child(process: subprocess.Popen[bytes]) -> None:
    """Stop a broker that failed to start: SIGTERM, a short grace, then SIGKILL; reap it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10.0)
    forget_child(process.pid)


def broker_log_tail(data_dir: Path, lines: int = TAIL_LINES) -> str:
    """The last lines of the broker's JVM output and of its log, for error messages."""
    parts = []
    for name in (OUT_FILE, LOG_FILE):
        text = _tail_file(Path(data_dir) / name, lines)
        if text.strip():
            parts.append(f"--- {Path(data_dir) / name} (last lines) ---\n{text}")
    return "\n".join(parts) if parts else f"(no output in {data_dir})"


def tail_text(data: bytes | str, lines: int = TAIL_LINES) -> str:
    """The last `lines` lines of a tool's output, without colour codes; "(no output)" if empty."""
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
