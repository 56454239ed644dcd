"""Detector state in a Faust table: one table, keys namespaced by partition and store.

The monitor of partition P sees a plain mapping per store (`agents.state.Store`), served
from memory; behind it, `table[b"P|store|key"]` holds the pickled value. Changes are
written to the table and its changelog (partition P) at checkpoints, each changed key
once, rather than at every event: a busy site's record is pickled once a checkpoint, not
once a distribution. The worker acknowledges an event only after the checkpoint that
holds its effects, so a restarted worker re-processes what the changelog may lack; the
detectors apply an event at most once, so what it already held is not counted twice.

A checkpoint writes the changed keys in the order `agents.monitor.write_rank` gives (timers
and alert versions, the detectors' records, what was deleted, the events seen and the
clock), so that one cut short by a crash leaves a state the events after it can be
applied to again.

A value larger than `CHUNK_BYTES` (a big camp's ledgers) is written as chunks under keys
of their own, `P|store\x1fchunks|key|DIGEST.N`, then the key itself as a small header that
names them: every changelog message stays well under Kafka's 1 MB default, and as the
header is written last and names its chunks by digest, a worker that dies half-way
through a checkpoint leaves the previous, whole version readable.

Values are read back with an unpickler that only accepts the project's own record types
and a few standard ones: the changelog is internal, but it is not trusted to run code.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import pickle
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

from agents.monitor import write_rank

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


CHUNK_BYTES = 256 * 1024
_CHUNKED = b"\x00chunks\x00"  # a header's prefix: a pickle never starts with a zero byte


def dump_state(value: Any) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def load_state(data: bytes) -> Any:
    return _Unpickler(io.BytesIO(data)).load()


Writer = Callable[[bytes, bytes | None], None]  # (table key, pickled value or None to delete)


def _chunk_keys(key: bytes, header: bytes | None) -> list[bytes]:
    """The keys of the chunks a header names (none if `header` is a plain value)."""
    if header is None or not header.startswith(_CHUNKED):
        return []
    digest, count = json.loads(header[len(_CHUNKED):])
    partition, store, rest = key.split(b"|", 2)
    base = b"|".join((partition, store + b"\x1fchunks", rest))
    return [base + f"|{digest}.{i}".encode() for i in range(count)]


def read_value(table: Mapping[bytes, bytes], key: bytes) -> Any:
    """The value at `key`, put back together if it was written in chunks."""
    data = table[key]
    if data.startswith(_CHUNKED):
        data = b"".join(table[name] for name in _chunk_keys(key, data))
    return load_state(data)


def encode_value(key: bytes, data: bytes) -> list[tuple[bytes, bytes]]:
    """The records that store `data` at `key`: itself, or its chunks and then a header."""
    if len(data) <= CHUNK_BYTES:
        return [(key, data)]
    count = -(-len(data) // CHUNK_BYTES)
    header = _CHUNKED + json.dumps([hashlib.blake2b(data, digest_size=8).hexdigest(), count]).encode()
    names = _chunk_keys(key, header)
    return [(name, data[i * CHUNK_BYTES:(i + 1) * CHUNK_BYTES]) for i, name in enumerate(names)] + [(key, header)]


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
        value = read_value(self._table, self._key(key))
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
        table_key = self._key(key)
        if table_key in self._table:
            self._deleted.add(key)
            self._dirty[table_key] = None
        else:  # made since the last checkpoint: the changelog never had it, so no tombstone
            self._dirty.pop(table_key, None)

    def forget_deleted(self) -> None:
        """The keys deleted since the last checkpoint are gone from the table too: the set
        that hid them can go (it would otherwise grow with every key ever forgotten)."""
        self._deleted.clear()

    def _load_all(self) -> None:
        if self._complete:
            return
        prefix = self._prefix.encode("utf-8")
        for raw_key in list(self._table.keys()):
            if raw_key.startswith(prefix):
                key = raw_key[len(prefix):].decode("utf-8")
                if key not in self._cache and key not in self._deleted:
                    self._cache[key] = read_value(self._table, raw_key)
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


def write_order(row: tuple[bytes, Any]) -> int:
    """A changed key's place in a checkpoint: by its store's rank (`agents.monitor.write_rank`)."""
    key, value = row
    start = key.index(b"|") + 1
    return _store_rank(key[start:key.index(b"|", start)], value is None)


@functools.lru_cache(maxsize=256)
def _store_rank(store: bytes, deleted: bool) -> int:
    """`write_rank` of a store named in a table key, looked up once per store (a checkpoint
    sorts thousands of keys of a dozen stores while detection waits). A value's chunks
    (`store\x1fchunks`) rank as their store: they are written just before its header."""
    return write_rank(store.partition(b"\x1f")[0].decode("utf-8"), deleted)


class PartitionStores:
    """The `StoreFactory` of one partition's monitor, and its checkpoints."""

    def __init__(self, table: Mapping[bytes, bytes], partition: int) -> None:
        self._table = table
        self._partition = partition
        self._dirty: dict[bytes, Any] = {}
        self._stores: list[PartitionStore] = []

    def __call__(self, name: str) -> PartitionStore:
        store = PartitionStore(self._table, self._partition, name, self._dirty)
        self._stores.append(store)
        return store

    @property
    def pending(self) -> int:
        return len(self._dirty)

    def checkpoint(self, write: Writer) -> int:
        """Write every changed key (pickled, or None when deleted), and delete the chunks
        its previous version no longer needs; return how many keys changed. (It runs while
        detection waits: a plain value over a plain one, nearly every key, takes the
        shortest path.)"""
        table = self._table
        dirty = sorted(self._dirty.items(), key=write_order)  # a checkpoint cut short stays consistent
        self._dirty.clear()
        for key, value in dirty:
            header = table.get(key)
            chunked = header is not None and header.startswith(_CHUNKED)
            if value is None:
                write(key, None)
                stale = _chunk_keys(key, header) if chunked else []
            else:
                data = dump_state(value)
                if not chunked and len(data) <= CHUNK_BYTES:
                    write(key, data)
                    continue
                records = encode_value(key, data)
                for name, part in records:
                    write(name, part)
                kept = {name for name, _ in records}
                stale = [name for name in _chunk_keys(key, header) if name not in kept]
            for name in stale:
                write(name, None)
        for store in self._stores:  # the table no longer holds what they deleted (the retention's keys)
            store.forget_deleted()
        return len(dirty)
