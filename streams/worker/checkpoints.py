"""`Checkpoints`: the checkpoints `detect` has taken, written to the changelog in the background.

A checkpoint is taken in the detection process (the rows changed since the last one, then
the retention's sweep: `Monitors.sweep`); putting it in the `state` table and writing it
to the changelog with acks=all is the worker's own work and a broker round trip.
`detect` used to wait for both before it applied the next lanes message, so that every
alert queued behind a checkpoint waited for the broker too. Now a checkpoint taken is
queued here with the lanes messages whose effects it holds, put in the table and written
while `detect` goes on (both give the event loop back every `ROWS_AT_ONCE` rows, so that
a sweep's thousands of deletions do not hold `route` and `detect` up): one after
another, in the order they were taken, each whole before the next
(`ChangelogWriter.write`), and the messages each holds are acknowledged once it is
written, not before. (The table is read when a partition is handed to the detection
process; one revoked is forgotten there only once what was taken is written, `settle`.)

A write that fails (the broker is away) leaves its checkpoint, and those after it,
waiting: the next checkpoint taken, or `resume` (the checkpoint task calls it), tries them
again, in order, `resume` no sooner than a backoff that doubles from `RETRY_SECONDS` to
`MAX_RETRY_SECONDS` after each failure in a row. The first failure is logged, the rest of
the run of failures is not, and the write that ends it says how many tries it took: an
outage costs two lines, not eight a second. `detect` waits for the writes once `MAX_WAITING` checkpoints are taken and
not written, so that a slow broker slows detection down instead of piling checkpoints up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, MutableMapping
from typing import Any

from streams.worker.changelog import ChangelogWriter, Rows

log = logging.getLogger("aidmon.worker")

MAX_WAITING = 2  # checkpoints taken and not written before `detect` waits for them
ROWS_AT_ONCE = 5000  # rows put in the table before the event loop is given back
RETRY_SECONDS = 0.25  # after a failed write, `resume` waits this long, doubled at each failure in a row
MAX_RETRY_SECONDS = 5.0


class Checkpoints:
    """Checkpoints taken, each with the lanes messages (Faust events) whose effects it holds."""

    def __init__(self, changelog: ChangelogWriter, acknowledge: Callable[[list[Any]], None],
                 table: MutableMapping[bytes, bytes]) -> None:
        self._changelog = changelog
        self._acknowledge = acknowledge
        self._table = table  # the `state` table's data
        self._queue: list[tuple[Rows, list[Any]]] = []  # oldest first; the first may be being written
        self._in_table = 0  # how many of the queue's first checkpoints are in the table already
        self._task: asyncio.Task[None] | None = None
        self._failures = 0  # failed writes in a row
        self._failed_since = 0.0  # monotonic time of the first of them
        self._retry_at = 0.0  # `resume` tries no sooner than this after a failure

    @property
    def waiting(self) -> int:
        """Checkpoints taken and not written yet."""
        return len(self._queue)

    @property
    def full(self) -> bool:
        """Enough checkpoints wait: the next one waits for them first (`settle`)."""
        return len(self._queue) >= MAX_WAITING

    def add(self, rows: Rows, held: list[Any]) -> None:
        """Write `rows` after those taken before, then acknowledge `held`."""
        self._queue.append((rows, held))
        self._start()

    def resume(self) -> None:
        """Write what waits, unless a write is under way or a failed one's backoff is not over."""
        if self._failures and time.monotonic() < self._retry_at:
            return
        self._start()

    def _start(self) -> None:
        if self._queue and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._write_all())

    async def settle(self) -> None:
        """Wait until the checkpoints taken are written, or one more attempt at them failed."""
        if self._task is not None and not self._task.done():
            await asyncio.shield(self._task)
        if self._queue:  # a write failed: once more
            self._start()
            if self._task is not None:
                await asyncio.shield(self._task)

    async def stop(self, timeout: float = 5.0) -> None:
        """The worker stops: the write under way may end (for `timeout` at most); what is
        not written stays unacknowledged, processed again by the next owner."""
        if self._task is not None and not self._task.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except TimeoutError:
                self._task.cancel()

    async def _write_all(self) -> None:
        while self._queue:
            rows, held = self._queue[0]
            if not self._in_table:
                await self._put_in_table(rows)
                self._in_table = 1
            try:
                await self._changelog.write(rows)
            except Exception as exc:  # the writer keeps the rows; tried again before the next ones
                self._failed(exc)
                self._queue[0] = ({}, held)  # its rows wait in the writer, first of those pending
                return
            if self._failures:
                log.warning("checkpoints written to the changelog again, after %d failed tries in %.0f s",
                            self._failures, time.monotonic() - self._failed_since)
                self._failures = 0
            self._queue.pop(0)
            self._in_table = 0
            self._acknowledge(held)

    def _failed(self, exc: Exception) -> None:
        """A write failed: logged if it is the first in a row; the next try backs off."""
        now = time.monotonic()
        if not self._failures:
            self._failed_since = now
            log.error("checkpoint not written to the changelog (%s: %s); tried again with the next one, and "
                      "every few seconds (the messages it holds stay unacknowledged meanwhile)",
                      type(exc).__name__, exc)
        self._failures += 1
        self._retry_at = now + min(RETRY_SECONDS * 2 ** (self._failures - 1), MAX_RETRY_SECONDS)

    async def _put_in_table(self, rows: Rows) -> None:
        table, count = self._table, 0
        for changes in rows.values():
            for key, value in changes.items():
                if value is None:
                    table.pop(key, None)
                else:
                    table[key] = value
                count += 1
                if count % ROWS_AT_ONCE == 0:
                    await asyncio.sleep(0)
