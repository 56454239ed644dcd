"""POST /events: a body of one event, a JSON array of events, or NDJSON, checked whole.

A body sent as `application/cloudevents-batch+json` (the CloudEvents HTTP binding's
batched mode) must be a JSON array, then read as any array. A body that cannot be read
(not UTF-8, not JSON, neither an object nor an array, empty) is a `BodyError` (400).
Otherwise every event is validated against the contract and each failure named with its
index (422); an event under another publisher's `source` is refused (403). A batch is
all or nothing: nothing is published unless every event passes, so a publisher fixes
the named events and sends the batch again (re-sent ids are duplicates and change
nothing). Raw beneficiary ids become tokens before anything is published.

A request in CloudEvents binary content mode (contract 1.1: a `ce-specversion` header,
the other attributes in `ce-` headers, `data` alone as the body) is one event: its
structured JSON is made once (`schemas.binary`), checked like any, and published in that
form; a rejected one is kept as it came, the body and its `ce-` and `Content-Type` headers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from schemas.binary import HeaderList, readable_attributes, structured_from_binary
from schemas.decode import Decoder
from schemas.envelope import BATCH_CONTENT_TYPE, batch_items
from schemas.events import Event
from schemas.exceptions import BodyError, InvalidEventError
from schemas.privacy import Pseudonymiser, tokenised
from streams.kafka.topics import MAX_EVENT_BYTES, too_large
from streams.settings import TokenRecord

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines")
MAX_EVENTS = 10_000


@dataclass(frozen=True)
class Rejected:
    index: int
    reason: str
    detail: str
    raw: bytes
    event_id: str | None = None
    headers: HeaderList = ()  # a binary-mode event's `ce-` and Content-Type headers, as sent

    @property
    def described(self) -> bytes:
        """What names its type and source: the event, or the attributes of a binary-mode one."""
        return json.dumps(readable_attributes(self.headers, "http")).encode() if self.headers else self.raw

    def view(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"index": self.index, "reason": self.reason, "detail": self.detail}
        if self.event_id is not None:
            shown["id"] = self.event_id
        return shown


@dataclass
class Batch:
    accepted: list[tuple[Event, bytes]] = field(default_factory=list)  # (event, value to publish)
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def status(self) -> int:
        if not self.rejected:
            return 202
        return 403 if all(r.reason == "source_not_allowed" for r in self.rejected) else 422


def split_body(body: bytes, content_type: str) -> list[bytes]:
    """The raw events of a body, each as bytes."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(f"the body is not UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise BodyError("the body is empty: send one event, a JSON array of events, or NDJSON")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type in NDJSON_TYPES:
        # "\n" only: str.splitlines also splits at U+2028 and other breaks, which JSON allows in strings
        items = [line.encode() for line in text.split("\n") if line.strip()]
    else:
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BodyError(f"the body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
                            " (for NDJSON send Content-Type: application/x-ndjson)") from None
        if media_type == BATCH_CONTENT_TYPE and not isinstance(parsed, list):
            raise BodyError(f"the body is sent as {BATCH_CONTENT_TYPE}, and a batch is a JSON array of events;"
                            " send one event as application/json")
        if isinstance(parsed, dict):
            items = [body]
        elif isinstance(parsed, list):
            items = batch_items(parsed)
        else:
            raise BodyError("the body must be a JSON object (one event) or an array of events")
    if not items:
        raise BodyError("the body holds no events")
    if len(items) > MAX_EVENTS:
        raise BodyError(f"{len(items)} events in one body; send at most {MAX_EVENTS} a request")
    return items


def check_batch(items: list[bytes], decode: Decoder, pseudonymiser: Pseudonymiser, token: TokenRecord) -> Batch:
    """Validate each event; a publisher's events must carry its own `source`."""
    batch = Batch()
    for index, raw in enumerate(items):
        if len(raw) > MAX_EVENT_BYTES:
            batch.rejected.append(Rejected(index, "too_large", too_large(raw), raw))
            continue
        try:
            event = decode(raw)
        except InvalidEventError as error:
            batch.rejected.append(Rejected(index, error.reason, error.detail, raw, _event_id(raw)))
            continue
        if token.role == "publisher" and event.source != token.source:
            detail = f"source {event.source[:128]!r} is not this token's source {token.source!r}"
            batch.rejected.append(Rejected(index, "source_not_allowed", detail, raw, event.id))
            continue
        batch.accepted.append((event, tokenised(raw, pseudonymiser)))
    return batch


def check_binary(
    headers: HeaderList, body: bytes, decode: Decoder, pseudonymiser: Pseudonymiser, token: TokenRecord
) -> Batch:
    """The one event of a binary-mode request (`headers` from `schemas.binary.binding_headers`),
    checked as `check_batch` checks an event; a reject keeps the body and headers as sent."""
    event_id = readable_attributes(headers, "http").get("id")
    try:
        structured = structured_from_binary(headers, body, "http")
    except InvalidEventError as error:
        return Batch(rejected=[Rejected(0, error.reason, error.detail, body, _shown_id(event_id), headers)])
    batch = check_batch([structured], decode, pseudonymiser, token)
    batch.rejected = [replace(r, raw=body, headers=headers) for r in batch.rejected]
    return batch


def _shown_id(value: object) -> str | None:
    return value[:128] if isinstance(value, str) else None


def _event_id(raw: bytes) -> str | None:
    try:
        value = json.loads(raw).get("id")
    except (ValueError, AttributeError):
        return None
    return _shown_id(value)
