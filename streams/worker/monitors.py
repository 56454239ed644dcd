"""`Monitors`: the `agents.monitor.Monitor` of each lanes partition this worker holds, its
state in the table `state` (`streams.worker.table_store`), and the checkpoints that write
that state before the lanes messages that changed it are acknowledged.

A checkpoint runs every `CHECKPOINT_MESSAGES` messages or `CHECKPOINT_SECONDS`, so a
worker that dies re-processes what its changelog may lack. A partition taken over hands
back the latest version of its alerts, to be sent again: delivery is at least once, alert
ids stable.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from faust.types import EventT

from agents.monitor import Monitor
from agents.names import ListedName
from schemas.alerts import Alert
from schemas.decode import Decoder
from schemas.exceptions import WorkerError
from streams.settings import Settings
from streams.worker.table_store import PartitionStores

CHECKPOINT_MESSAGES = 500
CHECKPOINT_SECONDS = 0.5


def _no_raw_identifiers(value: str) -> str:
    # called by the event validators, which raise ValueError (pydantic turns it into a rejection)
    raise ValueError("a raw beneficiary identifier on the lanes topic: the router pseudonymises them all")


class Monitors:
    """One monitor per lanes partition, made when the partition's first message arrives."""

    def __init__(self, settings: Settings, sanctions: list[ListedName] | None, table: Any) -> None:
        self._settings = settings
        self._sanctions = sanctions
        self._table = table
        self._by_partition: dict[int, tuple[Monitor, PartitionStores]] = {}
        self._raised: set[str] = set()  # ids of alerts raised here or found on taking over
        self._decode = Decoder(_no_raw_identifiers)
        self._unacked: list[EventT[bytes]] = []  # events whose effects the next checkpoint writes
        self._checkpointed_at = time.monotonic()

    def _monitor(self, partition: int) -> tuple[Monitor, list[Alert]]:
        """The partition's monitor, and the alerts to send again if it was just taken over."""
        known = self._by_partition.get(partition)
        if known is not None:
            monitor, _ = known
            return monitor, []
        stores = PartitionStores(self._table, partition)
        monitor = Monitor(self._settings.detectors, self._sanctions, stores)
        self._by_partition[partition] = (monitor, stores)
        again = monitor.alerts()
        self._raised.update(alert.alert_id for alert in again)
        return monitor, again

    def handle(self, partition: int, value: bytes) -> tuple[list[Alert], list[Alert], float | None]:
        """Alerts to send again (a partition taken over), alerts raised or changed, and the
        Kafka timestamp of the event that triggered them."""
        monitor, again = self._monitor(partition)
        message = json.loads(value)
        kind, source, stamp = message["kind"], message["source"], message.get("stamp")
        if kind == "event":
            only = frozenset(message["only"]) if message["only"] else frozenset()
            event = self._decode(json.dumps(message["event"]))
            return again, monitor.process(event, source=source, only=only), stamp
        if kind == "tick":
            return again, monitor.tick(source, float(message["time"])), stamp
        if kind == "idle":
            return again, monitor.idle(source), stamp
        raise WorkerError(f"unknown lanes message kind {kind!r}")

    def first_raised(self, alerts: list[Alert]) -> list[Alert]:
        """Those of `alerts` not raised before (not updates, not re-sends); they count as raised now."""
        new = [alert for alert in alerts if alert.alert_id not in self._raised]
        self._raised.update(alert.alert_id for alert in new)
        return new

    def hold(self, event: EventT[bytes]) -> None:
        """Acknowledge `event` at the next checkpoint, once the state it changed is written."""
        self._unacked.append(event)

    def due(self) -> bool:
        """Whether enough messages, or enough time, wait for a checkpoint."""
        return len(self._unacked) >= CHECKPOINT_MESSAGES or (
            bool(self._unacked) and time.monotonic() - self._checkpointed_at >= CHECKPOINT_SECONDS
        )

    def checkpoint(self) -> None:
        """Write the changed state of every partition, then acknowledge the events whose
        effects it holds."""
        table = self._table
        for partition, (_, stores) in list(self._by_partition.items()):

            def write(key: bytes, data: bytes | None, partition: int = partition) -> None:
                if data is None:
                    table.data.pop(key, None)
                    table.send_changelog(partition, key, None, value_serializer="raw")
                else:
                    table.data[key] = data
                    table.send_changelog(partition, key, data)

            stores.checkpoint(write)
        for event in self._unacked:
            event.ack()
        self._unacked.clear()
        self._checkpointed_at = time.monotonic()

    def forget(self, partitions: Iterable[int]) -> None:
        """The partitions went to another worker (after a checkpoint): their monitors go."""
        for partition in partitions:
            self._by_partition.pop(partition, None)
