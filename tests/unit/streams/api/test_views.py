"""The API's views on a Faust app's web server, without Kafka: tokens, errors as JSON with
their status and headers, the lifecycle, POST /events, the stream, metrics per route."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import faust
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request
from prometheus_client import CollectorRegistry

from schemas.decode import Decoder
from schemas.envelope import BATCH_CONTENT_TYPE
from schemas.events import Event
from schemas.exceptions import ApiError
from schemas.lifecycle import StatusChange
from schemas.privacy import Pseudonymiser
from streams.api.access import digest
from streams.api.alert_book import AlertBook
from streams.api.base import DEFAULT_LIMIT, read_limit
from streams.api.ingest import Rejected
from streams.api.views import ApiContext, register_api
from streams.outputs.metrics import create
from streams.settings import ApiSettings, TokenRecord
from tests.unit.streams.api.test_alert_book import alert
from tests.unit.streams.api.test_ingest import distribution

PSEUDONYMISER = Pseudonymiser(b"unit-test-secret-0123456789")
TOKENS = {"publisher": "pub-token", "monitor": "mon-token", "admin": "adm-token"}
RECORDS = (
    TokenRecord(name="wfp", role="publisher", source="/agencies/wfp/mli", sha256=digest(TOKENS["publisher"])),
    TokenRecord(name="ops", role="monitor", sha256=digest(TOKENS["monitor"])),
    TokenRecord(name="root", role="admin", sha256=digest(TOKENS["admin"])),
)


@dataclass
class Worker:
    """What the views see of a worker, with what they sent it."""

    settings: ApiSettings = field(default_factory=lambda: ApiSettings(tokens=RECORDS))
    book: AlertBook = field(default_factory=AlertBook)
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    checks: dict[str, bool] = field(default_factory=lambda: {"assigned": True})
    published: list[Event] = field(default_factory=list)
    rejects: list[tuple[Rejected, str]] = field(default_factory=list)
    kafka_down: bool = False
    broken: bool = False  # readiness raises, as a bug would
    no_partition: bool = False  # the detection holds no partition yet: no map
    maps_asked: list[tuple[str, str, float]] = field(default_factory=list)

    def context(self) -> ApiContext:
        return ApiContext(self.settings, self.book, create(self.registry), self.registry, Decoder(PSEUDONYMISER),
                          PSEUDONYMISER, self.readiness, self.publish, self.keep_rejects, self.record, self.context_of)

    async def context_of(self, kind: str, subject_id: str, at: float) -> dict[str, Any] | None:
        self.maps_asked.append((kind, subject_id, at))
        return None if self.no_partition else {"type": "FeatureCollection", "at": "x", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1.0, 2.0]},
             "properties": {"role": "site", "site_id": subject_id}}]}

    def readiness(self) -> dict[str, bool]:
        if self.broken:
            raise RuntimeError("a bug")
        return dict(self.checks)

    async def publish(self, accepted: list[tuple[Event, bytes]]) -> None:
        if self.kafka_down:
            raise ConnectionError("no broker")
        self.published += [event for event, _ in accepted]

    async def keep_rejects(self, rejected: list[Rejected], name: str) -> None:
        self.rejects += [(r, name) for r in rejected]

    async def record(self, change: StatusChange) -> int:
        if self.kafka_down:
            raise ConnectionError("no broker")
        return 7

    def served(self, scenario: Callable[[TestClient[Any, Any]], Awaitable[None]]) -> None:
        """Run `scenario` against a Faust app's web server with the API registered."""
        app = faust.App("unit-api", broker="memory://")
        register_api(app, self.context())

        async def run() -> None:
            async with TestClient(TestServer(app.web.web_app)) as client:  # type: ignore[attr-defined]
                await scenario(client)

        asyncio.run(run())

    def requests(self, route: str, code: str) -> float:
        value = self.registry.get_sample_value("aidmon_http_requests_total",
                                               {"route": route, "method": "GET", "code": code})
        return value or 0.0


def bearer(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


async def answer(response: ClientResponse) -> tuple[int, Any]:
    return response.status, await response.json()


@pytest.mark.parametrize("raw", ["²", "١", "１", "9" * 5000, "0", "-1", "+5", " 5", "ten", "1001", ""])
def test_a_limit_other_than_ascii_digits_in_range_is_400(raw: str) -> None:
    """`limit` is ASCII digits from 1 to the page limit; anything else (superscripts and other
    Unicode digits, more digits than int() reads) is a 400, never a 500."""
    request = make_mocked_request("GET", "/alerts", headers={})
    request = request.clone(rel_url=request.rel_url.with_query(limit=raw))
    with pytest.raises(ApiError) as info:
        read_limit(request, 1000)
    assert (info.value.status, info.value.error) == (400, "bad_request")


@pytest.mark.parametrize(("query", "largest", "expected"), [
    ({}, 1000, DEFAULT_LIMIT), ({}, 10, 10), ({"limit": "1"}, 1000, 1), ({"limit": "0042"}, 1000, 42),
    ({"limit": "1000"}, 1000, 1000),
])
def test_a_valid_limit_is_read(query: dict[str, str], largest: int, expected: int) -> None:
    """No `limit` is the default page (at most the largest); ASCII digits are read as given."""
    request = make_mocked_request("GET", "/alerts", headers={})
    request = request.clone(rel_url=request.rel_url.with_query(query))
    assert read_limit(request, largest) == expected


def test_open_endpoints_answer_without_a_token_and_metrics_label_the_route() -> None:
    """/healthz, /readyz, /metrics and /openapi.json need no token; requests count by route template."""
    worker = Worker(checks={"assigned": True, "loaded": False})

    async def scenario(client: TestClient[Any, Any]) -> None:
        assert await answer(await client.get("/healthz")) == (200, {"ready": False, "checks": {"alive": True}})
        assert await answer(await client.get("/readyz")) == (503, {"ready": False,
                                                                   "checks": {"assigned": True, "loaded": False}})
        document = await client.get("/openapi.json")
        assert document.status == 200 and "/alerts/{alert_id}/status" in (await document.json())["paths"]
        await client.get("/alerts/some-id", headers=bearer("monitor"))
        metrics = await client.get("/metrics")
        assert metrics.status == 200 and "aidmon_http_requests_total{" in await metrics.text()

    worker.served(scenario)
    assert worker.requests("/healthz", "200") == 1 and worker.requests("/readyz", "503") == 1
    assert worker.requests("/alerts/{alert_id}", "404") == 1


@pytest.mark.parametrize(("headers", "status", "error"), [
    ({}, 401, "unauthorized"), ({"Authorization": "Bearer nope"}, 401, "unauthorized"),
    (bearer("publisher"), 403, "forbidden"),
])
def test_tokens_are_checked_first(headers: dict[str, str], status: int, error: str) -> None:
    """No token or an unknown one is 401 with a Bearer challenge; a publisher reading alerts is 403."""
    async def scenario(client: TestClient[Any, Any]) -> None:
        response = await client.get("/alerts", headers=headers)
        code, shown = await answer(response)
        assert (code, shown["error"], set(shown)) == (status, error, {"error", "detail"})
        assert ("WWW-Authenticate" in response.headers) == (status == 401)

    Worker().served(scenario)


@pytest.mark.parametrize(("path", "status"), [
    ("/alerts?typology=none", 400), ("/alerts?limit=%C2%B2", 400), ("/alerts?cursor=@@", 400),
    ("/alerts/stream?since=yesterday", 400), ("/alerts/unknown", 404), ("/alerts?limit=2", 200),
])
def test_monitor_reads_and_their_errors(path: str, status: int) -> None:
    """Bad filters, limits and cursors are 400 `bad_request`, an unknown alert 404, as JSON."""
    worker = Worker()
    for n in range(3):
        worker.book.add_alert(alert(n))

    async def scenario(client: TestClient[Any, Any]) -> None:
        code, body = await answer(await client.get(path, headers=bearer("monitor")))
        assert code == status
        if status == 200:
            assert len(body["alerts"]) == 2 and body["next"]
        else:
            assert body["error"] == {400: "bad_request", 404: "not_found"}[status] and body["detail"]

    worker.served(scenario)


@pytest.mark.parametrize(("body", "status", "error"), [
    (b"{not json", 400, "bad_request"), (b'{"status": "open"}', 422, "invalid_status_request"),
    (b'{"status": "resolved"}', 200, None),
])
def test_status_changes(body: bytes, status: int, error: str | None) -> None:
    """A status change is JSON (400), a status request (422), then recorded and shown with its history."""
    worker = Worker()
    worker.book.add_alert(alert(1))

    async def scenario(client: TestClient[Any, Any]) -> None:
        code, shown = await answer(await client.post("/alerts/id-001/status", data=body, headers=bearer("monitor")))
        assert code == status
        if error is None:
            assert shown["status"] == "resolved" and shown["history"][0]["by"] == "ops"
        else:
            assert shown["error"] == error

    worker.served(scenario)


@pytest.mark.parametrize("no_partition", [False, True])
def test_an_alerts_map_is_asked_of_the_detection_for_its_subject_and_time(no_partition: bool) -> None:
    """GET /alerts/{id}/context: the detection's map of the alert's subject at its raise
    time, as GeoJSON with the alert's id; an empty collection while it has no partition."""
    worker = Worker(no_partition=no_partition)
    worker.book.add_alert(alert(4))

    async def scenario(client: TestClient[Any, Any]) -> None:
        response = await client.get("/alerts/id-004/context", headers=bearer("monitor"))
        assert response.status == 200 and response.content_type == "application/geo+json"
        shown = await response.json()
        assert shown["type"] == "FeatureCollection" and shown["alert_id"] == "id-004"
        assert [f["properties"]["site_id"] for f in shown["features"]] == ([] if no_partition else ["SHP-1"])
        missing = await client.get("/alerts/id-999/context", headers=bearer("monitor"))
        assert missing.status == 404
        assert (await client.get("/alerts/id-004/context")).status == 401

    worker.served(scenario)
    assert worker.maps_asked == [("shipment", "SHP-1", 1341100800.0)]


def test_a_change_kafka_does_not_take_is_503_with_retry_after_and_a_conflict_is_409() -> None:
    """Kafka down: 503 with Retry-After and nothing changed; an impossible change: 409."""
    worker = Worker(kafka_down=True)
    worker.book.add_alert(alert(1))

    async def scenario(client: TestClient[Any, Any]) -> None:
        response = await client.post("/alerts/id-001/status", json={"status": "resolved"}, headers=bearer("admin"))
        assert response.status == 503 and response.headers["Retry-After"] == "5"
        assert (await response.json())["error"] == "unavailable"
        worker.kafka_down = False
        await client.post("/alerts/id-001/status", json={"status": "resolved"}, headers=bearer("admin"))
        again = await client.post("/alerts/id-001/status", json={"status": "dismissed"}, headers=bearer("admin"))
        assert (again.status, (await again.json())["error"]) == (409, "conflict")

    worker.served(scenario)


def test_events_are_published_all_or_nothing() -> None:
    """Good events are 202 with their ids; an unreadable body is 400 and kept; a bad event 422, nothing sent."""
    worker = Worker()
    good = [distribution("a"), distribution("b")]

    async def scenario(client: TestClient[Any, Any]) -> None:
        post = client.post
        assert await answer(await post("/events", json=good, headers=bearer("publisher"))) == (
            202, {"accepted": 2, "ids": ["a", "b"]})
        unreadable = await post("/events", data=b"[1, ", headers=bearer("publisher"))
        assert unreadable.status == 400 and (await unreadable.json())["error"] == "bad_request"
        bad = await post("/events", json=[distribution("c"), {"id": "d"}], headers=bearer("publisher"))
        code, shown = await answer(bad)
        assert (code, shown["error"], shown["accepted"]) == (422, "invalid_events", 0)
        assert [r["index"] for r in shown["rejected"]] == [1]

    worker.served(scenario)
    assert [event.id for event in worker.published] == ["a", "b"]
    assert [(r.index, name) for r, name in worker.rejects] == [(-1, "wfp"), (1, "wfp")]
    assert worker.rejects[0][0].reason == "unreadable_body"


def test_a_cloudevents_batch_is_answered_as_an_array() -> None:
    """Content-Type application/cloudevents-batch+json: a JSON array checked event by event (a bad
    one named by index, nothing sent; all good: 202); an object under that type is a 400, kept."""
    worker = Worker()
    batch_type = {**bearer("publisher"), "Content-Type": BATCH_CONTENT_TYPE}

    async def scenario(client: TestClient[Any, Any]) -> None:
        post = client.post
        document = await (await client.get("/openapi.json")).json()
        content = document["paths"]["/events"]["post"]["requestBody"]["content"]
        assert content[BATCH_CONTENT_TYPE]["schema"]["type"] == "array"
        bad = [distribution("a"), {"id": "b", "type": "distribution.recorded"}, distribution("c")]
        code, shown = await answer(await post("/events", data=json.dumps(bad), headers=batch_type))
        assert (code, shown["error"], shown["accepted"]) == (422, "invalid_events", 0)
        assert [(r["index"], r["id"]) for r in shown["rejected"]] == [(1, "b")]
        good = json.dumps([distribution("a"), distribution("c")])
        assert await answer(await post("/events", data=good, headers=batch_type)) == (
            202, {"accepted": 2, "ids": ["a", "c"]})
        code, shown = await answer(await post("/events", data=json.dumps(distribution("d")), headers=batch_type))
        assert (code, shown["error"]) == (400, "bad_request")
        assert "a batch is a JSON array of events" in shown["detail"]

    worker.served(scenario)
    assert [event.id for event in worker.published] == ["a", "c"]
    assert [(r.index, r.reason) for r, _ in worker.rejects] == [(1, "missing_field"), (-1, "unreadable_body")]


def test_events_kafka_does_not_take_are_503_and_a_body_over_the_limit_413() -> None:
    """Kafka down: 503 with Retry-After; a body over api.max_body_bytes: 413."""
    worker = Worker(settings=ApiSettings(tokens=RECORDS, max_body_bytes=2048), kafka_down=True)

    async def scenario(client: TestClient[Any, Any]) -> None:
        down = await client.post("/events", json=distribution("a"), headers=bearer("publisher"))
        assert down.status == 503 and down.headers["Retry-After"] == "5"
        large = await client.post("/events", data=b" " * 4096, headers=bearer("publisher"))
        assert large.status == 413 and "larger than 2048 bytes" in (await large.json())["detail"]

    worker.served(scenario)


def test_an_unexpected_failure_is_a_500_in_json() -> None:
    """A view that fails unexpectedly answers 500 `internal_error`, and the next request is served."""
    worker = Worker(broken=True)

    async def scenario(client: TestClient[Any, Any]) -> None:
        assert await answer(await client.get("/readyz")) == (500, {
            "error": "internal_error", "detail": "the worker failed to answer; see its log"})
        assert (await client.get("/metrics")).status == 200

    worker.served(scenario)
    assert worker.requests("/readyz", "500") == 1


def test_the_stream_sends_matching_alerts_then_ends() -> None:
    """GET /alerts/stream: retry and a comment, then each matching alert as `event: alert`, then `end`."""
    worker = Worker()

    async def scenario(client: TestClient[Any, Any]) -> None:
        response = await client.get("/alerts/stream?severity=high", headers=bearer("monitor"))
        assert response.status == 200 and response.headers["Content-Type"] == "text/event-stream"
        assert await response.content.readuntil(b"\n\n") == b"retry: 3000\n: following alerts\n\n"
        worker.book.add_alert(alert(1, severity="medium"))
        worker.book.add_alert(alert(2, severity="high"))
        frame = (await response.content.readuntil(b"\n\n")).decode()
        assert frame.startswith("id: id-002\nevent: alert\ndata: ") and frame.endswith("\n\n")
        assert json.loads(frame.split("data: ", 1)[1])["status"] == "open"
        worker.book.close()  # the worker stops
        assert await response.content.read() == b"event: end\ndata: {}\n\n"

    worker.served(scenario)
    assert worker.registry.get_sample_value("aidmon_sse_clients") == 0
