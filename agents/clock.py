"""The monitor's event-time clock over one or more sources of events.

A source is one ordered input: the file of a replay, or one partition of the events topic
in the worker. Each source's clock is the latest `time` it delivered. The monitor's
`now` is the latest of them all (the contract's "latest time of any event accepted").
The `watermark` is the time up to which every active source has progressed, less the
allowed lateness: findings that a late event could undo are judged only up to it. A
source that has gone quiet is marked idle and stops holding the watermark back; once
every source is idle (the end of a replay) the watermark is `now` itself.

A source that delivers again after going idle "wakes" the others: every other idle source
holds the watermark where the clock stood (the frontier) until it delivers or is announced
idle again. Without this, a stream resuming after a quiet spell would let the first source
read take the watermark ahead alone, and the others' first events would be late to a
watermark that one ordered stream never had. The sources held are reported (`take_held`)
so that whoever announces idleness announces it once more.
"""

from __future__ import annotations

from agents.state import Store

NEVER = float("-inf")


SAVE_EVERY_S = 60.0


class EventClock:
    """Per-source clocks, kept in `store` under the key "sources": saved when a source
    appears, goes idle, or the clock has moved a minute since the last save (a restarted
    monitor may find it a little behind; clocks only move forward, so that is harmless)."""

    def __init__(self, lateness_s: float, store: Store) -> None:
        self._lateness_s = lateness_s
        self._store = store
        saved: dict[str, tuple[float, bool]] = store.get("sources", {})
        self._times = {source: t for source, (t, _) in saved.items()}
        self._active = {source for source, (_, active) in saved.items() if active}
        self.now = max(self._times.values(), default=NEVER)
        self.watermark = NEVER
        self._saved_at = self.now
        self._held: set[str] = set()
        self._recompute()

    def observe(self, source: str, t: float) -> None:
        """`source` delivered an event (or a heartbeat) of time `t`; it is active again."""
        active = self._active
        known = self._times.get(source)
        if source in active:
            if known is not None and t <= known:  # an active source has a time
                return  # nothing moved
        elif len(self._times) > len(active) + (known is not None):
            self._wake(source)
        if known is None or t > known:
            self._times[source] = t
            if t > self.now:
                self.now = t
        active.add(source)
        if len(active) == 1:  # one source (a replay): no minimum to look for
            self.watermark = self._times[source] - self._lateness_s
        else:
            self._recompute()
        if known is None or self.now - self._saved_at >= SAVE_EVERY_S:
            self.save()

    def _wake(self, source: str) -> None:
        """`source` delivers after being idle (or for the first time): every other idle source
        holds the watermark where the clock stands, until it delivers or goes idle again."""
        frontier = self.frontier
        for other, t in self._times.items():
            if other != source and other not in self._active:
                self._times[other] = max(t, frontier)
                self._active.add(other)
                self._held.add(other)
        self._recompute()
        self.save()

    def take_held(self) -> set[str]:
        """The sources a wake made hold the watermark since the last call: each must be
        announced idle again if it stays quiet."""
        held, self._held = self._held, set()
        return held

    def expect(self, sources: list[str]) -> None:
        """`sources` will deliver events (a worker's partitions of the events topic, as it
        takes a monitor over): each holds the watermark back until it delivers, ticks or goes
        idle again, one not heard from yet at NEVER. Without this a source slow to start (a
        partition whose backlog waits behind another's) would join late, after the watermark
        had passed events it still holds."""
        for source in sources:
            self._times.setdefault(source, NEVER)
            self._active.add(source)
        self._recompute()
        self.save()

    def idle(self, source: str) -> None:
        """`source` has nothing more for now: it no longer holds the watermark back."""
        self._active.discard(source)
        self._times.setdefault(source, NEVER)
        self._recompute()
        self.save()

    def idle_all(self) -> None:
        self._active.clear()
        self._recompute()
        self.save()

    @property
    def all_idle(self) -> bool:
        return not self._active

    @property
    def frontier(self) -> float:
        """Where every active source has got to (`now` when none is active): the clock as one
        ordered stream would have it. A worker reading partitions at different speeds sees
        `now` run ahead of it, by days when catching up."""
        return self.watermark + self._lateness_s if self._active else self.now

    def _recompute(self) -> None:
        if self._active:
            self.watermark = min(self._times[s] for s in self._active) - self._lateness_s
        else:
            self.watermark = self.now

    def save(self) -> None:
        self._store["sources"] = {s: (t, s in self._active) for s, t in self._times.items()}
        self._saved_at = self.now
