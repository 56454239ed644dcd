"""One message of aid.events.v1, taken in where its state lives.

Each message is decoded and validated once; a malformed one goes whole to aid.rejects.v1
with its reason and position. A valid one, pseudonymised, feeds the partitions that keep
the state of each detector it concerns (`streams.worker.lanes`): the message's own
partition applies its part at once; the parts for other partitions wait in the `Outbox`
for the next lanes message to that partition. An event published keyed by its `subject`
(as the contract asks) needs another partition only for a distribution's beneficiary
token, a receipt's site, and reference data and incidents, which every partition needs.

A message whose `content-type` header is `application/cloudevents-batch+json` holds a JSON
array of events (contract 1.1, batches): each is judged alone and placed by its own
`subject`; a malformed one is rejected with its index in the batch, the others applied.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from faust.types import Message

from schemas.alerts import Alert
from schemas.events import Event
from schemas.exceptions import InvalidEventError
from streams.kafka.topics import EVENTS
from streams.rejects import MAX_KEPT_RAW_BYTES, reject_record
from streams.worker.context import WorkerContext
from streams.worker.lanes import route
from streams.worker.outbox import LaneItem

BATCH_TYPE = "application/cloudevents-batch+json"


async def take_in(ctx: WorkerContext, message: Message) -> list[Alert]:
    """Decode `message` (one event, or a CloudEvents JSON batch of them), apply its parts
    here, queue the rest; the alerts raised here."""
    value = message.value or b""  # a tombstone is not JSON: rejected
    if content_type(message) == BATCH_TYPE:
        alerts: list[Alert] = []
        for index, item in enumerate(await _batch_items(ctx, message, value)):
            alerts += await _take_one(ctx, message, item, index)
        return alerts
    return await _take_one(ctx, message, value, None)


def content_type(message: Message) -> str:
    """The message's `content-type` header, lower case, without parameters ("" if none)."""
    headers = message.headers or []
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for key, raw in pairs:
        if key.lower() == "content-type" and raw is not None:
            return bytes(raw).decode("utf-8", "replace").split(";")[0].strip().lower()
    return ""


async def _batch_items(ctx: WorkerContext, message: Message, value: bytes) -> list[bytes]:
    """The events of a batch, each as its own JSON; the whole message rejected if it is no array."""
    try:
        items = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        await reject(ctx, message, value, InvalidEventError("not_json", "a batch that is not valid JSON"))
        return []
    if not isinstance(items, list):
        await reject(ctx, message, value, InvalidEventError("invalid_value", "a batch must be a JSON array of events"))
        return []
    return [json.dumps(item, ensure_ascii=False).encode() for item in items]


async def _take_one(ctx: WorkerContext, message: Message, value: bytes, index: int | None) -> list[Alert]:
    partition = message.partition
    try:
        event = ctx.decode(value)
    except InvalidEventError as error:
        await reject(ctx, message, value, error, index)
        return []
    ctx.metrics.events.labels(event.type, ctx.metrics.source(event.source), "accepted").inc()
    source, stamp = f"events-{partition}", message.timestamp
    alerts: list[Alert] = []
    for target, only, copy in route(event, ctx.settings.kafka.partitions):
        if target == partition:
            alerts += ctx.monitors.process(partition, copy, source, only)
        else:
            ctx.outbox.add(target, LaneItem("event", source, tuple(sorted(only)), stamp, None, _body(copy)))
    ctx.progress.saw(partition, event.at, stamp)
    return alerts


async def reject(
    ctx: WorkerContext, message: Message, value: bytes, error: InvalidEventError, index: int | None = None
) -> None:
    """Count the event as rejected and keep it whole on aid.rejects.v1, with its position
    (partition, offset, and its index in a batch)."""
    metrics = ctx.metrics
    metrics.rejects.labels(error.reason).inc()
    metrics.events.labels(*metrics.raw_labels(value), "rejected").inc()
    partition, offset = message.partition, message.offset
    record = reject_record(f"{EVENTS}[{partition}]", offset, error, value, MAX_KEPT_RAW_BYTES)
    record["partition"], record["offset"] = partition, offset
    if index is not None:
        record["index"] = index
    await ctx.topics.rejects.send(value=json.dumps(record, ensure_ascii=False).encode())


def _body(event: Event) -> bytes:
    """The event as the receiving partition decodes it: pseudonymised, and an incident's
    shipment left out where it is not that shipment's partition."""
    return event.model_dump_json().encode()
