"""Backoff for aiokafka's clients while their broker is away (aiokafka 0.14 has none).

aiokafka retries a lost broker with nothing between tries but the fixed `retry_backoff_ms`
(100 ms) some of its loops sleep, and one loop not even that: when a partition has no
leader, as every partition has once the only broker has shut down, the producer's sender
asks its client for a metadata update and waits for nothing else; the update fails as soon
as the connection is refused, and the sender asks again. A worker whose broker stopped made
about 1,400 metadata updates a second, each logging "Unable connect to node" and "Unable to
update metadata" (99,000 Kafka client warnings in 30 s, summarised by `streams.kafka.noise`).
Faust passes no `retry_backoff_ms` to the clients it makes, and aiokafka has no
`reconnect_backoff_ms`.

Kafka's Java clients wait `retry.backoff.ms` between metadata requests and back off
reconnecting to a node (`reconnect.backoff.ms`, doubling to `reconnect.backoff.max.ms`).
`install()` gives aiokafka's client the same, for every client of the process (Faust's
consumer and producers, the worker's own):

- a failed metadata update is answered only after a pause that doubles with each failure in
  a row, from FIRST_PAUSE_SECONDS to MAX_PAUSE_SECONDS: whoever waits for it (the sender
  above, a fetcher, the group coordinator) waits with it;
- a node whose connection failed is not tried again until such a pause has passed: whoever
  asks for it meanwhile (a fetcher, a heartbeat, the sender) waits for the end of the pause,
  then tries once (one asker at a time) and hears whether the node is ready.

A success ends the pauses, so a broker that is back is seen within MAX_PAUSE_SECONDS. The
two wrapped methods are aiokafka's private ones: `install` raises if they are missing, and a
unit test drives the wrapped client, so that an aiokafka upgrade cannot silently bring the
loop back.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

FIRST_PAUSE_SECONDS = 0.1  # aiokafka's own retry_backoff_ms
MAX_PAUSE_SECONDS = 1.0  # Kafka's reconnect.backoff.max.ms: what a returning broker may wait
_MARK = "__aidmon_backoff__"
_METADATA_FAILURES = "_aidmon_metadata_failures"
_NODES_PAUSED = "_aidmon_nodes_paused"  # (node id, connection group) -> (failures, until: loop time)
_NODE_TURNS = "_aidmon_node_turns"  # (node id, connection group) -> the lock its askers take turns on


def pause_seconds(failures: int) -> float:
    """The pause after `failures` failures in a row (1, 2, ...): doubling, capped."""
    return float(min(MAX_PAUSE_SECONDS, FIRST_PAUSE_SECONDS * 2 ** (failures - 1)))


def install() -> None:
    """Wrap aiokafka's client (idempotent): pauses after failed metadata updates and failed
    connections, as the module docstring says."""
    from aiokafka.client import AIOKafkaClient  # type: ignore[import-untyped]

    for name, wrap in (("_metadata_update", paced_metadata_update), ("_get_conn", paced_get_conn)):
        method = getattr(AIOKafkaClient, name, None)
        if method is None:
            raise RuntimeError(f"aiokafka's client has no {name}: streams/kafka/backoff.py needs updating")
        if not getattr(method, _MARK, False):
            wrapped = functools.wraps(method)(wrap(method))
            setattr(wrapped, _MARK, True)
            setattr(AIOKafkaClient, name, wrapped)


def paced_metadata_update(update: Callable[..., Awaitable[bool]]) -> Callable[..., Awaitable[bool]]:
    """`AIOKafkaClient._metadata_update` answering a failure only after a pause."""
    async def paced(client: Any, *args: Any, **kwargs: Any) -> bool:
        updated = await update(client, *args, **kwargs)
        if updated:
            setattr(client, _METADATA_FAILURES, 0)
            return updated
        failures = getattr(client, _METADATA_FAILURES, 0) + 1
        setattr(client, _METADATA_FAILURES, failures)
        await asyncio.sleep(pause_seconds(failures))
        return updated

    return paced


def paced_get_conn(get_conn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """`AIOKafkaClient._get_conn` trying a node that failed only after a pause, one asker at a time."""
    async def paced(client: Any, node_id: Any, **kwargs: Any) -> Any:
        key = (node_id, int(kwargs.get("group", 0)))  # aiokafka's ConnectionGroup: DEFAULT is 0
        turns: dict[tuple[Any, int], asyncio.Lock] = client.__dict__.setdefault(_NODE_TURNS, {})
        paused: dict[tuple[Any, int], tuple[int, float]] = client.__dict__.setdefault(_NODES_PAUSED, {})
        async with turns.setdefault(key, asyncio.Lock()):  # one asker at a time tries a node
            loop = asyncio.get_running_loop()
            failures, until = paused.get(key, (0, 0.0))
            if loop.time() < until:
                await asyncio.sleep(until - loop.time())
            conn = await get_conn(client, node_id, **kwargs)
            if conn is None:
                paused[key] = (failures + 1, loop.time() + pause_seconds(failures + 1))
            else:
                paused.pop(key, None)
            return conn

    return paced
