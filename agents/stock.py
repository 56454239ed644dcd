"""A site's stock: per commodity, its receipts and distributions as a ledger in time order.

A ledger is a chunked sequence (`agents.chunks`) of lines, each with the running totals
after it. The site's record keeps the latest chunk of each commodity's ledger, whose last
line holds the cumulative quantities received and distributed so far; earlier chunks are
values of the `ledgers` store. A line in time order is appended to the latest chunk,
however long the ledger is. A late line is put in its place (`place_late`) and makes the
totals after it stale; they are counted again (`recount`) once for any number of late
lines, from the chunk of the earliest of them on. The retention folds the chunks before
its horizon into the totals they left (`fold`): the record names the last chunk folded
(its floor) and keeps those totals as the ledger's base.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import NamedTuple

from agents.chunks import Chunk, Names, rewrite, walk_back
from agents.state import Store
from schemas.types import Item

RECEIPT, DISTRIBUTION = 0, 1
NOTHING = (0.0, 0.0)

LineStamp = tuple[float, int, str]
"""What orders the lines: `time, kind (RECEIPT | DISTRIBUTION), event_id`; receipts come
first at equal times."""

Line = tuple[float, int, str, float, float, float]
"""A ledger line with the running totals after it: `time, kind, event_id, kilograms,
received, distributed`, read by unpacking. A plain tuple: see `agents.state`."""


class Excess(NamedTuple):
    """The first moment a commodity's distributions passed its receipts."""

    time: float
    event_id: str
    distributed: float  # kg distributed so far
    received: float  # kg received so far


def by_commodity(items: Sequence[Item]) -> dict[str, float]:
    """Kilograms per commodity of an event (a commodity listed twice is one ledger line)."""
    if len(items) == 1:
        item = items[0]
        return {item.commodity: item.kilograms}
    kilos: dict[str, float] = {}
    for item in items:
        kilos[item.commodity] = kilos.get(item.commodity, 0.0) + item.kilograms
    return kilos


def place_late(ledgers: Store, latest: Chunk, floor: str | None, line: Line, fresh: Names) -> Chunk | None:
    """Put a line that goes before the ledger's last one in its place, its totals (and those
    after it) left to count; the ledger's latest chunk after it, or None when the line is
    there already."""
    stamp = line[:3]
    walked = walk_back(ledgers, latest, stamp, floor)
    _, (_, lines) = walked[-1]
    index = bisect.bisect_left(lines, stamp)
    if index < len(lines):
        when, how, which, _, _, _ = lines[index]
        if (when, how, which) == stamp:
            return None  # applied already
    lines.insert(index, line)
    return rewrite(ledgers, walked, fresh)


def recount(ledgers: Store, latest: Chunk, floor: str | None, start: LineStamp, base: tuple[float, float],
            ratio: float, look: bool, fresh: Names) -> tuple[Chunk, Line | None]:
    """Count the running totals again from the line stamped `start` on; return the ledger's
    latest chunk after it and, if `look`, the first line counted after which more was
    distributed than `ratio` times what was received."""
    walked = walk_back(ledgers, latest, start, floor)
    _, (before, lines) = walked[-1]
    index = bisect.bisect_left(lines, start)
    if index:
        _, _, _, _, received, distributed = lines[index - 1]
    elif before is not None and before != floor:  # the line before is the last of the chunk before
        _, earlier = ledgers[before]
        _, _, _, _, received, distributed = earlier[-1]
    else:
        received, distributed = base
    found: Line | None = None
    for _, (_, entries) in reversed(walked):
        for i in range(index, len(entries)):
            when, how, which, amount, _, _ = entries[i]
            if how == RECEIPT:
                received += amount
            else:
                distributed += amount
            entries[i] = line = (when, how, which, amount, received, distributed)
            if look and how == DISTRIBUTION and distributed > ratio * received:
                found = line
                look = False
        index = 0
    return rewrite(ledgers, walked, fresh), found


def fold(ledgers: Store, latest: Chunk, floor: str | None, horizon: float, stale: LineStamp | None,
         kept: set[str]) -> tuple[str, tuple[float, float]] | None:
    """The ledger's new floor and base: the latest chunk before the latest one all of whose
    lines are before `horizon` (and before any stale line: lines before one have their
    totals), with the totals after its last line; None when there is none to fold. The names
    of the chunks the ledger keeps in the store (those after its floor, new or old) go into
    `kept`: the walk back to the floor reads them all."""
    before, _ = latest
    while before is not None and before != floor:
        earlier, lines = ledgers[before]
        when, how, which, _, received, distributed = lines[-1]
        if when < horizon and (stale is None or (when, how, which) < stale):
            return before, (received, distributed)
        kept.add(before)
        before = earlier
    return None
