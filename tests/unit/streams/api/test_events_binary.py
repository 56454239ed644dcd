"""POST /events in CloudEvents binary content mode (contract 1.1): one event in `ce-` headers
and a body of data, answered as its structured form would be; a rejected one kept with its
headers (never the Authorization header)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.formats.json import JSONFormat

from schemas.binary import binding_headers
from schemas.decode import Decoder
from streams.api.ingest import check_binary
from tests.unit.schemas.test_binary import STRUCTURED, cloud_event
from tests.unit.streams.api.test_ingest import PUBLISHER
from tests.unit.streams.api.test_views import PSEUDONYMISER, TOKENS, Worker, answer, bearer

FORMAT = JSONFormat()


def binary(**changes: str | None) -> tuple[dict[str, str], bytes]:
    """The SDK's HTTP binary message of STRUCTURED (headers, body); a change of None drops a header."""
    message = ce_http.to_binary(cloud_event(STRUCTURED), FORMAT)
    headers = {**message.headers, **{k: v for k, v in changes.items() if v is not None}}
    return {k: v for k, v in headers.items() if changes.get(k, "") is not None}, message.body


def test_binary_and_structured_requests_publish_the_same_event() -> None:
    """The SDK's binary and structured requests are both 202 with the event's id, and publish the same event."""
    worker = Worker()
    headers, body = binary()
    structured = ce_http.to_structured(cloud_event(STRUCTURED), FORMAT)

    async def scenario(client: TestClient[Any, Any]) -> None:
        sent = await client.post("/events", data=body, headers={**headers, **bearer("publisher")})
        assert await answer(sent) == (202, {"accepted": 1, "ids": ["ev-1"]})
        sent = await client.post("/events", data=structured.body, headers={**structured.headers, **bearer("publisher")})
        assert await answer(sent) == (202, {"accepted": 1, "ids": ["ev-1"]})

    worker.served(scenario)
    expected = Decoder(PSEUDONYMISER)(json.dumps(STRUCTURED))
    assert worker.published == [expected, expected] and not worker.rejects


@pytest.mark.parametrize(("changes", "body", "code", "reason"), [
    ({"ce-type": None}, None, 422, "missing_field"),
    ({}, b"{not json", 422, "not_json"),  # the event's data is bad, not the request: judged, not a 400
    ({}, b"", 422, "missing_field"),
    ({"content-type": "text/plain"}, None, 422, "invalid_value"),
    ({"ce-subject": "DP-2"}, None, 422, "subject_mismatch"),
    ({"ce-source": "/agencies/unicef/mli"}, None, 403, "source_not_allowed"),
])
def test_a_rejected_binary_request_is_named_and_kept_with_its_headers(
    changes: dict[str, str | None], body: bytes | None, code: int, reason: str
) -> None:
    """A bad binary-mode event is answered as its structured form would be (index 0, its `ce-id`),
    nothing is published, and the reject keeps the body and the `ce-` and Content-Type headers."""
    worker = Worker()
    headers, data = binary(**changes)
    sent_body = data if body is None else body

    async def scenario(client: TestClient[Any, Any]) -> None:
        code_and_shown = await answer(await client.post(
            "/events", data=sent_body, headers={**headers, **bearer("publisher")}))
        assert code_and_shown[0] == code
        assert [(r["index"], r["id"], r["reason"]) for r in code_and_shown[1]["rejected"]] == [(0, "ev-1", reason)]

    worker.served(scenario)
    assert not worker.published
    [(rejected, name)] = worker.rejects
    assert (rejected.raw, name) == (sent_body, "wfp")
    kept = {header.lower() for header, _ in rejected.headers}
    assert kept == {header.lower() for header in headers}
    assert "authorization" not in kept
    source = changes.get("ce-source") or STRUCTURED["source"]
    labels = {"type": "distribution.recorded", "source": source, "outcome": "rejected"}
    if "ce-type" in changes:
        labels["type"] = "unknown"
    assert worker.registry.get_sample_value("aidmon_events_total", labels) == 1


def test_a_binary_event_is_published_in_structured_form_without_the_raw_id() -> None:
    """What goes to Kafka is the event's structured JSON, its raw beneficiary id already a token."""
    headers, body = binary()
    batch = check_binary(binding_headers(headers.items(), "http"), body, Decoder(PSEUDONYMISER), PSEUDONYMISER,
                         PUBLISHER)
    [(event, value)] = batch.accepted
    assert b"MLI-GOU-1" not in value
    published = json.loads(value)
    assert published["data"]["beneficiary"] == PSEUDONYMISER("MLI-GOU-1") and published["type"] == event.type


def test_a_header_that_is_not_utf8_is_a_named_reject_kept_in_base64() -> None:
    """A `ce-` header of raw non-UTF-8 bytes (sent on a socket: HTTP clients refuse them) is a
    422 naming the attribute; the reject keeps the header's exact bytes."""
    worker = Worker()
    headers, body = binary(**{"ce-source": None})
    lines = [f"{name}: {value}".encode() for name, value in headers.items()]
    request = b"\r\n".join([
        b"POST /events HTTP/1.1", b"Host: test", f"Authorization: Bearer {TOKENS['publisher']}".encode(), *lines,
        b"ce-source: /agencies/wfp/mli\xff", f"Content-Length: {len(body)}".encode(), b"Connection: close", b"", body])

    async def scenario(client: TestClient[Any, Any]) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
        writer.write(request)
        await writer.drain()
        status, _, _ = (await reader.read()).partition(b"\r\n")
        writer.close()
        assert status == b"HTTP/1.1 422 Unprocessable Entity"

    worker.served(scenario)
    [(rejected, _)] = worker.rejects
    assert rejected.reason == "invalid_value"
    assert rejected.detail == "source: header ce-source is not percent-encoded UTF-8"
    assert ("ce-source", b"/agencies/wfp/mli\xff") in rejected.headers
