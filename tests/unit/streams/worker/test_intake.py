"""What `route` puts on the lanes for an event: its bytes as published, unless they hold a
raw identifier; and a reject by position, as `detect` writes it."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from schemas.decode import Decoder
from schemas.exceptions import InvalidEventError
from schemas.privacy import Pseudonymiser, tokenised
from streams.outputs.metrics import create
from streams.worker.intake import lane_body, reject_at
from tests import support as s

PSEUDONYMISER = Pseudonymiser(b"a test secret of 32 bytes, fixed")


def _published(event_json: str) -> tuple[bytes, object]:
    value = event_json.encode()
    return value, Decoder(PSEUDONYMISER)(value)


def test_an_event_without_a_beneficiary_travels_as_published() -> None:
    """A dispatch's bytes go on unchanged (same object, nothing encoded again)."""
    value, event = _published(s.dispatch("SHP-1", time=s.at()).model_dump_json())
    assert lane_body(value, event) is value  # type: ignore[arg-type]


@pytest.mark.parametrize("spacing", ['"beneficiary":"', '"beneficiary" :  "'])
def test_a_distribution_carrying_its_token_travels_as_published(spacing: str) -> None:
    """A distribution whose one beneficiary field is already a token goes on unchanged."""
    text = s.distribution(beneficiary="tok_" + "b" * 20, time=s.at()).model_dump_json()
    value, event = _published(text.replace('"beneficiary":"', spacing))
    assert lane_body(value, event) is value  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["MLI-1234-5678", "abc", "tok_short"])
def test_a_raw_identifier_never_reaches_the_lanes(raw: str) -> None:
    """A raw beneficiary identifier is replaced by its token before the event leaves `route`."""
    text = s.distribution(beneficiary="tok_" + "b" * 20, time=s.at()).model_dump_json()
    value, event = _published(text.replace("tok_" + "b" * 20, raw))
    body = lane_body(value, event)  # type: ignore[arg-type]
    assert raw.encode() not in body
    assert json.loads(body)["data"]["beneficiary"] == PSEUDONYMISER(raw)


def test_a_second_beneficiary_field_means_the_event_is_encoded_again() -> None:
    """Bytes with `beneficiary` twice (a raw one hidden behind a token) are never forwarded as they are."""
    text = s.distribution(beneficiary="tok_" + "b" * 20, time=s.at()).model_dump_json()
    doubled = text.replace('"beneficiary":', '"note":{"beneficiary":"MLI-1"},"beneficiary":', 1)
    value, event = _published(doubled)
    body = lane_body(value, event)  # type: ignore[arg-type]
    assert body != value and b"MLI-1" not in body


def test_a_beneficiary_key_spelled_with_an_escape_is_never_forwarded() -> None:
    """`"benef\\u0069ciary"` is the same key to a JSON reader: a raw id under it, before the
    token that reading keeps, is dropped by encoding the event again."""
    text = s.distribution(beneficiary="tok_" + "b" * 20, time=s.at()).model_dump_json()
    hidden = text.replace('"beneficiary":', '"benef\\u0069ciary":"MLI-1","beneficiary":', 1)
    value, event = _published(hidden)
    body = lane_body(value, event)  # type: ignore[arg-type]
    assert b"MLI-1" not in body and json.loads(body)["data"]["beneficiary"] == "tok_" + "b" * 20


@pytest.mark.parametrize("hidden", ['"benef\\u0069ciary":"MLI-1","beneficiary":"{token}"',
                                    '"beneficiary":"MLI-1","beneficiary":"{token}"',
                                    '"beneficiary":"{token}","beneficiary":"MLI-1"'])
def test_publishing_never_keeps_a_raw_id_behind_a_token(hidden: str) -> None:
    """`tokenised` (what `aidmon publish` and POST /events send on) writes an event again when
    its bytes hold `beneficiary` twice or escaped, so a raw id never travels behind a token."""
    token = "tok_" + "b" * 20
    line = ('{"type": "distribution.recorded", "data": {' + hidden.replace("{token}", token) + "}}").encode()
    sent = tokenised(line, PSEUDONYMISER)
    assert b"MLI-1" not in sent
    assert json.loads(sent)["data"]["beneficiary"] in {token, PSEUDONYMISER("MLI-1")}
    plain = ('{"data": {"beneficiary": "' + token + '"}}').encode()
    assert tokenised(plain, PSEUDONYMISER) is plain


class Rejects:
    """The rejects topic: what was sent to it."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, value: bytes) -> None:
        self.sent.append(json.loads(value))


@pytest.mark.parametrize(("offset", "index"), [(41, 2), (41, None), (None, None)])
def test_a_reject_by_position_keeps_the_event_whole_and_counts_it(offset: int | None, index: int | None) -> None:
    """The event's bytes, reason and detail, its partition and offset of aid.events.v1 (None
    if the lanes did not carry it) and its batch index if it had one; counted by reason and
    as a rejected event of its type and source."""
    registry, rejects = CollectorRegistry(), Rejects()
    ctx = SimpleNamespace(metrics=create(registry), topics=SimpleNamespace(rejects=rejects))
    event = s.dispatch("SHP-1", time=s.at())
    body = event.model_dump_json().encode()
    asyncio.run(reject_at(ctx, 3, offset, body, InvalidEventError("expired", "too old"), index))  # type: ignore[arg-type]
    expected = {"source": "aid.events.v1[3]", "line": offset, "reason": "expired", "detail": "too old",
                "raw": body.decode(), "partition": 3, "offset": offset}
    assert rejects.sent == [expected if index is None else {**expected, "index": index}]
    assert registry.get_sample_value("aidmon_rejects_total", {"reason": "expired"}) == 1
    labels = {"type": "shipment.dispatched", "source": event.source, "outcome": "rejected"}
    assert registry.get_sample_value("aidmon_events_total", labels) == 1
