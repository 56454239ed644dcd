"""Event-time alignment: a partition of aid.events.v1 read far ahead of the others waits.

A monitor's clock is where every source partition has got to (`agents.clock`): the
retention forgets only what is behind the slowest partition, and timers are judged only
up to it. A worker catching up on a backlog reads its partitions at about the same rate
in messages, not in event time: a partition holding a big camp's distributions covers
fewer days per message than one holding a few convoys. On a backfill of three quarters
the others ran ahead of it by weeks, and the state held those weeks on top of the
retention (601k keys at the peak against 284k once caught up; the memory stays with the
process). So the heartbeat pauses fetching from a partition more than
`kafka.read_ahead_hours` of event time ahead of the slowest one that still has messages
to read, and resumes it once it no longer is. A partition with nothing left to read holds
no one back: a worker that is caught up pauses nothing. What Faust has fetched already
is still handed over, so a partition may run ahead by that much more.

The pause is the Kafka client's own (aiokafka's `pause`, run in Faust's consumer thread),
not Faust's `pause_partitions`: Faust drops the rest of a fetched batch of a partition it
pauses, a hole `streams.worker.continuity` would have to read again. The client keeps its
position and fetches from there once resumed; a rebalance resets its pauses, and the next
heartbeat sets them again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

log = logging.getLogger("aidmon.worker")


def ahead(times: Mapping[int, float], backlog: Iterable[int], lead_s: float) -> set[int]:
    """The partitions to pause: those whose event time (`times`, the latest routed) is more
    than `lead_s` ahead of the slowest of `backlog` (partitions with messages left to read)
    whose time is known. None when no partition has a backlog, or `lead_s` is 0 (off)."""
    behind = [times[p] for p in backlog if p in times]
    if not behind or lead_s <= 0:
        return set()
    limit = min(behind) + lead_s
    return {p for p, t in times.items() if t > limit}


class Alignment:
    """Which partitions of a topic the worker's Kafka client is asked to pause."""

    def __init__(self, topic: str) -> None:
        self._topic = topic
        self.paused: set[int] = set()

    def apply(self, app: Any, paused: set[int]) -> None:
        """Pause `paused` and resume the topic's other assigned partitions, in Faust's
        consumer thread; nothing if that thread is not running (yet)."""
        thread = getattr(app.consumer, "_thread", None)
        client = getattr(thread, "_consumer", None)
        loop = getattr(thread, "thread_loop", None)
        if client is None or loop is None or loop.is_closed():
            return
        if paused != self.paused:
            log.debug("partitions of %s read ahead, paused: %s", self._topic, sorted(paused) or "none")
        self.paused = set(paused)
        loop.call_soon_threadsafe(_set_paused, client, self._topic, frozenset(paused))


def _set_paused(client: Any, topic: str, paused: frozenset[int]) -> None:
    """In the consumer thread: each assigned partition of `topic` paused or resumed (both
    are no-ops for one already so)."""
    try:
        for tp in client.assignment():
            if tp.topic == topic:
                if tp.partition in paused:
                    client.pause(tp)
                else:
                    client.resume(tp)
    except Exception:  # a rebalance under way: the next heartbeat sets them again
        log.debug("pausing partitions of %s failed", topic, exc_info=True)
