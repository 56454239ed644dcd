"""`Monitors`: the `agents.monitor.Monitor` of each lanes partition this worker holds, its
state in the table `state` (`streams.worker.table_store`), and the checkpoints that write
that state before the lanes messages that changed it are acknowledged.

A checkpoint runs every `CHECKPOINT_ITEMS` items (events, ticks) or `CHECKPOINT_SECONDS`,
so a worker that dies re-processes what its changelog may lack. Alerts leave as soon as
they are raised: the checkpoints' pace sets how much a restarted worker does again, not
how late an alert is; each writes every changed key once, so fewer of them write less. A partition taken over hands
back the latest version of its alerts, to be sent again: delivery is at least once, alert
ids stable.

An event more than `retention_days` behind its monitor's clock is not applied; the copy on
its subject's partition (`lanes.partition_of`, which always gets one) is rejected as
`expired`, once per event. An item whose detection raises is not acknowledged as if
handled: its event is rejected (`internal_error`), and the partition's monitor, which may
be half changed, is thrown away with its changes since the last checkpoint, rebuilt from
the table and given again, in order, what it took since: the items of its lanes messages
held for the next checkpoint, then those of the current message before the failing one.
The failing item is remembered by its position until its message is acknowledged, so that
it is skipped, not rejected twice, when it comes again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from faust.types import EventT

from agents.monitor import Monitor
from agents.names import ListedName
from schemas.alerts import Alert
from schemas.decode import Decoder
from schemas.exceptions import InvalidEventError, WorkerError
from streams.settings import Settings
from streams.worker.changelog import Rows
from streams.worker.lanes import partition_of
from streams.worker.outbox import LaneItem, decode_batch
from streams.worker.table_store import PartitionStores

CHECKPOINT_ITEMS = 10_000
CHECKPOINT_SECONDS = 1.0

log = logging.getLogger("aidmon.worker")

Position = tuple[int, int, int]  # an item's lanes partition, its message's offset, its index there


def _no_raw_identifiers(value: str) -> str:
    # called by the event validators, which raise ValueError (pydantic turns it into a rejection)
    raise ValueError("a raw beneficiary identifier on the lanes topic: the router pseudonymises them all")


@dataclass
class Applied:
    """What the items of one lanes message gave: the alerts to send again (a partition just
    taken over), the last version of each alert they raised or changed with the Kafka
    timestamp of the item that brought it (in the order of their last changes), the events
    to reject, and whether a failure had the partition's monitor rebuilt."""

    again: list[Alert] = field(default_factory=list)
    changed: dict[str, tuple[Alert, float | None]] = field(default_factory=dict)
    rejected: list[tuple[LaneItem, InvalidEventError]] = field(default_factory=list)
    rebuilt: bool = False


class Monitors:
    """One monitor per lanes partition, made when the partition's first message arrives."""

    def __init__(
        self,
        settings: Settings,
        sanctions: list[ListedName] | None,
        table: Any,
        sources: Callable[[], int] | None = None,
    ) -> None:
        self._settings = settings
        self._sources = sources or (lambda: settings.kafka.partitions)  # partitions of aid.events.v1
        self._sanctions = sanctions
        self._table = table
        self._by_partition: dict[int, tuple[Monitor, PartitionStores]] = {}
        self._raised: set[str] = set()  # ids of alerts raised here or found on taking over
        self._decode = Decoder(_no_raw_identifiers)
        self._unacked: list[EventT[bytes]] = []  # lanes messages whose effects the next checkpoint writes
        self._items = 0  # the items of those messages
        self._checkpointed_at = time.monotonic()
        self._failed: set[Position] = set()  # items whose detection raised, until their message is acknowledged
        self._expired = (f"more than {settings.detectors.retention_days:g} days (detectors.retention_days) "
                         "behind the monitor's clock")

    def _monitor(self, partition: int) -> tuple[Monitor, list[Alert]]:
        """The partition's monitor, and the alerts to send again if it was just taken over."""
        known = self._by_partition.get(partition)
        if known is not None:
            monitor, _ = known
            return monitor, []
        stores = PartitionStores(self._table, partition)
        monitor = Monitor(self._settings.detectors, self._sanctions, stores)
        monitor.expect([f"events-{p}" for p in range(self._sources())])
        self._by_partition[partition] = (monitor, stores)
        again = monitor.alerts()
        self._raised.update(alert.alert_id for alert in again)
        return monitor, again

    def apply(
        self, partition: int, offset: int, items: list[LaneItem], decoded: list[Any] | None = None
    ) -> Applied:
        """Apply, in order, the items (events, ticks, idle marks) of the lanes message at
        `offset` of `partition`. `decoded` holds their events if this worker decoded them
        already (see `outbox.Handoff`)."""
        applied = Applied(again=self._monitor(partition)[1])
        self._apply(partition, offset, items, decoded, applied, replay=False)
        return applied

    def _apply(
        self, partition: int, offset: int, items: list[LaneItem], decoded: list[Any] | None, applied: Applied,
        replay: bool,
    ) -> None:
        """`apply`, into `applied`; `replay` when the items were applied once before the
        monitor was rebuilt (their expired events were rejected then)."""
        monitor = self._monitor(partition)[0]
        failed, changed, lanes = self._failed, applied.changed, self._settings.kafka.partitions
        for index, item in enumerate(items):
            if failed and (partition, offset, index) in failed:
                continue  # rejected when it failed; never applied
            try:
                if item.kind == "event":
                    event = decoded[index] if decoded else None
                    if event is None:
                        event = self._decode(item.body)
                    if monitor.is_expired(event):
                        if not replay and partition_of(event.subject, lanes) == partition:  # one copy speaks
                            applied.rejected.append((item, InvalidEventError("expired", self._expired)))
                        continue
                    alerts = monitor.process(event, source=item.source, only=frozenset(item.only))
                elif item.kind == "tick":
                    alerts = monitor.tick(item.source, float(item.time or 0.0))
                elif item.kind == "idle":
                    alerts = monitor.idle(item.source)
                else:
                    raise WorkerError(f"unknown lanes item kind {item.kind!r}")
            except Exception as exc:  # the monitor may be half changed: rebuilt without this item
                self._fail((partition, offset, index), item, exc, applied)
                self._rebuild(partition, offset, items[:index], decoded[:index] if decoded else None, applied)
                monitor = self._monitor(partition)[0]
                continue
            for alert in alerts:
                changed.pop(alert.alert_id, None)  # the latest version goes, in the order of the last changes
                changed[alert.alert_id] = (alert, item.stamp)

    def _fail(self, position: Position, item: LaneItem, exc: Exception, applied: Applied) -> None:
        """An item whose detection raised: logged, remembered, its event rejected."""
        log.exception("detection failed at lanes partition %d, offset %d, item %d (%s): rejected, and the "
                      "partition's monitor rebuilt from its last checkpoint", *position, item.kind)
        self._failed.add(position)
        if item.kind == "event":
            applied.rejected.append((item, InvalidEventError("internal_error", type(exc).__name__)))

    def _rebuild(
        self, partition: int, offset: int, done: list[LaneItem], decoded: list[Any] | None, applied: Applied
    ) -> None:
        """Throw `partition`'s monitor away with its changes since the last checkpoint,
        rebuild it from the table, and apply again what it took since: the items of its
        held lanes messages before `offset`, then `done`, those of the message at `offset`
        before the failing one."""
        self._by_partition.pop(partition, None)
        applied.rebuilt = True
        for held in self._unacked:
            message = held.message
            if message.partition == partition and message.offset < offset:
                try:
                    items = decode_batch(message.value or b"")
                except WorkerError:  # skipped when it was read (and logged then)
                    continue
                self._apply(partition, message.offset, items, None, applied, replay=True)
        self._apply(partition, offset, done, decoded, applied, replay=True)

    def first_raised(self, alerts: list[Alert]) -> list[Alert]:
        """Those of `alerts` not raised before (not updates, not re-sends); they count as raised now."""
        new = [alert for alert in alerts if alert.alert_id not in self._raised]
        self._raised.update(alert.alert_id for alert in new)
        return new

    def hold(self, event: EventT[bytes], items: int) -> None:
        """Acknowledge `event`, a lanes message of `items` items, at the next checkpoint,
        once the state it changed is written."""
        self._unacked.append(event)
        self._items += items

    def due(self) -> bool:
        """Whether enough items, or enough time, wait for a checkpoint."""
        return self._items >= CHECKPOINT_ITEMS or (
            bool(self._unacked) and time.monotonic() - self._checkpointed_at >= CHECKPOINT_SECONDS
        )

    def checkpoint(self) -> tuple[Rows, list[EventT[bytes]]]:
        """Put the changed state of every partition in the table; return the rows for its
        changelog and the events to acknowledge once they are written there."""
        table, rows = self._table, {}
        for partition, (_, stores) in list(self._by_partition.items()):
            changes: dict[bytes, bytes | None] = {}

            def write(key: bytes, data: bytes | None, changes: dict[bytes, bytes | None] = changes) -> None:
                if data is None:
                    table.data.pop(key, None)
                else:
                    table.data[key] = data
                changes[key] = data

            stores.checkpoint(write)
            if changes:
                rows[partition] = changes
        held, self._unacked = self._unacked, []
        if self._failed:  # forgotten once acknowledged: kept for `held`, which `hold_back` may give back
            positions = {(event.message.partition, event.message.offset) for event in held}
            self._failed = {failed for failed in self._failed if failed[:2] in positions}
        self._items = 0
        self._checkpointed_at = time.monotonic()
        return rows, held

    def hold_back(self, events: list[EventT[bytes]]) -> None:
        """Events of a checkpoint that could not be written: acknowledged with the next one."""
        self._unacked[:0] = events

    def forget(self, partitions: Iterable[int]) -> None:
        """The partitions went to another worker (after a checkpoint): their monitors go."""
        for partition in partitions:
            self._by_partition.pop(partition, None)
