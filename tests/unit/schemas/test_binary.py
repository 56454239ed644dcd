"""CloudEvents binary content mode (contract 1.1): headers and data turned into the event's
structured JSON, then judged by the same rules as structured mode; messages made by the
official `cloudevents` SDK's Kafka and HTTP bindings give the events of their structured form."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

import pytest
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from schemas.binary import (
    Binding,
    HeaderList,
    binding_headers,
    has_attributes,
    is_binary,
    readable_attributes,
    structured_from_binary,
)
from schemas.decode import Decoder
from schemas.envelope import BATCH_CONTENT_TYPE
from schemas.events import Event
from schemas.exceptions import InvalidEventError
from tests.paths import SAMPLE, require
from tests.support import PSEUDONYMISER

DECODE = Decoder(PSEUDONYMISER)
DATA = {"site_id": "DP-1", "round_id": "R1", "beneficiary": "MLI-GOU-1", "household_size": 4,
        "items": [{"commodity": "sorghum", "unit": "kg", "quantity": 50.0}]}
STRUCTURED = {"specversion": "1.0", "id": "ev-1", "source": "/agencies/wfp/mli", "type": "distribution.recorded",
              "time": "2012-07-01T10:00:00Z", "subject": "DP-1", "datacontenttype": "application/json", "data": DATA}


def cloud_event(structured: dict[str, Any]) -> CloudEvent:
    """The SDK's event for a structured event of the contract (the SDK wants `time` as a datetime)."""
    attributes = {name: value for name, value in structured.items() if name != "data"}
    if "time" in attributes:
        attributes["time"] = datetime.fromisoformat(attributes["time"])
    return CloudEvent(attributes, structured.get("data"))


def kafka_headers(**changes: bytes | None) -> list[tuple[str, bytes]]:
    """The Kafka headers of STRUCTURED in binary mode; a change of None leaves a header out."""
    headers = {f"ce_{name}": str(value).encode() for name, value in STRUCTURED.items()
               if name not in ("data", "datacontenttype")}
    headers["content-type"] = b"application/json"
    headers.update({name: value for name, value in changes.items() if value is not None})
    return [(name, value) for name, value in headers.items() if changes.get(name, b"") is not None]


def kafka(**changes: bytes | None) -> HeaderList:
    return binding_headers(kafka_headers(**changes), "kafka")


def decoded(headers: HeaderList, data: bytes | None, binding: Binding = "kafka") -> Event:
    return DECODE(structured_from_binary(headers, data, binding))


def judged(headers: HeaderList, data: bytes | None, binding: Binding = "kafka") -> InvalidEventError:
    with pytest.raises(InvalidEventError) as info:
        decoded(headers, data, binding)
    return info.value


def test_a_binary_message_is_the_event_of_its_structured_form() -> None:
    """Headers plus data decode to the very event of the same structured JSON, raw id tokenised alike."""
    assert decoded(kafka(), json.dumps(DATA).encode()) == DECODE(json.dumps(STRUCTURED))


def test_the_data_is_spliced_in_as_sent() -> None:
    """The structured JSON holds the attributes and the data's own bytes, unchanged."""
    data = b' {"site_id": "DP-1",  "x": 1e400 } '
    made = structured_from_binary(kafka(), data, "kafka")
    assert made.endswith(b', "data": ' + data + b"}")
    assert json.loads(made)["subject"] == "DP-1"


@pytest.mark.parametrize("missing", ["id", "source", "type", "time", "subject"])
def test_a_missing_attribute_header_is_a_missing_field(missing: str) -> None:
    """Without one of its attribute headers the event is rejected as missing that field, as in structured mode."""
    error = judged(kafka(**{f"ce_{missing}": None}), json.dumps(DATA).encode())
    assert error.reason == "missing_field"
    assert missing in error.detail


def test_no_data_is_a_missing_data_field() -> None:
    """An empty value (or none: a tombstone) carries no `data`: rejected as missing it."""
    for data in (b"", None):
        error = judged(kafka(), data)
        assert (error.reason, error.detail.split(":")[0]) == ("missing_field", "data")


@pytest.mark.parametrize(("data", "reason"), [
    (b"{not json", "not_json"),
    (b'{"site_id": "DP-1"}, "type": "site.registered"', "not_json"),  # never spliced: no attribute injected
    (b"\xff\xfe{}", "not_json"),
    (b"[" * 100_000, "not_json"),
    (b"42", "invalid_value"),
    (b'"text"', "invalid_value"),
    (b"{}", "missing_field"),
])
def test_data_that_is_not_the_types_body_is_rejected(data: bytes, reason: str) -> None:
    """Data that is not UTF-8 JSON is not_json; JSON that is not the type's body fails as it would structured."""
    assert judged(kafka(), data).reason == reason


@pytest.mark.parametrize(("changes", "reason", "field"), [
    ({"ce_time": b"2012-07-01T10:00:00"}, "invalid_value", "time"),  # no offset
    ({"ce_type": b"convoy.teleported"}, "unknown_type", "convoy.teleported"),
    ({"ce_subject": b"DP-2"}, "subject_mismatch", "subject"),
    ({"ce_specversion": b"0.3"}, "invalid_value", "specversion"),
    ({"ce_subject": b""}, "invalid_value", "subject"),
])
def test_attribute_values_are_judged_as_in_structured_mode(changes: dict[str, bytes], reason: str, field: str) -> None:
    """A bad attribute value in a header fails with the reason the same value has in structured JSON."""
    error = judged(kafka(**changes), json.dumps(DATA).encode())
    assert (error.reason, field in error.detail) == (reason, True)


@pytest.mark.parametrize("header", ["ce_source", "ce_id", "ce_time", "content-type"])
def test_a_header_that_is_not_utf8_is_an_invalid_value_named_not_echoed(header: str) -> None:
    """A non-UTF-8 attribute header is invalid_value, naming the attribute, never its bytes."""
    error = judged(kafka(**{header: b"\xffMLI-GOU-1"}), json.dumps(DATA).encode())
    assert error.reason == "invalid_value"
    assert header in error.detail and "MLI-GOU-1" not in error.detail


def test_a_repeated_attribute_header_is_ambiguous_and_rejected() -> None:
    """Kafka allows a header name twice; an attribute given twice is invalid_value (which would be meant?)."""
    headers = (*kafka(), ("CE_ID", b"ev-2"))
    error = judged(headers, json.dumps(DATA).encode())
    assert error.reason == "invalid_value" and "given more than once" in error.detail


@pytest.mark.parametrize("content_type", [
    "application/json", "application/json; charset=utf-8", "APPLICATION/JSON;charset=UTF-8",
    "application/vnd.aid+json", "text/json",
])
def test_json_content_types_are_accepted_and_kept_with_their_parameters(content_type: str) -> None:
    """Any JSON media type, parameters and case included, is the data's type, kept as `datacontenttype`."""
    event = decoded(kafka(**{"content-type": content_type.encode()}), json.dumps(DATA).encode())
    assert event.datacontenttype == content_type


def test_no_content_type_means_json() -> None:
    """Without `content-type` the data is read as JSON (the JSON format's default) and no datacontenttype is set."""
    event = decoded(kafka(**{"content-type": None}), json.dumps(DATA).encode())
    assert event.datacontenttype is None and event.id == "ev-1"


@pytest.mark.parametrize("content_type", [b"text/plain", b"application/octet-stream", b"application/xml", b""])
def test_data_of_another_content_type_is_rejected(content_type: bytes) -> None:
    """The contract's data is JSON: another content type is invalid_value, even if the bytes parse."""
    error = judged(kafka(**{"content-type": content_type}), json.dumps(DATA).encode())
    assert error.reason == "invalid_value" and "datacontenttype" in error.detail


def test_header_names_are_read_whatever_their_case() -> None:
    """CE_TYPE, Ce_Id and Content-Type are the attributes and content type of their lower-case names."""
    headers = [(name.upper() if name != "content-type" else "Content-Type", value) for name, value in kafka_headers()]
    assert decoded(binding_headers(headers, "kafka"), json.dumps(DATA).encode()) == DECODE(json.dumps(STRUCTURED))


def test_extension_attributes_are_kept_and_ignored_by_the_envelope() -> None:
    """A `ce_` extension travels in the structured JSON; the envelope drops it; `ce_data` never replaces the data."""
    headers = (*kafka(), ("ce_traceparent", b"00-abc-01"), ("ce_data", b'{"site_id": "DP-9"}'),
               ("ce_not-a-name", b"x"))
    made = json.loads(structured_from_binary(headers, json.dumps(DATA).encode(), "kafka"))
    assert made["traceparent"] == "00-abc-01" and made["data"] == DATA and "not-a-name" not in made
    assert DECODE(json.dumps(made)) == DECODE(json.dumps(STRUCTURED))


def test_http_attribute_values_are_percent_decoded_and_kafka_ones_are_not() -> None:
    """Over HTTP `ce-` values are percent-encoded (the HTTP binding); on Kafka a `%` is a `%`."""
    data = dict(DATA, site_id="DP 1é%")
    http = binding_headers({"ce-specversion": "1.0", "ce-id": "ev-1", "ce-source": "/agencies/wfp/mli",
                            "ce-type": "distribution.recorded", "ce-time": "2012-07-01T10:00:00Z",
                            "ce-subject": "DP%201%C3%A9%25", "Content-Type": "application/json"}, "http")
    assert decoded(http, json.dumps(data).encode(), "http").subject == "DP 1é%"
    assert decoded(kafka(ce_subject="DP 1é%".encode()), json.dumps(data).encode()).subject == "DP 1é%"
    percent = dict(DATA, site_id="DP%201")
    assert decoded(kafka(ce_subject=b"DP%201"), json.dumps(percent).encode()).subject == "DP%201"


def test_a_bad_percent_encoding_over_http_is_an_invalid_value() -> None:
    """Percent-encoded bytes that are not UTF-8 are invalid_value, as a non-UTF-8 Kafka header."""
    headers = binding_headers([(b"ce-specversion", b"1.0"), (b"ce-subject", b"DP%FF")], "http")
    with pytest.raises(InvalidEventError) as info:
        structured_from_binary(headers, b"{}", "http")
    assert info.value.reason == "invalid_value" and "subject" in info.value.detail


@pytest.mark.parametrize(("headers", "binary"), [
    ([("ce_specversion", b"1.0")], True),
    ([("CE_SPECVERSION", b"1.0"), ("Content-Type", b"application/json; charset=utf-8")], True),
    ([("ce_specversion", b"1.0"), ("content-type", b"application/cloudevents+json")], False),
    ([("ce_specversion", b"1.0"), ("content-type", b" Application/CloudEvents+json; charset=utf-8")], False),
    ([("ce_specversion", b"1.0"), ("content-type", BATCH_CONTENT_TYPE.encode())], False),
    ([("ce_type", b"site.registered"), ("ce_id", b"x")], False),  # no specversion: structured, as before
    ([("content-type", b"application/json")], False),
    ([], False),
])
def test_which_messages_are_in_binary_mode(headers: list[tuple[str, bytes]], binary: bool) -> None:
    """Binary mode needs a `ce_specversion` header and a content type that is not a CloudEvents one."""
    assert is_binary(binding_headers(headers, "kafka"), "kafka") is binary


def test_binding_headers_keep_only_the_events_headers() -> None:
    """The `ce` headers and the content type are kept, names as sent; Authorization and the rest are not."""
    raw = [(b"Host", b"x"), (b"Authorization", b"Bearer secret"), (b"CE-Id", b"\xff1"), (b"Content-Type", b"a/b")]
    assert binding_headers(raw, "http") == (("CE-Id", b"\xff1"), ("Content-Type", b"a/b"))
    assert binding_headers({"ce_id": b"1", "ce-type": b"t", "trace": b"t", "ce_x": None}, "kafka") == (
        ("ce_id", b"1"), ("ce_x", b""))
    assert binding_headers(None, "kafka") == ()
    assert has_attributes(binding_headers([("CE_ID", b"1")], "kafka"), "kafka")
    assert not has_attributes(binding_headers([("content-type", b"application/json")], "kafka"), "kafka")


def test_readable_attributes_skip_what_cannot_be_read() -> None:
    """For naming a rejected message: the attributes that decode (the last of repeated ones), never an error."""
    headers = (*kafka(ce_source=b"\xff"), ("ce_id", b"ev-2"))
    attributes = readable_attributes(headers, "kafka")
    assert "source" not in attributes and attributes["id"] == "ev-2" and attributes["type"] == "distribution.recorded"


def sample_events(per_type: int) -> list[dict[str, Any]]:
    """The first `per_type` events of each type in the sample that the contract accepts, as JSON
    objects (the integration tests send them all)."""
    events, seen = [], Counter[str]()
    for line in require(SAMPLE / "events.jsonl").read_bytes().splitlines():
        try:
            kind = DECODE(line).type
        except InvalidEventError:
            continue
        seen[kind] += 1
        if seen[kind] <= per_type:
            events.append(json.loads(line))
    return events


def test_the_sdks_kafka_and_http_bindings_give_the_sample_events() -> None:
    """Events of the sample (50 of each type), written by the official SDK in binary and structured
    mode on Kafka and over HTTP, are the events of their lines: the same model, field by field."""
    fmt = JSONFormat()
    for structured in sample_events(per_type=50):
        expected = DECODE(json.dumps(structured))
        event = cloud_event(structured)
        on_kafka, over_http = ce_kafka.to_binary(event, fmt), ce_http.to_binary(event, fmt)
        kafka_headers = binding_headers(on_kafka.headers, "kafka")
        http_headers = binding_headers(over_http.headers, "http")
        assert is_binary(kafka_headers, "kafka") and is_binary(http_headers, "http")
        assert decoded(kafka_headers, on_kafka.value) == expected
        assert decoded(http_headers, over_http.body, "http") == expected
        assert DECODE(ce_kafka.to_structured(event, fmt).value) == expected
