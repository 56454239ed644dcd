"""One message of aid.events.v1, taken in by `route`.

Each message is decoded and validated once; a malformed one goes whole to aid.rejects.v1
with its reason and position. A valid one, pseudonymised, is queued in the `Outbox` for
each partition of the lanes that keeps the state of a detector it feeds
(`streams.worker.lanes`), marked with its source partition and Kafka timestamp.

A message whose `content-type` header is `application/cloudevents-batch+json` holds a JSON
array of events (contract 1.1, batches): each is judged alone and placed by its own
`subject`; a malformed one is rejected with its index in the batch, the others applied.

A message in CloudEvents binary content mode (contract 1.1: a `ce_specversion` header, the
other attributes in `ce_` headers, `data` alone as the value) is turned into its structured
JSON once (`schemas.binary`) and then taken in as any event: the lanes carry that form. A
rejected one is kept as it came, its value and its `ce_` and `content-type` headers.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping

from faust.types import Message

from schemas.binary import (
    HeaderList,
    binding_headers,
    has_attributes,
    is_binary,
    readable_attributes,
    structured_from_binary,
)
from schemas.envelope import BATCH_CONTENT_TYPE, batch_items
from schemas.events import DistributionRecorded, Event, FeedbackReceived
from schemas.exceptions import InvalidEventError
from schemas.privacy import may_hide_a_beneficiary
from streams.kafka.topics import EVENTS, MAX_EVENT_BYTES, too_large
from streams.rejects import MAX_KEPT_RAW_BYTES, reject_record
from streams.worker.context import WorkerContext
from streams.worker.lanes import route
from streams.worker.outbox import LaneItem

_TOKEN_FIELD = re.compile(rb'"beneficiary"\s*:\s*"([A-Za-z0-9_-]*)"')  # a token needs no escapes


@functools.cache
def _in_order(only: frozenset[str]) -> tuple[str, ...]:
    """A lane's typologies as a lanes item names them (sorted; the few sets there are, once each)."""
    return tuple(sorted(only))


async def take_in(ctx: WorkerContext, message: Message) -> None:
    """Decode `message` (one event, structured or in binary mode, or a CloudEvents JSON batch
    of them) and queue its parts for the lanes; reject what is malformed."""
    value = message.value or b""  # a tombstone is not JSON: rejected
    if content_type(message) == BATCH_CONTENT_TYPE:
        for index, item in enumerate(await _batch_items(ctx, message, value)):
            await _take_one(ctx, message, item, index)
        return
    headers = binding_headers(message.headers, "kafka") if message.headers else ()
    if not is_binary(headers, "kafka"):
        await _take_one(ctx, message, value, None)
        return
    try:
        structured = structured_from_binary(headers, value, "kafka")
    except InvalidEventError as error:
        await reject(ctx, message, value, error)
        return
    await _take_one(ctx, message, structured, None, kept=value)


def content_type(message: Message) -> str:
    """The message's `content-type` header, lower case, without parameters ("" if none)."""
    headers = message.headers or []
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for key, raw in pairs:
        if key.lower() == "content-type" and raw is not None:
            return bytes(raw).decode("utf-8", "replace").split(";")[0].strip().lower()
    return ""


async def reject(
    ctx: WorkerContext, message: Message, value: bytes, error: InvalidEventError, index: int | None = None
) -> None:
    """Count the event as rejected and keep it whole on aid.rejects.v1, with its position
    (partition, offset, and its index in a batch), and the `ce_` and `content-type`
    headers of a message that has `ce_` ones (binary mode, or an attempt at it)."""
    headers = binding_headers(message.headers, "kafka") if index is None and message.headers else ()
    kept = headers if has_attributes(headers, "kafka") else ()
    await reject_at(ctx, message.partition, message.offset, value, error, index, kept)


async def reject_at(
    ctx: WorkerContext, partition: int, offset: int | None, value: bytes, error: InvalidEventError,
    index: int | None = None, headers: HeaderList = (),
) -> None:
    """`reject` by position in aid.events.v1, for `detect`'s rejects (`offset` None when a
    lanes message of an older worker did not carry it). A binary-mode event is counted by
    the type and source its headers name."""
    metrics = ctx.metrics
    metrics.rejects.labels(error.reason).inc()
    described = json.dumps(readable_attributes(headers, "kafka")).encode() if is_binary(headers, "kafka") else value
    metrics.events.labels(*metrics.raw_labels(described), "rejected").inc()
    record = reject_record(f"{EVENTS}[{partition}]", -1, error, value, MAX_KEPT_RAW_BYTES, headers)  # line: offset
    record.update(line=offset, partition=partition, offset=offset)
    if index is not None:
        record["index"] = index
    await ctx.topics.rejects.send(value=json.dumps(record, ensure_ascii=False).encode())


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
    return batch_items(items)


async def _take_one(
    ctx: WorkerContext, message: Message, value: bytes, index: int | None, kept: bytes | None = None
) -> None:
    """Decode `value` and queue it; a reject keeps `kept` when it is not `value` (a
    binary-mode message's value: `value` is the structured JSON made of it)."""
    partition = message.partition
    if len(value) > MAX_EVENT_BYTES:  # its lanes message would outgrow a Kafka message: refused as over HTTP
        await reject(ctx, message, value if kept is None else kept, InvalidEventError("too_large", too_large(value)),
                     index)
        return
    try:
        event = ctx.decode(value)
    except InvalidEventError as error:
        await reject(ctx, message, value if kept is None else kept, error, index)
        return
    ctx.metrics.count_accepted(event.type, event.source)
    source, stamp, offset = f"events-{partition}", message.timestamp, message.offset
    outbox = ctx.outbox
    body = lane_body(value, event)
    for target, only, copy in route(event, ctx.settings.kafka.partitions):
        # an incident's copy for other shipments' partitions leaves out the shipment it names
        copy_body = body if copy is event else copy.model_dump_json().encode()
        outbox.add(target, LaneItem("event", source, _in_order(only), stamp, None, copy_body, offset, index))
    ctx.progress.saw(partition, event.at, stamp)


def lane_body(value: bytes, event: Event) -> bytes:
    """The event as the lanes carry it: its bytes as published when they hold no raw
    beneficiary identifier (no beneficiary, or one `beneficiary` field that is the event's
    token, `schemas.privacy.may_hide_a_beneficiary`), else the event as decoded, pseudonymised."""
    token = event.data.beneficiary if isinstance(event, DistributionRecorded | FeedbackReceived) else None
    if token is None:
        return value
    if not may_hide_a_beneficiary(value):
        found = _TOKEN_FIELD.search(value)
        if found is not None and found.group(1) == token.encode():
            return value
    return event.model_dump_json().encode()
