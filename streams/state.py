"""Detector state in a Faust table: one table, keys namespaced by partition and store.

The monitor of partition P sees a plain mapping per store (`agents.state.Store`); behind
it, `table[b"P|store|key"]` holds the pickled value, written on every change so that the
table's changelog (partition P, like the events that changed it) can rebuild it. All
stores share one table, hence one changelog partition in which writes keep their order:
a restarted worker finds a prefix of them, never an event marked seen without its effects.

Values are read back with an unpickler that only accepts the project's own record types
and a few standard ones: the changelog is internal, but it is not trusted to run code.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Iterator, MutableMapping
from typing import Any

_ALLOWED_MODULES = ("agents.", "schemas.")
_ALLOWED_GLOBALS = {
    ("datetime", "datetime"),
    ("datetime", "timedelta"),
    ("datetime", "timezone"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("collections", "Counter"),
}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module.startswith(_ALLOWED_MODULES) or (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"state holds a {module}.{name}, which is not a state type")


def dump_state(value: Any) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def load_state(data: bytes) -> Any:
    return _Unpickler(io.BytesIO(data)).load()


class PartitionStore(MutableMapping[str, Any]):
    """One store of one partition's monitor, kept in `table` (a Faust table, or a dict)."""

    def __init__(self, table: MutableMapping[bytes, bytes], partition: int, name: str) -> None:
        self._table = table
        self._prefix = f"{partition}|{name}|"
        self._cache: dict[str, Any] = {}
        self._complete = False  # whether the cache holds every key of the table yet

    def _key(self, key: str) -> bytes:
        return (self._prefix + key).encode("utf-8")

    def __getitem__(self, key: str) -> Any:
        try:
            return self._cache[key]
        except KeyError:
            if self._complete:
                raise
        value = load_state(self._table[self._key(key)])
        self._cache[key] = value
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self._cache[key] = value
        self._table[self._key(key)] = dump_state(value)

    def __delitem__(self, key: str) -> None:
        self[key]  # raises KeyError when absent
        del self._cache[key]
        del self._table[self._key(key)]

    def _load_all(self) -> None:
        if self._complete:
            return
        prefix = self._prefix.encode("utf-8")
        for raw_key in list(self._table.keys()):
            if raw_key.startswith(prefix):
                key = raw_key[len(prefix):].decode("utf-8")
                if key not in self._cache:
                    self._cache[key] = load_state(self._table[raw_key])
        self._complete = True

    def __iter__(self) -> Iterator[str]:
        self._load_all()
        return iter(list(self._cache))

    def __len__(self) -> int:
        self._load_all()
        return len(self._cache)

    def __contains__(self, key: object) -> bool:
        if key in self._cache:
            return True
        if self._complete or not isinstance(key, str):
            return False
        return self._key(key) in self._table


class PartitionStores:
    """The `StoreFactory` of one partition's monitor."""

    def __init__(self, table: MutableMapping[bytes, bytes], partition: int) -> None:
        self._table = table
        self._partition = partition

    def __call__(self, name: str) -> PartitionStore:
        return PartitionStore(self._table, self._partition, name)
