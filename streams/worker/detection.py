"""The detectors in a process of their own, and the lanes messages waiting for a checkpoint.

`route` (reading aid.events.v1 through Faust, decoding, validating) and the detectors
each take about half of a worker's time; in one process they share one core. `Detection`
forks, when the app is built (before Faust starts a thread), a process that runs the
`Monitors` of the lanes partitions (`streams.worker.detection_process`): `detect` hands
it each lanes message as read and gets back the alerts and rejects to send, while this
process goes on routing. Checkpoints come back as rows, written here to the `state` table
and its changelog, so Faust recovers them as before; a partition taken over is handed to
the detection process with its rows of the table.

The detection process ignores SIGINT and SIGTERM (a Ctrl-C reaches the whole process
group: the worker's shutdown still needs it) and ends when the worker closes the pipe or
dies. If it ends first, the next request raises `DetectionGoneError`, and the worker stops:
what was not acknowledged is processed again after a restart.

`Unacknowledged` keeps the lanes messages `detect` has read, to acknowledge once a
checkpoint has written their effects. One is due every `CHECKPOINT_ITEMS` items or
`CHECKPOINT_SECONDS` while a backlog is read (each pickles every record changed since the
last: a busy site's once per checkpoint, not once per event), every `PROMPT_SECONDS` while
messages come no faster than they are read (smaller checkpoints: each pauses detection
for less time), and `QUIET_SECONDS` after the last one when they stop, so that a quiet
topic is acknowledged at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from agents.names import ListedName
from schemas.exceptions import DetectionGoneError, DetectionProcessError
from streams.settings import Settings
from streams.worker.changelog import Rows
from streams.worker.detection_process import FRAME, Failed, Outcome, serve
from streams.worker.monitors import Monitors

log = logging.getLogger("aidmon.worker")

CHECKPOINT_ITEMS = 10_000
CHECKPOINT_SECONDS = 3.0
PROMPT_SECONDS = 0.5
QUIET_SECONDS = 0.25
SWEEP_SECONDS = 0.025  # how long a sweep may stop detection at a checkpoint while no backlog is read


class Detection:
    """The worker's handle on its detection process. Requests go one at a time."""

    def __init__(self, settings: Settings, sanctions: list[ListedName] | None) -> None:
        if threading.active_count() > 1:
            log.warning("the detection process is forked while %d threads run", threading.active_count())
        requests_in, self._requests_fd = os.pipe()
        self._replies_fd, replies_out = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover - the child's own lines run in the forked process
            os.close(self._requests_fd)
            os.close(self._replies_fd)
            os._exit(_run_child(settings, sanctions, requests_in, replies_out))
        os.close(requests_in)
        os.close(replies_out)
        self._lock = asyncio.Lock()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._loaded: set[int] = set()
        self._exit_code: int | None = None

    async def apply(self, partition: int, offset: int, value: bytes, rows: Callable[[int], dict[bytes, bytes]],
                    sources: int) -> Outcome:
        """Apply a lanes message; a partition new here is first handed over with `rows(partition)`
        and the number of partitions of aid.events.v1."""
        if partition not in self._loaded:
            await self._ask(("load", partition, rows(partition), sources))
            self._loaded.add(partition)
        outcome: Outcome = await self._ask(("apply", partition, offset, value))
        return outcome

    async def checkpoint(self, budget: float | None = None) -> Rows:
        """The rows changed since the last checkpoint (after which the retention is applied:
        `Monitors.sweep`, for at most about `budget` seconds if not None)."""
        rows: Rows = await self._ask(("checkpoint", budget))
        return rows

    async def forget(self, partitions: set[int]) -> None:
        """The partitions went to another worker."""
        if partitions & self._loaded:
            await self._ask(("forget", sorted(partitions & self._loaded)))
            self._loaded -= partitions

    async def context(self, kind: str, subject_id: str, at: float) -> dict[str, Any] | None:
        """An alert's map, as GeoJSON (`Monitors.context`); None before any partition is here."""
        found: dict[str, Any] | None = await self._ask(("context", kind, subject_id, at))
        return found

    async def stop(self, timeout: float = 5.0) -> None:
        """Close the pipe, so that the detection process ends; wait for it."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        elif self._requests_fd >= 0:
            os.close(self._requests_fd)
        self._requests_fd = -1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.exit_code() is None:
            await asyncio.sleep(0.05)
        if self.exit_code() is None:
            os.kill(self.pid, signal.SIGKILL)
            _, status = await asyncio.to_thread(os.waitpid, self.pid, 0)
            self._exit_code = os.waitstatus_to_exitcode(status)

    def exit_code(self) -> int | None:
        """The detection process's exit status once it has ended (reaped then), else None;
        a negative status is the signal that ended it."""
        if self._exit_code is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return None
            if pid:
                self._exit_code = os.waitstatus_to_exitcode(status)
        return self._exit_code

    async def _ask(self, request: tuple[Any, ...]) -> Any:
        async with self._lock:
            reader, writer = await self._connected()
            data = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
            try:
                writer.write(FRAME.pack(len(data)))
                writer.write(data)
                await writer.drain()
                (size,) = FRAME.unpack(await reader.readexactly(FRAME.size))
                reply = pickle.loads(await reader.readexactly(size))  # noqa: S301 - from our own child
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                raise DetectionGoneError(f"the detection process has ended (exit status {self.exit_code()})") from exc
        if isinstance(reply, Failed):
            raise DetectionProcessError(f"the detection process failed: {reply.error}")
        return reply

    async def _connected(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            if self._requests_fd < 0:
                raise DetectionGoneError("the detection process was stopped")
            loop = asyncio.get_running_loop()
            reader = asyncio.StreamReader()
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                         os.fdopen(self._replies_fd, "rb", buffering=0))
            transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin,
                                                                os.fdopen(self._requests_fd, "wb", buffering=0))
            self._reader, self._writer = reader, asyncio.StreamWriter(transport, protocol, reader, loop)
        return self._reader, self._writer


def _run_child(settings: Settings, sanctions: list[ListedName] | None, requests: int, replies: int) -> int:
    """The detection process, until the worker closes the pipe; its exit status."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        from streams.bootstrap import tune_garbage_collector

        tune_garbage_collector()
        with os.fdopen(requests, "rb") as inbound, os.fdopen(replies, "wb") as outbound:
            serve(inbound, outbound, Monitors(settings, sanctions, {}))
        return 0
    except BrokenPipeError:
        return 0  # the worker went first
    except BaseException:
        log.exception("the detection process failed")
        return 1


class Unacknowledged:
    """Lanes messages `detect` has read (Faust events), acknowledged after the checkpoint
    that writes their effects."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._events: list[Any] = []
        self._items = 0
        self._checkpointed_at = self._held_at = clock()

    def hold(self, event: Any, items: int) -> None:
        self._events.append(event)
        self._items += items
        self._held_at = self._clock()

    def due(self, backlogged: bool = True) -> bool:
        """Whether enough items wait for a checkpoint, or enough time has passed since the
        last one (less when no backlog is `backlogged`), or since the last message when
        messages have stopped coming."""
        if self._items >= CHECKPOINT_ITEMS:
            return True
        if not self._events:
            return False
        now = self._clock()
        since = now - self._checkpointed_at
        return (since >= CHECKPOINT_SECONDS or now - self._held_at >= QUIET_SECONDS
                or (not backlogged and since >= PROMPT_SECONDS))

    def take(self) -> list[Any]:
        """The events a checkpoint starting now covers."""
        events, self._events = self._events, []
        self._items = 0
        self._checkpointed_at = self._clock()
        return events

    def give_back(self, events: list[Any]) -> None:
        """Events of a checkpoint that could not be written: acknowledged with the next one."""
        self._events[:0] = events
