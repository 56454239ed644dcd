"""Detector state in a Faust table: one table, keys namespaced by partition and store.

The monitor of partition P sees a plain mapping per store (`agents.state.Store`), served
from memory; behind it, `table[b"P|store|key"]` holds the pickled value. Changes are
written to the table and its changelog (partition P) at checkpoints, each changed key
once, rather than at every event: a busy site's record is pickled once a checkpoint, not
once a distribution. The worker acknowledges an event only after the checkpoint that
holds its effects, so a restarted worker re-processes what the changelog may lack; the
detectors apply an event at most once, so what it already held is not counted twice.

Values are read back with an unpickler that only accepts the project's own record types
and a few standard ones: the changelog is internal, but it is not trusted to run code.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable, Iterator, Mapping, MutableMapping
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


Writer = Callable[[bytes, bytes | None], None]  # (table key, pickled value or None to delete)


class PartitionStore(MutableMapping[str, Any]):
    """One store of one partition's monitor, read from `table`, changes held in `dirty`."""

    def __init__(self, table: Mapping[bytes, bytes], partition: int, name: str, dirty: dict[bytes, Any]) -> None:
        self._table = table
        self._prefix = f"{partition}|{name}|"
        self._dirty = dirty
        self._cache: dict[str, Any] = {}
        self._deleted: set[str] = set()
        self._complete = False  # whether the cache holds every key of the table yet

    def _key(self, key: str) -> bytes:
        return (self._prefix + key).encode("utf-8")

    def __getitem__(self, key: str) -> Any:
        try:
            return self._cache[key]
        except KeyError:
            if self._complete or key in self._deleted:
                raise
        value = load_state(self._table[self._key(key)])
        self._cache[key] = value
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self._cache[key] = value
        self._deleted.discard(key)
        self._dirty[self._key(key)] = value

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._cache.pop(key, None)
        self._deleted.add(key)
        self._dirty[self._key(key)] = None

    def _load_all(self) -> None:
        if self._complete:
            return
        prefix = self._prefix.encode("utf-8")
        for raw_key in list(self._table.keys()):
            if raw_key.startswith(prefix):
                key = raw_key[len(prefix):].decode("utf-8")
                if key not in self._cache and key not in self._deleted:
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
        if self._complete or not isinstance(key, str) or key in self._deleted:
            return False
        return self._key(key) in self._table


class PartitionStores:
    """The `StoreFactory` of one partition's monitor, and its checkpoints."""

    def __init__(self, table: Mapping[bytes, bytes], partition: int) -> None:
        self._table = table
        self._partition = partition
        self._dirty: dict[bytes, Any] = {}

    def __call__(self, name: str) -> PartitionStore:
        return PartitionStore(self._table, self._partition, name, self._dirty)

    @property
    def pending(self) -> int:
        return len(self._dirty)

    def checkpoint(self, write: Writer) -> int:
        """Write every changed key (pickled, or None when deleted); return how many."""
        dirty = dict(self._dirty)
        self._dirty.clear()
        for key, value in dirty.items():
            write(key, None if value is None else dump_state(value))
        return len(dirty)
