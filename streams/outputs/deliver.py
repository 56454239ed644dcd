"""The `deliver` agent: diversion.alerts.v1 to the webhook subscriptions, each alert
version once per subscription.

A table (`webhook-delivered`, by alert id) remembers the version last delivered, so the
re-sends of a restarted worker are not delivered again. A message is acknowledged once
every delivery of it has landed or gone to the dead letters; a tombstone, a version
already delivered or a message that is not an alert is acknowledged at once. At most
`MAX_OUTSTANDING` alerts are under way: past that the agent stops reading until some land.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import faust
from faust.types import EventT, TopicT

from schemas.exceptions import InvalidAlertError
from streams.outputs.sink import AlertSink
from streams.outputs.webhooks import WebhookSink, make_client
from streams.worker.context import WorkerContext
from streams.worker.progress import HandledOffsets

log = logging.getLogger("aidmon.outputs")

MAX_OUTSTANDING = 10_000  # alerts being delivered (or retried) at once, before `deliver` waits


async def deliver_webhooks(ctx: WorkerContext, delivered: Any, stream: faust.StreamT[bytes]) -> None:
    """The `deliver` agent: the alerts of `stream` to a `WebhookSink` on its own HTTP client."""
    settings = ctx.settings.webhooks
    async with make_client(settings) as client:
        sink = WebhookSink(settings, client, ctx.metrics, partial(_dead_letter, ctx.topics.dead_letters))
        await deliver_alerts(sink, delivered, ctx.offsets, stream)


async def deliver_alerts(
    sink: AlertSink, delivered: Any, offsets: HandledOffsets, stream: faust.StreamT[bytes]
) -> None:
    """Each alert of `stream` to `sink`, acknowledged once it went out; the sink closes at the end."""
    outstanding: set[asyncio.Future[None]] = set()
    try:
        async for event in stream.noack().events():  # type: ignore[attr-defined]
            offsets.handled(event.message)
            await deliver_one(event, sink, delivered, outstanding)
    finally:
        await sink.aclose()


async def deliver_one(
    event: EventT[bytes], sink: AlertSink, delivered: Any, outstanding: set[asyncio.Future[None]]
) -> None:
    """Submit one message's alert to `sink` unless there is nothing to deliver; wait while
    `outstanding` (the deliveries under way) is full."""
    message = event.message
    if message.value is None:  # a tombstone: nothing to deliver
        event.ack()
        return
    version = hashlib.sha256(message.value).hexdigest().encode()
    key = message.key or b""
    if delivered.data.get(key) == version:
        event.ack()  # a re-send of a version already delivered
        return
    try:
        done = sink.submit(message.value)
    except InvalidAlertError as exc:
        log.warning("not delivered: %s[%d]@%d: %s", message.topic, message.partition, message.offset, exc)
        event.ack()
        return
    outstanding.add(done)
    done.add_done_callback(outstanding.discard)
    done.add_done_callback(_finish(event, delivered, key, version))
    if len(outstanding) >= MAX_OUTSTANDING:  # a receiver down for long: stop reading until some land
        await asyncio.wait(set(outstanding), return_when=asyncio.FIRST_COMPLETED)


def _finish(
    event: EventT[bytes], delivered: Any, key: bytes, version: bytes
) -> Callable[[asyncio.Future[None]], None]:
    started = time.monotonic()

    def finish(done: asyncio.Future[None]) -> None:
        if done.cancelled():
            return  # the worker stops: not acknowledged, delivered again after the restart
        error = done.exception()
        if error is not None:  # a fault of ours: a receiver's failures are retried, then dead-lettered
            log.error("delivering alert %s failed (%s): not acknowledged, delivered again after a restart",
                      key.decode(errors="replace"), type(error).__name__)
            return
        partition = event.message.partition
        delivered.data[key] = version
        delivered.send_changelog(partition, key, version)
        event.ack()
        log.debug("alert %s delivered in %.3f s", key.decode(errors="replace"), time.monotonic() - started)

    return finish


async def _dead_letter(topic: TopicT, record: dict[str, Any]) -> None:
    await topic.send(value=json.dumps(record, ensure_ascii=False).encode())
