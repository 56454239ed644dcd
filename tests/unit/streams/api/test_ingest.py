"""POST /events bodies: read whole or refused with a reason; events checked one by one."""

from __future__ import annotations

import json

import pytest

from schemas.decode import Decoder
from schemas.envelope import BATCH_CONTENT_TYPE
from schemas.exceptions import BodyError
from schemas.privacy import Pseudonymiser
from streams.api.ingest import MAX_EVENTS, check_batch, split_body
from streams.kafka.topics import MAX_EVENT_BYTES
from streams.settings import TokenRecord

PSEUDONYMISER = Pseudonymiser(b"unit-test-secret-0123456789")
PUBLISHER = TokenRecord(name="wfp", role="publisher", source="/agencies/wfp/mli", sha256="0" * 64)
ADMIN = TokenRecord(name="root", role="admin", sha256="1" * 64)


def distribution(event_id: str, beneficiary: str = "MLI-GOU-1", source: str = "/agencies/wfp/mli") -> dict:
    return {"specversion": "1.0", "id": event_id, "source": source, "type": "distribution.recorded",
            "time": "2012-07-01T10:00:00Z", "subject": "DP-1",
            "data": {"site_id": "DP-1", "round_id": "R1", "beneficiary": beneficiary, "household_size": 4,
                     "items": [{"commodity": "sorghum", "unit": "kg", "quantity": 50.0}]}}


@pytest.mark.parametrize(("body", "content_type", "count"), [
    (json.dumps(distribution("a")).encode(), "application/json", 1),
    (json.dumps([distribution("a"), distribution("b")]).encode(), "application/json; charset=utf-8", 2),
    (b"\n".join(json.dumps(distribution(i)).encode() for i in "abc") + b"\n\n", "application/x-ndjson", 3),
    (json.dumps([distribution("a"), distribution("b")]).encode(), BATCH_CONTENT_TYPE, 2),
    (json.dumps([distribution("a")]).encode(), f"{BATCH_CONTENT_TYPE.upper()}; charset=utf-8", 1),
])
def test_bodies_split_into_events(body: bytes, content_type: str, count: int) -> None:
    """One object, an array, or NDJSON (blank lines skipped)."""
    assert len(split_body(body, content_type)) == count


@pytest.mark.parametrize(("body", "words"), [
    (b"{not json", "not JSON"), (b"\xff\xfe", "not UTF-8"), (b"", "empty"), (b"  \n", "empty"),
    (b"42", "object"), (b"[]", "no events"), (json.dumps([{}] * (MAX_EVENTS + 1)).encode(), "at most"),
])
def test_unreadable_bodies(body: bytes, words: str) -> None:
    """A body that cannot be read as events is a BodyError with a reason."""
    with pytest.raises(BodyError) as info:
        split_body(body, "application/json")
    assert words in info.value.detail


@pytest.mark.parametrize("body", [json.dumps(distribution("a")).encode(), b"42", b'"text"', b"null"])
def test_a_batch_body_must_be_an_array(body: bytes) -> None:
    """With the CloudEvents batch content type, anything but a JSON array is a BodyError that says so."""
    with pytest.raises(BodyError) as info:
        split_body(body, f"{BATCH_CONTENT_TYPE}; charset=utf-8")
    assert "a batch is a JSON array of events" in info.value.detail


@pytest.mark.parametrize(("body", "words"), [(b"[1, ", "not JSON"), (b"[]", "no events"), (b"", "empty")])
def test_unreadable_batch_bodies_are_refused_as_any_body(body: bytes, words: str) -> None:
    """A batch that is not JSON, empty or without events is refused for the same reasons as any body."""
    with pytest.raises(BodyError) as info:
        split_body(body, BATCH_CONTENT_TYPE)
    assert words in info.value.detail


def test_a_batch_is_checked_event_by_event() -> None:
    """The events of a batch body are the events of the same array sent as application/json."""
    body = json.dumps([distribution("ok"), {"type": "nope"}, distribution("also")]).encode()
    items = split_body(body, BATCH_CONTENT_TYPE)
    assert items == split_body(body, "application/json")
    batch = check_batch(items, Decoder(PSEUDONYMISER), PSEUDONYMISER, PUBLISHER)
    assert [(r.index, r.reason) for r in batch.rejected] == [(1, "unknown_type")]
    assert [event.id for event, _ in batch.accepted] == ["ok", "also"]


def test_each_event_is_checked_and_named() -> None:
    """Bad events are named by index and reason; good ones are kept, their raw ids tokenised."""
    body = [distribution("ok"), 7, {"type": "nope"}, distribution("other", source="/x")]
    items = split_body(json.dumps(body).encode(), "application/json")
    batch = check_batch(items, Decoder(PSEUDONYMISER), PSEUDONYMISER, PUBLISHER)
    assert [(r.index, r.reason) for r in batch.rejected] == [
        (1, "not_an_object"), (2, "unknown_type"), (3, "source_not_allowed")]
    assert batch.status == 422
    [(event, value)] = batch.accepted
    assert event.id == "ok" and b"MLI-GOU-1" not in value
    assert json.loads(value)["data"]["beneficiary"] == PSEUDONYMISER("MLI-GOU-1")


def test_other_sources_alone_are_403_and_the_admin_may_publish_them() -> None:
    """Only a source refusal makes 403; the admin role publishes under any source."""
    items = split_body(json.dumps(distribution("x", source="/agencies/unicef/mli")).encode(), "application/json")
    assert check_batch(items, Decoder(PSEUDONYMISER), PSEUDONYMISER, PUBLISHER).status == 403
    assert check_batch(items, Decoder(PSEUDONYMISER), PSEUDONYMISER, ADMIN).status == 202


def test_an_event_too_large_for_one_kafka_message_is_refused() -> None:
    """An event over MAX_EVENT_BYTES is rejected as too_large before anything is published."""
    event = distribution("big")
    event["data"]["padding"] = "x" * MAX_EVENT_BYTES
    batch = check_batch([json.dumps(event).encode()], Decoder(PSEUDONYMISER), PSEUDONYMISER, ADMIN)
    assert [r.reason for r in batch.rejected] == ["too_large"] and not batch.accepted


def test_an_ndjson_line_is_cut_at_newlines_only() -> None:
    """JSON allows U+2028, U+0085 and the like unescaped in strings: an NDJSON line holding
    them is one event (str.splitlines would cut it in pieces), and it is accepted."""
    event = distribution("odd")
    event["data"]["round_id"] = "R1\u2028\u0085\x1cend"
    body = json.dumps(event, ensure_ascii=False).encode() + b"\r\n" + json.dumps(distribution("b")).encode()
    items = split_body(body, "application/x-ndjson")
    assert len(items) == 2
    batch = check_batch(items, Decoder(PSEUDONYMISER), PSEUDONYMISER, PUBLISHER)
    assert not batch.rejected and [e.data.round_id for e, _ in batch.accepted] == ["R1\u2028\u0085\x1cend", "R1"]


def test_a_lone_surrogate_rejects_its_item_alone() -> None:
    """"\\ud800" parses as JSON but is no character: the item holding it is rejected as not
    JSON with its index, and the other items of the array are judged as usual."""
    bad = json.dumps(distribution("bad")).replace('"DP-1"', '"DP-\\ud800"', 1)
    body = f"[{json.dumps(distribution('ok'))}, {bad}]".encode()
    batch = check_batch(split_body(body, BATCH_CONTENT_TYPE), Decoder(PSEUDONYMISER), PSEUDONYMISER, PUBLISHER)
    assert [(r.index, r.reason) for r in batch.rejected] == [(1, "not_json")]
    assert [event.id for event, _ in batch.accepted] == ["ok"]
