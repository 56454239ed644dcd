"""What `route` has for the lanes, sent in batches.

Each valid event goes to the partition of `<app>-lanes` that keeps the state of each
detector it feeds (`streams.worker.lanes`), and the heartbeat's ticks and idle marks go to
every partition. Sending each as a message of its own cost a producer round and a consumer
round per item, several times the detectors' work; the `Outbox` gathers them per
partition, in order, and sends each partition's items as one message when `route`
flushes it (`Outbox.due`: `FLUSH_SECONDS` after the last flush while a backlog is read,
within `CAUGHT_UP_SECONDS` once nothing more waits to be read, and as soon as a batch is
full). The messages of aid.events.v1 whose items it holds are acknowledged once those
items were handed to the producer, which Faust flushes before it commits offsets.

A lanes message is framed, not JSON, so that an event's bytes travel as they are:

    b"AIDLANES1" | header length (4 bytes, big-endian) | header (JSON) | bodies

The header lists one `[kind, source, only, stamp, time, body length, offset, index]` per
item, and the bodies follow in the same order (an event's JSON; empty for ticks and idle
marks). `offset` and `index` are where an event was in aid.events.v1 (the message's
offset, its index in a batch), for the rejects `detect` writes; a message of a worker
older than them has 6 fields a row, read with both None.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

from schemas.exceptions import WorkerError

MAGIC = b"AIDLANES1"
MAX_BATCH_BYTES = 512 * 1024  # a message stays well under Kafka's 1 MB default
MAX_BATCH_ITEMS = 2000
FLUSH_SECONDS = 0.05  # how long an item may wait for its batch while a backlog is read
CAUGHT_UP_SECONDS = 0.01  # how long it waits once nothing more is left to read (a batch would only add latency)

LaneKind = Literal["event", "tick", "idle"]


class LaneItem(NamedTuple):
    """One thing for a partition's monitor: an event (its JSON in `body`), or a source's tick or idleness."""

    kind: LaneKind
    source: str  # the partition of aid.events.v1 it came from, as "events-P"
    only: tuple[str, ...] = ()  # an event's typologies that apply in the receiving partition
    stamp: float | None = None  # the Kafka timestamp of the message that brought it, or when idleness was seen (s)
    time: float | None = None  # a tick's event time
    body: bytes = b""
    offset: int | None = None  # an event's offset in its partition of aid.events.v1
    batch_index: int | None = None  # an event's index in its batch (None if it came alone)


def encode_batch(items: list[LaneItem]) -> bytes:
    """One lanes message carrying `items` in order."""
    header = json.dumps([[i.kind, i.source, i.only, i.stamp, i.time, len(i.body), i.offset, i.batch_index]
                         for i in items]).encode()
    return b"".join([MAGIC, struct.pack(">I", len(header)), header, *(i.body for i in items)])


def decode_batch(value: bytes) -> list[LaneItem]:
    """The items of one lanes message; a `WorkerError` if it is not one."""
    if not value.startswith(MAGIC) or len(value) < len(MAGIC) + 4:
        raise WorkerError("not a lanes message of this version (a foreign producer on an internal topic?)")
    start = len(MAGIC) + 4
    (length,) = struct.unpack(">I", value[len(MAGIC):start])
    try:
        rows = json.loads(value[start:start + length])
        if rows and len(rows[0]) == 6:  # from a worker that did not carry positions yet
            rows = [[*row, None, None] for row in rows]
        at, items = start + length, []
        for kind, source, only, stamp, time, size, offset, index in rows:
            items.append(LaneItem(kind, source, tuple(only), stamp, time, value[at:at + size], offset, index))
            at += size
    except (ValueError, TypeError, LookupError) as exc:
        raise WorkerError(f"a lanes message with an unreadable header: {exc}") from None
    if at != len(value):
        raise WorkerError(f"a lanes message of {len(value)} bytes whose header accounts for {at}")
    return items


class Outbox:
    """Items waiting for their partition's next lanes message."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._taken_at = clock()
        self._items: dict[int, list[LaneItem]] = {}
        self._bytes: dict[int, int] = {}
        self._ready: list[tuple[int, bytes]] = []  # full batches, encoded, in order
        self._held: list[Any] = []  # Faust events of aid.events.v1 whose items are queued here

    def __len__(self) -> int:
        return len(self._ready) + sum(len(items) for items in self._items.values())

    def add(self, partition: int, item: LaneItem) -> bool:
        """Queue `item` for `partition`; True when a batch is full and waits to be sent."""
        size = len(item.body) + 64
        items = self._items.setdefault(partition, [])
        if items and self._bytes[partition] + size > MAX_BATCH_BYTES:
            self._seal(partition)
            items = self._items[partition] = []
        items.append(item)
        self._bytes[partition] = self._bytes.get(partition, 0) + size
        if len(items) >= MAX_BATCH_ITEMS:
            self._seal(partition)
        return self.full

    @property
    def full(self) -> bool:
        """A batch is full: send it without waiting for the next flush."""
        return bool(self._ready)

    def due(self, caught_up: Callable[[], bool]) -> bool:
        """Time to flush: `FLUSH_SECONDS` have passed since the last one, or items wait and
        nothing more is left to read (`caught_up()`). While a backlog is read, items wait
        for fuller batches (each lanes message costs a producer, a consumer and a detection
        round); once caught up, waiting for a batch only adds latency."""
        return self._clock() - self._taken_at >= FLUSH_SECONDS or (len(self) > 0 and caught_up())

    def hold(self, event: Any) -> None:
        """Acknowledge `event` (a Faust event) once what it queued here has been sent."""
        self._held.append(event)

    def take(self) -> tuple[list[tuple[int, bytes]], list[Any]]:
        """Every lanes message to send now, as (partition, value), oldest first per
        partition, and the events to acknowledge once they are sent."""
        self._taken_at = self._clock()
        for partition in list(self._items):
            self._seal(partition)
        out, self._ready = self._ready, []
        held, self._held = self._held, []
        return out, held

    def _seal(self, partition: int) -> None:
        items = self._items.pop(partition, None)
        self._bytes.pop(partition, None)
        if items:
            self._ready.append((partition, encode_batch(items)))
