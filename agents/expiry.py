"""Which keys of a table the retention has to look at: an index of keys by the day of the
times they were written for, so that a sweep reads the keys of the days it passed, not
the whole table.

The index is derived from the table and kept beside it in memory, never stored: it is
built by one scan of the table the first time it meets it (a monitor made on a restored
state), then kept up by whoever writes the table. A key may sit in several days, and stay
in a day after its record went; the owner looks each one up again before it drops anything.
"""

from __future__ import annotations

from collections.abc import Iterable

from agents.state import Store

DAY_S = 86400.0


class DayIndex:
    """Keys by day (epoch seconds // 86400) of a time written for them, for one table."""

    __slots__ = ("days", "table")

    def __init__(self) -> None:
        self.table: Store | None = None  # the table the index follows (None: none yet)
        self.days: dict[float, dict[str, None]] = {}  # day (a whole float) -> its keys, in the order first written

    def follows(self, table: Store) -> bool:
        """Whether the index is the one of `table`; if not, the caller rebuilds it (`rebuild`)."""
        return self.table is table

    def rebuild(self, table: Store, times: Iterable[tuple[str, float]]) -> None:
        """Follow `table` from now on, starting from `times`: (key, time) for its records."""
        self.table, self.days = table, {}
        for key, t in times:
            self.add(key, t)

    def add(self, key: str, t: float) -> None:
        day = t // DAY_S
        keys = self.days.get(day)
        if keys is None:
            self.days[day] = {key: None}
        else:
            keys[key] = None

    def before(self, horizon: float) -> list[str]:
        """The keys written for a time before `horizon`, maybe with others (each once): the days
        wholly before it leave the index, the day it falls in stays."""
        days = self.days
        keys: dict[str, None] = {}
        for day in sorted(day for day in days if day * DAY_S < horizon):
            keys.update(days.pop(day) if (day + 1) * DAY_S <= horizon else days[day])
        return list(keys)
