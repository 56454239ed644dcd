"""The shape every detector has, and the context the monitor hands it per call."""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from agents.config import DetectorConfig
from agents.findings import Finding
from agents.geo import ZoneMap
from agents.names import SanctionsIndex
from agents.state import Store
from schemas.alerts import Typology
from schemas.events import Event, ShipmentDispatched


@dataclass(frozen=True, slots=True)
class Site:
    site_id: str
    name: str
    kind: str
    lat: float
    lon: float
    caseload_households: int | None


TIMER_STEP_S = 60


def timer_due(t: float) -> float:
    """When a timer asked for `t` fires: the next whole minute of event time at or after
    it, so that a busy key is judged at most once a minute."""
    return math.ceil(t / TIMER_STEP_S) * TIMER_STEP_S


@dataclass(slots=True)
class Context:
    """Reference data and time for one call. `watermark` = clock less the allowed lateness."""

    clock: float
    watermark: float
    zones: ZoneMap
    sites: Mapping[str, Site]
    sanctions: SanctionsIndex | None
    config: DetectorConfig
    schedule: Callable[[Typology, str, float], None]
    """Ask for `on_timer(key)` once the watermark reaches the given epoch second."""


class Detector:
    """One typology: thresholds from `__init__`, then pure calls over state and context.

    `tables` names the mappings it keeps; the monitor hands them over as `state`. `parts`
    names those of them that hold parts of its records, written before the records at a
    checkpoint (`agents.monitor.write_rank`).
    """

    typology: ClassVar[Typology]
    consumes: ClassVar[frozenset[str]]
    tables: ClassVar[tuple[str, ...]]
    parts: ClassVar[tuple[str, ...]] = ()

    def on_event(self, event: Event, state: Mapping[str, Store], ctx: Context) -> list[Finding]:
        raise NotImplementedError

    def on_timer(self, key: str, state: Mapping[str, Store], ctx: Context) -> list[Finding]:
        """Called once the watermark passed a time this detector scheduled for `key`."""
        return []

    def on_zones_changed(self, state: Mapping[str, Store], ctx: Context, since: float) -> list[Finding]:
        """Called after a zone declaration that applies from `since` (its `valid_from`: a
        declaration changes no zone before it, `agents.geo.ZoneMap`); findings that depend
        on zones at or after `since` are re-judged."""
        return []

    def on_site_changed(self, site_id: str, state: Mapping[str, Store], ctx: Context) -> list[Finding]:
        """Called after a site registration; findings that depend on the site are re-judged."""
        return []

    def expire(self, state: Mapping[str, Store], horizon: float) -> None:
        """Forget what no event at or after `horizon` can still need (contract 1.1, state
        retention): the monitor rejects older events as expired, and calls this every eighth of
        the retention in event time. What a raised finding rests on is kept, so that findings do not
        change; everything else that grows with history goes."""

    def sweep(self, state: Mapping[str, Store], horizon: float) -> Iterator[None]:
        """`expire` in parts, a part each time it is advanced (`Monitor.sweep_step`), for
        a detector whose records the retention judges one by one: events may be applied
        between two parts, so each part must leave state any event can be applied to
        (records held a little longer change no finding). By default, `expire` whole."""
        self.expire(state, horizon)
        yield from ()


def keep_until(event: Event, ctx: Context) -> float:
    """How long a shipment's state must last for `event` (before the retention): its time,
    or for a dispatch its expected arrival plus the overdue grace if later (a pending deadline)."""
    if isinstance(event, ShipmentDispatched):
        grace = ctx.config.overdue_shipment.grace_hours * 3600
        return max(event.at, epoch(event.data.expected_arrival) + grace)
    return event.at


def drop_before(table: Store, horizon: float) -> None:
    """Delete the records of `table` whose `until` is before `horizon`."""
    for key in [key for key, record in table.items() if record.until < horizon]:
        del table[key]


def insort_once(items: list[Any], item: tuple[Any, ...]) -> bool:
    """Insert `item` into `items`, sorted, unless an item with the same time and event id is
    there; whether it was inserted. Records kept in time order start with those two fields,
    so `item[:2]` is their sort key. Detectors apply an event at most once even when it
    comes again (a worker re-processing after a crash)."""
    stamp = item[:2]
    # after every item, the usual case (an item with the same stamp is longer, so not before it)
    if not items or items[-1] < stamp:
        items.append(item)
        return True
    index = bisect.bisect_left(items, stamp)
    if index < len(items) and items[index][:2] == stamp:
        return False
    items.insert(index, item)
    return True


def first_dispatch(event: Event, current: tuple[float, str] | None) -> bool:
    """Whether `event` is the shipment's dispatch that stands: the earliest (by time, then
    id) of those seen, whatever order they arrived in (a re-issued waybill does not replace
    the original)."""
    return current is None or (event.at, event.id) < current


def epoch(value: Any) -> float:
    """Epoch seconds of an aware datetime."""
    return float(value.timestamp())
