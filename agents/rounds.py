"""The households a distribution round served at a site, and the first one beyond its caseload.

A round's head, kept in its site's record, holds how many tokens it served and the first
services of those tokens (time, event id) in time order: a sequence (`agents.chunks`)
whose closed parts are values of the `services` store. The `served` store, keyed by site,
round and token, holds the services that were ever the token's first. A distribution
writes the token's value and the site's record, of bounded sizes however many households
the camp has; one that arrives late also writes a few of the sequence's closed parts,
however late it is.

The head decides: a token's first service is the one of its `served` stamps that the
round's sequence holds. `served` is written before the site's record (the checkpoint's
order), so after a checkpoint cut short it may hold services the record does not; those
are applied again when their events come again, as if never seen.

The crossing is the (allowed + 1)-th first service in time order. Services only come in,
or move earlier, one at a time, so the crossing only moves earlier, to the latest service
below it.
"""

from __future__ import annotations

from typing import Any

from agents.chunks import LEAF, Names, Sequence, Weight, append, count, from_last, holds, place, remove, split_at, start
from agents.state import Store

Stamp = tuple[float, str]
"""A first service: `time, event_id`."""


RoundHead = tuple[int, Sequence]
"""A round at a site: `households, firsts`: how many households (tokens) it served, and their
first services, read by unpacking. A plain tuple, built anew at each distribution: see
`agents.state`."""


def allowed_households(caseload_ratio: float, caseload: int) -> int:
    """How many households a round may serve at a site of this caseload."""
    return int(caseload_ratio * caseload + 1e-9)


def serve(served: Store, services: Store, head: RoundHead | None, key: str, stamp: Stamp, allowed: float,
          crossing: Stamp | None, fresh: Names) -> tuple[RoundHead, Stamp | None] | None:
    """Record that a token was served at `stamp` in a round (`key`: site, round and token,
    joined by the unit separator, as `served` names them), given the households the round
    allows and its crossing before; return its head and crossing after, or None when the
    token's first service stays as it was (nothing changes)."""
    ever: tuple[Stamp, ...] | None = served.get(key)  # the token's services that were ever its first
    known = None
    if ever is not None and head is not None:
        _, held = head
        known = _first_held(services, held, ever)
    if known is not None and stamp >= known:
        return None
    served[key] = (stamp,) if ever is None or head is None else tuple(sorted({*ever, stamp}))
    firsts: Sequence
    if head is None:
        households, firsts = 1, start(stamp)
    else:
        households, firsts = head
        if known is None:
            households += 1
        leaf = firsts[0]
        if not stamp > leaf[-1]:  # late: in its place, the token's later first service out
            place(services, firsts, stamp, stamp, _weigh, fresh)
            if known is not None:
                remove(services, firsts, known, _weigh, fresh)
        elif len(leaf) < LEAF:  # in order, the usual case (a token served before comes before)
            leaf.append(stamp)
        else:
            append(services, firsts, stamp, _weigh, fresh)
    if crossing is None:
        if households > allowed:  # the first household beyond the caseload: found once
            crossing = from_last(services, firsts, int(households - allowed) - 1)
    elif stamp < crossing and (known is None or known >= crossing):
        # one more household served before the crossing: it moves back to the latest first
        # service before it (late services only; in order, nothing moves)
        crossing = _below(services, firsts, crossing)
    return (households, firsts), crossing


def crossing_of(services: Store, head: RoundHead, allowed: float) -> Stamp | None:
    """The round's first service beyond `allowed` households (None while it is within them)."""
    households, firsts = head
    if households <= allowed:
        return None
    crossing: Stamp = from_last(services, firsts, int(households - allowed) - 1)
    return crossing


def last_service(head: RoundHead) -> float:
    """The time of the round's latest first service."""
    _, firsts = head
    t, _ = firsts[0][-1]
    return float(t)


def _weigh(stamps: list[Any]) -> Weight:
    return (len(stamps),)


def _first_held(services: Store, firsts: Sequence, served: tuple[Stamp, ...]) -> Stamp | None:
    """The token's first service: the earliest of its `served` stamps the round holds."""
    for stamp in served:
        if holds(services, firsts, stamp):
            return stamp
    return None


def _below(services: Store, firsts: Sequence, crossing: Stamp) -> Stamp:
    """The latest first service before `crossing`."""
    (earlier,), _ = split_at(services, firsts, crossing, _weigh)
    if not earlier:
        raise LookupError("no service before the crossing")
    below: Stamp = from_last(services, firsts, count(firsts) - earlier)
    return below


class RoundTokens:
    """The names of the `served` store by their round: `site, round` and a separator, the
    prefix `serve` names them with. What a sweep deletes when a round goes, found without
    reading the whole store. Derived and in memory: built by one scan of the store the first
    time it meets it (a monitor made on a restored state), then kept up by whoever adds a
    name to it. A name stays listed until its round's tokens are taken, deleted or not."""

    __slots__ = ("names", "store")

    def __init__(self) -> None:
        self.store: Store | None = None  # the store the index follows (None: none yet)
        self.names: dict[str, list[str]] = {}  # prefix -> the names that begin with it

    def follow(self, served: Store) -> None:
        """Follow `served` from now on (read whole, unless it is the one followed already)."""
        if self.store is served:
            return
        self.store, self.names = served, {}
        for name in served:
            self.add(name[:name.rindex("\x1f") + 1], name)  # a token has no separator; ids may

    def add(self, prefix: str, name: str) -> None:
        names = self.names.get(prefix)
        if names is None:
            self.names[prefix] = [name]
        else:
            names.append(name)

    def take(self, prefix: str) -> list[str]:
        """The names listed for a round, no longer listed."""
        return self.names.pop(prefix, [])
