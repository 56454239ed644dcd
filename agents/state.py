"""Where detectors keep their state: plain mappings, one per named table.

In `aidmon replay` and in tests a table is a dict; in the Faust worker it is a table
with a changelog. Detectors therefore always write a record back (`table[key] = record`)
after changing it, so that a changelogged table sees the change. The worker writes each
changed value whole at every checkpoint, so no value an event changes may grow with
history: what grows is kept in many small values that are never written over
(`agents.chunks`), in stores a detector names as its records' `parts`.

No field of a tuple in a record is read by index (`insort_once` slices the time and event
id every time-ordered record starts with). Most are `NamedTuple`s, read by name; the (time,
event id) pairs that order things, the four kept for every position or distribution
(`Fix`, `IndexedFix`, `Line`, `Visit`), a round's head (`RoundHead`) and the index entries
of a sequence (`agents.chunks`) are plain tuples unpacked into named variables.
CPython builds a `NamedTuple` several times slower than a tuple, and its garbage collector
stops scanning a plain tuple of numbers and strings but scans a tuple subclass at every
full collection for as long as it lives: as `NamedTuple`s those four slowed the replay
benchmark by about 10 %.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, Protocol

Store = MutableMapping[str, Any]


class StoreFactory(Protocol):
    """Makes (or opens) the table called `name`."""

    def __call__(self, name: str) -> Store: ...


def memory_store(name: str) -> Store:
    """A table in memory: what replay and the unit tests use."""
    return {}
