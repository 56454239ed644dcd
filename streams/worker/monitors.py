"""`Monitors`: the `agents.monitor.Monitor` of each lanes partition the worker holds, with
its state in a mapping of table keys to pickled values (`streams.worker.table_store`), and
the checkpoints that hand over the changed rows. They run in the detection process
(`streams.worker.detection`), which sends the rows back to be written to the `state`
table and its changelog before the lanes messages that changed them are acknowledged. A
partition taken over hands back the latest version of its alerts, to be sent again:
delivery is at least once, alert ids stable.

An event more than `retention_days` behind its monitor's clock is not applied; the copy on
its subject's partition (`lanes.partition_of`, which always gets one) is rejected as
`expired`, once per event. An item whose detection raises is not acknowledged as if
handled: its event is rejected (`internal_error`), and the partition's monitor, which may
be half changed, is thrown away with its changes since the last checkpoint, rebuilt from
the state and given again, in order, what it took since: the items of the lanes messages
read since the last checkpoint, then those of the current message before the failing one.
The failing item is remembered by its position until its message is acknowledged (after
the next checkpoint), so that it is skipped, not rejected twice, when it comes again.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from agents.monitor import Monitor
from agents.names import ListedName
from schemas.alerts import Alert
from schemas.decode import Decoder
from schemas.events import Event
from schemas.exceptions import InvalidEventError, WorkerError
from streams.settings import Settings
from streams.worker.changelog import Rows
from streams.worker.lanes import partition_of
from streams.worker.outbox import LaneItem, decode_batch
from streams.worker.table_store import PartitionStores

log = logging.getLogger("aidmon.worker")

RECENT_EVENTS = 4096
SWEEP_KEYS = 1000  # changed keys after which a sweep within a budget stops until the next checkpoint
RAISED_KEPT = 10_000  # alert ids remembered as raised beyond which those no monitor holds are dropped

Position = tuple[int, int, int]  # an item's lanes partition, its message's offset, its index there


class Read(NamedTuple):
    """A lanes message applied since the last checkpoint: given again to a rebuilt monitor."""

    partition: int
    offset: int
    value: bytes


def _no_raw_identifiers(value: str) -> str:
    # called by the event validators, which raise ValueError (pydantic turns it into a rejection)
    raise ValueError("a raw beneficiary identifier on the lanes topic: the router pseudonymises them all")


@dataclass
class Applied:
    """What the items of one lanes message gave: the alerts to send again (a partition just
    taken over), the last version of each alert they raised or changed with the Kafka
    timestamp of the item that brought it (in the order of their last changes), the events
    to reject, whether a failure had the partition's monitor rebuilt, and the idle sources
    a source's waking made hold the watermark (`agents.clock`)."""

    again: list[Alert] = field(default_factory=list)
    changed: dict[str, tuple[Alert, float | None]] = field(default_factory=dict)
    rejected: list[tuple[LaneItem, InvalidEventError]] = field(default_factory=list)
    rebuilt: bool = False
    held: set[str] = field(default_factory=set)


class Monitors:
    """One monitor per lanes partition, made when the partition's first message arrives."""

    def __init__(
        self, settings: Settings, sanctions: list[ListedName] | None, data: MutableMapping[bytes, bytes]
    ) -> None:
        self._settings = settings
        self._sanctions = sanctions
        self._data = data  # the `state` table's rows of the partitions held here: key -> pickled value
        self._sources: dict[int, int] = {}  # partition -> how many partitions aid.events.v1 had when it came
        self._by_partition: dict[int, tuple[Monitor, PartitionStores]] = {}
        self._raised: set[str] = set()  # ids of alerts raised here or found on taking over
        self._raised_limit = RAISED_KEPT
        self._decode = Decoder(_no_raw_identifiers)
        self._recent: OrderedDict[bytes, Event] = OrderedDict()  # the latest events decoded, by their bytes
        self._read: list[Read] = []  # lanes messages whose effects the next checkpoint writes
        self._failed: set[Position] = set()  # items whose detection raised, until their message is acknowledged
        self._sweep_from = 0  # the partition whose monitor a sweep in steps goes on with
        self._expired = (f"more than {settings.detectors.retention_days:g} days (detectors.retention_days) "
                         "behind the monitor's clock")

    def load(self, partition: int, rows: dict[bytes, bytes], sources: int) -> None:
        """Take over `partition`: its rows of the `state` table, and the number of partitions
        of aid.events.v1 its monitor waits for."""
        self.forget([partition])
        self._data.update(rows)
        self._sources[partition] = sources

    def _monitor(self, partition: int) -> tuple[Monitor, list[Alert]]:
        """The partition's monitor, and the alerts to send again if it was just taken over."""
        known = self._by_partition.get(partition)
        if known is not None:
            monitor, _ = known
            return monitor, []
        stores = PartitionStores(self._data, partition)
        monitor = Monitor(self._settings.detectors, self._sanctions, stores, sweeps_at_checkpoints=True)
        sources = self._sources.get(partition, self._settings.kafka.partitions)
        monitor.expect([f"events-{p}" for p in range(sources)])
        self._by_partition[partition] = (monitor, stores)
        again = monitor.alerts()
        self._raised.update(alert.alert_id for alert in again)
        return monitor, again

    def apply(self, partition: int, offset: int, items: list[LaneItem]) -> Applied:
        """Apply, in order, the items (events, ticks, idle marks) of the lanes message at
        `offset` of `partition`."""
        applied = Applied(again=self._monitor(partition)[1])
        self._apply(partition, offset, items, applied, replay=False)
        applied.held |= self._monitor(partition)[0].take_held()
        return applied

    def _apply(self, partition: int, offset: int, items: list[LaneItem], applied: Applied, replay: bool) -> None:
        """`apply`, into `applied`; `replay` when the items were applied once before the
        monitor was rebuilt (their expired events were rejected then)."""
        monitor = self._monitor(partition)[0]
        failed, changed, lanes = self._failed, applied.changed, self._settings.kafka.partitions
        for index, item in enumerate(items):
            if failed and (partition, offset, index) in failed:
                continue  # rejected when it failed; never applied
            try:
                if item.kind == "event":
                    event = self._event(item.body)
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
                self._rebuild(partition, offset, items[:index], applied)
                monitor = self._monitor(partition)[0]
                continue
            for alert in alerts:
                changed.pop(alert.alert_id, None)  # the latest version goes, in the order of the last changes
                changed[alert.alert_id] = (alert, item.stamp)

    def _event(self, body: bytes) -> Event:
        """The event `body` holds. A distribution or a receipt feeds two partitions, whose
        lanes messages leave together: the second copy is found among the latest decoded
        (events are never changed once decoded, so the monitors can share one)."""
        recent = self._recent
        event = recent.get(body)
        if event is None:
            event = recent[body] = self._decode(body)
            if len(recent) > RECENT_EVENTS:
                recent.popitem(last=False)
        return event

    def _fail(self, position: Position, item: LaneItem, exc: Exception, applied: Applied) -> None:
        """An item whose detection raised: logged, remembered, its event rejected."""
        log.exception("detection failed at lanes partition %d, offset %d, item %d (%s): rejected, and the "
                      "partition's monitor rebuilt from its last checkpoint", *position, item.kind)
        self._failed.add(position)
        if item.kind == "event":
            applied.rejected.append((item, InvalidEventError("internal_error", type(exc).__name__)))

    def _rebuild(self, partition: int, offset: int, done: list[LaneItem], applied: Applied) -> None:
        """Throw `partition`'s monitor away with its changes since the last checkpoint,
        rebuild it from the state, and apply again what it took since: the items of the
        lanes messages read since the last checkpoint before `offset`, then `done`, those of
        the message at `offset` before the failing one."""
        self._by_partition.pop(partition, None)
        applied.rebuilt = True
        for read in self._read:
            if read.partition == partition and read.offset < offset:
                try:
                    items = decode_batch(read.value)
                except WorkerError:  # skipped when it was read (and logged then)
                    continue
                self._apply(partition, read.offset, items, applied, replay=True)
        self._apply(partition, offset, done, applied, replay=True)

    def context(self, kind: str, subject_id: str, at: float) -> dict[str, Any] | None:
        """An alert's map (`agents.context`) from the monitor of its subject's partition; if
        another worker holds that partition, from any monitor here (zones and sites only);
        None when none is here yet."""
        home = self._by_partition.get(partition_of(subject_id, self._settings.kafka.partitions))
        monitor = home or next(iter(self._by_partition.values()), None)
        return monitor[0].context(kind, subject_id, at) if monitor is not None else None

    def first_raised(self, alerts: list[Alert]) -> list[Alert]:
        """Those of `alerts` not raised before (not updates, not re-sends); they count as raised now."""
        new = [alert for alert in alerts if alert.alert_id not in self._raised]
        self._raised.update(alert.alert_id for alert in new)
        if len(self._raised) > self._raised_limit:
            self._forget_raised()
        return new

    def _forget_raised(self) -> None:
        """Keep the ids of the alerts some monitor here still holds, and drop those the
        retention (or a partition's new owner) took: what is remembered follows what is
        held, not the worker's whole history. The next pass comes when it has doubled."""
        held = {alert.alert_id for monitor, _ in self._by_partition.values() for alert in monitor.alerts()}
        self._raised &= held
        self._raised_limit = max(RAISED_KEPT, 2 * len(self._raised))

    def hold(self, read: Read) -> None:
        """`read` was applied: its effects go with the next checkpoint."""
        self._read.append(read)

    def checkpoint(self) -> Rows:
        """The changed state of every partition, as rows for the `state` table and its
        changelog (None: deleted), also put in the state held here. The lanes messages read
        since the last checkpoint are acknowledged once the rows are written."""
        data, rows = self._data, {}
        for partition, (monitor, stores) in list(self._by_partition.items()):
            changes: dict[bytes, bytes | None] = {}

            def write(key: bytes, value: bytes | None, changes: dict[bytes, bytes | None] = changes) -> None:
                if value is None:
                    data.pop(key, None)
                else:
                    data[key] = value
                changes[key] = value

            stores.checkpoint(write)
            monitor.on_checkpoint()
            if changes:
                rows[partition] = changes
        read, self._read = self._read, []
        if self._failed:  # forgotten once acknowledged: kept until the checkpoint after the one that holds them
            positions = {(message.partition, message.offset) for message in read}
            self._failed = {failed for failed in self._failed if failed[:2] in positions}
        return rows

    def sweep(self, budget: float | None = None) -> None:
        """Apply the retention in every monitor (`Monitor.sweep`) right after a checkpoint
        is taken, before any event is applied: its deletions go with the next checkpoint,
        before any event's effects there. A checkpoint then never holds a sweep between two
        of its events. The checkpoints are written one after another, each whole before the
        next, never merged (`ChangelogWriter`; a failed one is written again first): a worker
        that dies while writing one has every checkpoint before it whole, so the events it
        applies again were all applied on the same side of every sweep the first time, and
        it never applies an event to a subject the sweep forgot and a later event started
        anew. With a `budget` (seconds), the sweeps go in steps (`Monitor.sweep_step`) until
        it is spent or a monitor has `SWEEP_KEYS` changed keys for the next checkpoint (each
        costs that checkpoint, and the worker's table and changelog, a few microseconds),
        at least one step, and go on after the next checkpoint, from the monitor where they
        stopped: forgetting much at once stops detection for about the budget each time,
        not for the whole sweep. A monitor whose sweep fell a sweep's step behind the clock
        (`Monitor.sweep_behind`: event time going fast) finishes it whole."""
        monitors = sorted(self._by_partition.items())
        if not monitors:
            return
        deadline = None if budget is None else time.monotonic() + budget
        start = next((i for i, (partition, _) in enumerate(monitors) if partition >= self._sweep_from), 0)
        for partition, (monitor, stores) in monitors[start:] + monitors[:start]:
            while monitor.sweep_step():
                if deadline is not None and not monitor.sweep_behind and (
                        time.monotonic() >= deadline or stores.pending >= SWEEP_KEYS):
                    self._sweep_from = partition
                    return
        self._sweep_from = 0

    def forget(self, partitions: Iterable[int]) -> None:
        """The partitions went to another worker (after a checkpoint): their monitors and state go."""
        for partition in partitions:
            self._by_partition.pop(partition, None)
            self._sources.pop(partition, None)
            prefix = f"{partition}|".encode()
            for key in [key for key in self._data if key.startswith(prefix)]:
                del self._data[key]
