"""`Monitors`: the `agents.monitor.Monitor` of each lanes partition this worker holds, its
state in the table `state` (`streams.worker.table_store`), and the checkpoints that write
that state before the lanes messages that changed it are acknowledged.

A checkpoint runs every `CHECKPOINT_ITEMS` items (events, ticks) or `CHECKPOINT_SECONDS`,
so a worker that dies re-processes what its changelog may lack. Alerts leave as soon as
they are raised: the checkpoints' pace sets how much a restarted worker does again, not
how late an alert is; each writes every changed key once, so fewer of them write less. A partition taken over hands
back the latest version of its alerts, to be sent again: delivery is at least once, alert
ids stable.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from faust.types import EventT

from agents.monitor import Monitor
from agents.names import ListedName
from schemas.alerts import Alert
from schemas.decode import Decoder
from schemas.events import Event
from schemas.exceptions import WorkerError
from streams.settings import Settings
from streams.worker.changelog import Rows
from streams.worker.outbox import LaneItem
from streams.worker.table_store import PartitionStores

CHECKPOINT_ITEMS = 10_000
CHECKPOINT_SECONDS = 1.0


def _no_raw_identifiers(value: str) -> str:
    # called by the event validators, which raise ValueError (pydantic turns it into a rejection)
    raise ValueError("a raw beneficiary identifier on the lanes topic: the router pseudonymises them all")


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

    def apply(self, partition: int, item: LaneItem, event: Event | None = None) -> tuple[list[Alert], list[Alert]]:
        """Alerts to send again (the partition was just taken over), and those that one
        lanes item (an event, a tick or an idle mark) raised or changed. `event` is the
        item's event if this worker decoded it already (see `outbox.Handoff`)."""
        monitor, again = self._monitor(partition)
        if item.kind == "event":
            if event is None:
                event = self._decode(item.body)
            return again, monitor.process(event, source=item.source, only=frozenset(item.only))
        if item.kind == "tick":
            return again, monitor.tick(item.source, float(item.time or 0.0))
        if item.kind == "idle":
            return again, monitor.idle(item.source)
        raise WorkerError(f"unknown lanes item kind {item.kind!r}")

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
