"""Where detectors keep their state: plain mappings, one per named table.

In `aidmon replay` and in tests a table is a dict; in the Faust worker it is a table
with a changelog. Detectors therefore always write a record back (`table[key] = record`)
after changing it, so that a changelogged table sees the change.
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
