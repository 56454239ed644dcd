"""The households a distribution round served at a site, and the first one beyond its caseload.

A round's head, kept in its site's record, holds how many tokens it served and the latest
of their first services (time, event id) in time order: a chunked sequence
(`agents.chunks`) whose earlier chunks are values of the `services` store. The `served`
store, keyed by site, round and token, holds the services that were ever the token's
first. A distribution in time order writes the token's value and the site's record, of
bounded sizes however many households the camp has; one that arrives late walks back over
the chunks it goes before, and no further.

The head decides: a token's first service is the one of its `served` stamps that the
round's sequence holds. `served` is written before the site's record (the checkpoint's
order), so after a checkpoint cut short it may hold services the record does not; those
are applied again when their events come again, as if never seen.

The crossing is the (allowed + 1)-th first service in time order. Services only come in,
or move earlier, one at a time, so the crossing only moves earlier, to the latest service
below it, which is in a chunk the late service walked over.
"""

from __future__ import annotations

import bisect

from agents.chunks import CHUNK_SIZE, Chunk, Names, from_last, push, rewrite, walk_back
from agents.state import Store

Stamp = tuple[float, str]
"""A first service: `time, event_id`."""


RoundHead = tuple[int, Chunk]
"""A round at a site: `households, latest`: how many households (tokens) it served, and its
latest first services, read by unpacking. A plain tuple, built anew at each distribution:
see `agents.state`."""


def allowed_households(caseload_ratio: float, caseload: int) -> int:
    """How many households a round may serve at a site of this caseload."""
    return int(caseload_ratio * caseload + 1e-9)


def serve(served: Store, services: Store, head: RoundHead | None, key: str, stamp: Stamp, allowed: float,
          crossing: Stamp | None, fresh: Names) -> tuple[RoundHead, Stamp | None] | None:
    """Record that a token was served at `stamp` in a round (`key`: site, round and token,
    joined by the unit separator, as `served` names them), given the households the round
    allows and its crossing before; return its head and crossing after, or None when the
    token's first service stays as it was (nothing changes)."""
    firsts: tuple[Stamp, ...] | None = served.get(key)
    known = None
    if firsts is not None and head is not None:
        _, held = head
        known = _first_held(services, held, firsts)
    if known is not None and stamp >= known:
        return None
    served[key] = (stamp,) if firsts is None or head is None else tuple(sorted({*firsts, stamp}))
    latest: Chunk
    if head is None:
        count, latest = 1, (None, [stamp])
    else:
        count, latest = head
        if known is None:
            count += 1
        _, stamps = latest
        if not stamp > stamps[-1]:  # late
            latest = _place(services, latest, stamp, known, fresh)
        elif len(stamps) < CHUNK_SIZE:  # in order, the usual case (a token served before comes before)
            stamps.append(stamp)
        else:
            latest = push(services, latest, stamp, fresh)
    if crossing is None:
        if count > allowed:  # the first household beyond the caseload: found once
            crossing = from_last(services, latest, int(count - allowed) - 1)
    elif stamp < crossing and (known is None or known >= crossing):
        # one more household served before the crossing: it moves back to the latest first
        # service before it (late services only; in order, nothing moves)
        crossing = _below(services, latest, crossing)
    return (count, latest), crossing


def crossing_of(services: Store, head: RoundHead, allowed: float) -> Stamp | None:
    """The round's first service beyond `allowed` households (None while it is within them)."""
    households, latest = head
    if households <= allowed:
        return None
    crossing: Stamp = from_last(services, latest, int(households - allowed) - 1)
    return crossing


def last_service(head: RoundHead) -> float:
    """The time of the round's latest first service."""
    _, (_, stamps) = head
    t, _ = stamps[-1]
    return float(t)


def _holds(services: Store, latest: Chunk, stamp: Stamp) -> bool:
    _, (_, stamps) = walk_back(services, latest, stamp)[-1]
    index = bisect.bisect_left(stamps, stamp)
    return index < len(stamps) and stamps[index] == stamp


def _first_held(services: Store, latest: Chunk, firsts: tuple[Stamp, ...]) -> Stamp | None:
    """The token's first service: the earliest of its `served` stamps the round holds."""
    for stamp in firsts:
        if _holds(services, latest, stamp):
            return stamp
    return None


def _place(services: Store, latest: Chunk, stamp: Stamp, known: Stamp | None, fresh: Names) -> Chunk:
    """Put a late first service in its place, taking the token's earlier one (`known`,
    after it, so in a chunk walked over) out; the round's latest chunk after it."""
    walked = walk_back(services, latest, stamp)
    _, (_, stamps) = walked[-1]
    bisect.insort(stamps, stamp)
    if known is not None:
        for _, (_, held) in walked:
            if held[0] <= known:
                del held[bisect.bisect_left(held, known)]
                break
    return rewrite(services, walked, fresh)


def _below(services: Store, latest: Chunk, crossing: Stamp) -> Stamp:
    """The latest first service before `crossing`."""
    _, (before, stamps) = walk_back(services, latest, crossing)[-1]
    index = bisect.bisect_left(stamps, crossing)
    if index:
        below: Stamp = stamps[index - 1]
        return below
    if before is None:
        raise LookupError("no service before the crossing")
    _, earlier = services[before]
    below = earlier[-1]
    return below
