"""The ids of the events a monitor has applied, for de-duplication, kept in buckets.

A store key per id would write a record per event to the worker's changelog, and a
tombstone when the retention forgets it: on a season of the project's stream a third of
the changelog's bytes and more than half of the state's keys, each key held twice in the
worker's memory (its table and its detection process). So ids go into numbered buckets,
each a store value `(latest event time, [ids])`. A bucket is added to until it holds
`BUCKET_IDS` ids or is `seal`ed (the worker seals the buckets at each checkpoint, so that a
checkpoint writes only the ids seen since the last one and never writes a bucket again);
the retention deletes a bucket once its latest event time is behind the horizon. An id may
then outlive its own time by as much as a bucket's spread, which changes nothing a caller
sees: an event behind the horizon is rejected as expired before it is looked up here.
"""

from __future__ import annotations

from agents.state import Store

BUCKET_IDS = 1000  # ~40 KB pickled: well under a changelog record's limit


class SeenEvents:
    """Event ids by bucket in `store`, indexed in memory."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._bucket: dict[str, int] = {}  # event id -> the bucket that holds it
        self._latest: dict[int, float] = {}  # bucket -> latest event time in it
        for key, (latest, ids) in store.items():
            number = int(key)
            self._latest[number] = latest
            for event_id in ids:
                self._bucket[event_id] = number
        self._next = max(self._latest, default=-1) + 1
        self._open: list[str] | None = None  # the ids of the bucket being added to
        self._number = -1  # its number
        self._key = ""  # and its key in the store
        self.ids = self._bucket.keys()
        """The ids seen, a set-like view: `event_id in seen.ids` is what `in seen` asks,
        without a method call (the monitor asks it for every event)."""

    def __contains__(self, event_id: str) -> bool:
        return event_id in self._bucket

    def __len__(self) -> int:
        return len(self._bucket)

    def add(self, event_id: str, at: float) -> None:
        """`event_id`, of event time `at`, was applied."""
        ids = self._open
        if ids is None or len(ids) >= BUCKET_IDS:
            ids = self._open = []
            self._number = self._next
            self._key = str(self._number)
            self._next += 1
            self._latest[self._number] = at
        number = self._number
        ids.append(event_id)
        self._bucket[event_id] = number
        latest = self._latest[number]
        if at > latest:
            latest = self._latest[number] = at
        self._store[self._key] = (latest, ids)

    def seal(self) -> None:
        """The buckets are written as they stand: ids from now on go into a new one."""
        self._open = None

    def expire(self, horizon: float) -> None:
        """Forget the buckets whose every event is before `horizon`."""
        for number in [number for number, latest in self._latest.items() if latest < horizon]:
            key = str(number)
            _, ids = self._store[key]
            for event_id in ids:
                del self._bucket[event_id]
            del self._store[key]
            del self._latest[number]
            if self._open is ids:
                self._open = None

    def forget(self, event_id: str) -> None:
        """Forget one id as if it had never been seen (tests replay an event with it)."""
        number = self._bucket.pop(event_id)
        latest, ids = self._store[str(number)]
        ids = [known for known in ids if known != event_id]
        self._store[str(number)] = (latest, ids)
        if self._open is not None and self._number == number:
            self._open = ids
