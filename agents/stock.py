"""A site's stock: per commodity, its receipts and distributions as a ledger in time order.

A ledger is a sequence (`agents.chunks`) of lines `time, kind, event_id, milligrams`,
weighed as `(lines, received, distributed)`. Quantities are whole milligrams, so that
totals summed in any grouping (a worker's leaves are not replay's) are the same. The
site's record keeps each commodity's totals so far: a line in time order adds to them, and
is judged at once against the totals after it. A late line goes in its place, adding to
the totals too, but the running totals after it have changed: the first excess after it
is looked for (`first_excess`) once for any number of late lines, from the earliest of
them on. The retention folds the leaves before its horizon away (`chunks.fold`), their
totals kept as the ledger's base.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from agents.chunks import Sequence as Ledger
from agents.chunks import Weight, split_at
from agents.state import Store
from schemas.types import Item

RECEIPT, DISTRIBUTION = 0, 1
NOTHING = (0, 0)
MG_PER_KG = 1_000_000

LineStamp = tuple[float, int, str]
"""What orders the lines: `time, kind (RECEIPT | DISTRIBUTION), event_id`; receipts come
first at equal times."""

Line = tuple[float, int, str, int]
"""A ledger line: `time, kind, event_id, milligrams`, read by unpacking. A plain tuple: see
`agents.state`."""

Totals = tuple[int, int]
"""Milligrams received and distributed."""


class Excess(NamedTuple):
    """The first moment a commodity's distributions passed its receipts."""

    time: float
    event_id: str
    distributed: float  # kg distributed so far
    received: float  # kg received so far


def excess(time: float, event_id: str, totals: Totals) -> Excess:
    """The excess at a line, from the totals after it."""
    received, distributed = totals
    return Excess(time, event_id, distributed / MG_PER_KG, received / MG_PER_KG)


def by_commodity(items: Sequence[Item]) -> dict[str, int]:
    """Milligrams per commodity of an event (a commodity listed twice is one ledger line)."""
    if len(items) == 1:
        item = items[0]
        return {item.commodity: milligrams(item.kilograms)}
    amounts: dict[str, int] = {}
    for item in items:
        amounts[item.commodity] = amounts.get(item.commodity, 0) + milligrams(item.kilograms)
    return amounts


def milligrams(kilograms: float) -> int:
    """A quantity as whole milligrams, as ledgers sum them."""
    return round(kilograms * MG_PER_KG)


def weigh(lines: list[Any]) -> Weight:
    """A ledger's weight: `lines, received, distributed`."""
    received = distributed = 0
    for _, kind, _, amount in lines:
        if kind == RECEIPT:
            received += amount
        else:
            distributed += amount
    return len(lines), received, distributed


def first_excess(ledgers: Store, ledger: Ledger, base: Totals, start: LineStamp, ratio: float) -> Excess | None:
    """The first line from `start` on after which more was distributed than `ratio` times
    what was received (`base`: the totals of the lines folded away), or None. A leaf or
    node that could not hold one (its distributions all put before its receipts would not
    pass) is counted whole, unread."""
    totals = [0, 0]

    def skip(weight: Weight) -> bool:
        _, received, distributed = weight
        if totals[DISTRIBUTION] + distributed > ratio * totals[RECEIPT]:
            return False
        totals[RECEIPT] += received
        totals[DISTRIBUTION] += distributed
        return True

    (_, received, distributed), lines = split_at(ledgers, ledger, start, weigh, skip)
    totals[:] = base[0] + received, base[1] + distributed
    for when, how, which, amount in lines:
        totals[how] += amount
        if how == DISTRIBUTION and totals[DISTRIBUTION] > ratio * totals[RECEIPT]:
            received, distributed = totals
            return excess(when, which, (received, distributed))
    return None
