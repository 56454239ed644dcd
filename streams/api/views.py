"""The HTTP API on the worker's web port (Faust's web server), described at /openapi.json.

    open       GET /healthz  /readyz  /metrics  /openapi.json
    monitor    GET /alerts  /alerts/stream  /alerts/{alert_id}   POST /alerts/{alert_id}/status
    publisher  POST /events

Views are thin: check the token, read the request, call the alert book or the worker's
senders (`ApiContext`), answer JSON. Every failure is a JSON `{"error", "detail"}` with
its status; an unexpected exception is logged and answered 500, never a crash.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import faust
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import ValidationError

from schemas.alerts import SEVERITIES, TYPOLOGIES
from schemas.decode import Decoder
from schemas.events import Event
from schemas.exceptions import ApiError, BodyError
from schemas.lifecycle import STATUSES, StatusChange, StatusRequest, can_change
from schemas.privacy import Pseudonymiser
from streams.api.access import Access
from streams.api.alert_book import AlertBook, Entry, Query
from streams.api.ingest import Rejected, check_batch, split_body
from streams.api.openapi import openapi_document
from streams.outputs.metrics import Metrics
from streams.settings import ApiSettings, TokenRecord

log = logging.getLogger("aidmon.api")

DEFAULT_LIMIT = 100
KEEPALIVE_SECONDS = 15.0


@dataclass
class ApiContext:
    """What the views need from the worker."""

    settings: ApiSettings
    book: AlertBook
    metrics: Metrics
    registry: CollectorRegistry
    decode: Decoder
    pseudonymiser: Pseudonymiser
    readiness: Callable[[], dict[str, bool]]
    publish: Callable[[list[tuple[Event, bytes]]], Awaitable[None]]  # raises when Kafka does not take them
    keep_rejects: Callable[[list[Rejected], str], Awaitable[None]]  # to aid.rejects.v1, with the token's name
    record_change: Callable[[StatusChange], Awaitable[int]]  # the change's offset on the status topic


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(data, status=status, headers=headers, dumps=lambda v: json.dumps(v, ensure_ascii=False))


def _query(request: web.Request) -> Query:
    params = request.query
    for name, allowed in (("typology", TYPOLOGIES), ("severity", SEVERITIES), ("status", STATUSES)):
        value = params.get(name)
        if value is not None and value not in allowed:
            raise ApiError(400, "bad_request", f"{name} must be one of {', '.join(allowed)}")
    since = params.get("since")
    since_at = None
    if since is not None:
        try:
            since_at = datetime.fromisoformat(since)
        except ValueError:
            raise ApiError(400, "bad_request", "since must be an RFC 3339 time, e.g. 2012-07-03T08:15:00Z") from None
        if since_at.tzinfo is None:
            raise ApiError(400, "bad_request", "since needs an offset, e.g. 2012-07-03T08:15:00Z")
    subject = params.get("subject")
    if subject == "":
        raise ApiError(400, "bad_request", "subject must not be empty")
    return Query(params.get("typology"), params.get("severity"), params.get("status"), subject, since_at)


def _limit(request: web.Request, largest: int) -> int:
    raw = request.query.get("limit")
    if raw is None:
        return min(DEFAULT_LIMIT, largest)
    if not raw.isdigit() or not 1 <= int(raw) <= largest:
        raise ApiError(400, "bad_request", f"limit must be an integer from 1 to {largest}")
    return int(raw)


async def _read_body(request: web.Request, largest: int) -> bytes:
    if request.content_length is not None and request.content_length > largest:
        raise ApiError(413, "too_large", f"the body is larger than {largest} bytes; split it")
    chunks, size = [], 0
    while chunk := await request.content.read(64 * 1024):  # what has arrived, up to 64 KiB; b"" at the end
        size += len(chunk)
        if size > largest:
            raise ApiError(413, "too_large", f"the body is larger than {largest} bytes; split it")
        chunks.append(chunk)
    return b"".join(chunks)


def register_api(app: faust.App, ctx: ApiContext) -> None:
    """Add the API's views to the Faust app's web server."""
    access = Access(ctx.settings.tokens)
    metrics = ctx.metrics

    class ApiView(faust.web.View):
        template = ""  # the route, as the metrics label it

        async def dispatch(self, request: Any) -> Any:
            handler = self.methods[request.method.lower()]
            try:
                response = await handler(request, **request.match_info)
            except ApiError as exc:
                response = _json({"error": exc.error, "detail": exc.detail}, exc.status, exc.headers)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s %s failed", request.method, self.template)
                response = _json({"error": "internal_error", "detail": "the worker failed to answer; see its log"},
                                 500)
            metrics.http_requests.labels(self.template, request.method, str(response.status)).inc()
            return response

    def page(path: str) -> Callable[[type[ApiView]], type[ApiView]]:
        def register(view: type[ApiView]) -> type[ApiView]:
            view.template = path
            return app.page(path, name=view.__name__)(view)  # type: ignore[return-value]

        return register

    @page("/healthz")
    class Health(ApiView):
        async def get(self, request: web.Request) -> web.Response:
            return _json({"ready": all(ctx.readiness().values()), "checks": {"alive": True}})

    @page("/readyz")
    class Ready(ApiView):
        async def get(self, request: web.Request) -> web.Response:
            checks = ctx.readiness()
            ready = all(checks.values())
            return _json({"ready": ready, "checks": checks}, 200 if ready else 503)

    @page("/metrics")
    class MetricsPage(ApiView):
        async def get(self, request: web.Request) -> web.Response:
            body = generate_latest(ctx.registry)
            return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    document = openapi_document()

    @page("/openapi.json")
    class OpenApi(ApiView):
        async def get(self, request: web.Request) -> web.Response:
            return _json(document)

    @page("/alerts/stream")
    class Stream(ApiView):
        async def get(self, request: web.Request) -> web.StreamResponse:
            access.check(request.headers.get("Authorization"), "monitor")
            query = _query(request)
            return await _follow(request, ctx, query)

    @page("/alerts")
    class Alerts(ApiView):
        async def get(self, request: web.Request) -> web.Response:
            access.check(request.headers.get("Authorization"), "monitor")
            query, limit = _query(request), _limit(request, ctx.settings.page_limit)
            entries, following = ctx.book.page(query, limit, request.query.get("cursor"))  # BadCursorError: 400
            return _json({"alerts": [e.view() for e in entries], "next": following})

    def _known(alert_id: str) -> Entry:
        entry = ctx.book.get(alert_id)
        if entry is None:
            raise ApiError(404, "not_found", "no alert with this id (this worker may still be loading: see /readyz)")
        return entry

    @page("/alerts/{alert_id}")
    class OneAlert(ApiView):
        async def get(self, request: web.Request, alert_id: str) -> web.Response:
            access.check(request.headers.get("Authorization"), "monitor")
            return _json(_known(alert_id).view(with_history=True))

    @page("/alerts/{alert_id}/status")
    class ChangeStatus(ApiView):
        async def post(self, request: web.Request, alert_id: str) -> web.Response:
            token = access.check(request.headers.get("Authorization"), "monitor")
            body = await _read_body(request, 64 * 1024)
            try:
                json.loads(body)
            except (ValueError, UnicodeDecodeError):
                raise ApiError(400, "bad_request", 'the body must be JSON: {"status": ..., "note": ...}') from None
            try:
                wanted = StatusRequest.model_validate_json(body)
            except ValidationError as exc:
                problems = [f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
                            for e in exc.errors(include_url=False, include_input=False)]
                raise ApiError(422, "invalid_status_request", problems) from None
            entry = _known(alert_id)
            if not can_change(entry.status, wanted.status):
                raise ApiError(409, "conflict", f"an alert that is {entry.status} cannot become {wanted.status}")
            change = _change(alert_id, entry, wanted, token)
            try:
                offset = await ctx.record_change(change)
            except Exception as exc:
                log.warning("could not record a status change of %s: %s", alert_id, type(exc).__name__)
                raise ApiError(503, "unavailable", "the change was not recorded; try again",
                               {"Retry-After": "5"}) from None
            ctx.book.add_change(offset, change)
            return _json(entry.view(with_history=True))

    @page("/events")
    class Events(ApiView):
        async def post(self, request: web.Request) -> web.Response:
            token = access.check(request.headers.get("Authorization"), "publisher")
            body = await _read_body(request, ctx.settings.max_body_bytes)
            return await _ingest(ctx, token, body, request.headers.get("Content-Type", "application/json"))


def _change(alert_id: str, entry: Entry, wanted: StatusRequest, token: TokenRecord) -> StatusChange:
    assert token.role != "publisher"
    return StatusChange(
        change_id=str(uuid.uuid4()), alert_id=alert_id, status=wanted.status, previous=entry.status,
        note=wanted.note, by=token.name, role=token.role, at=datetime.now(UTC),
    )


async def _ingest(ctx: ApiContext, token: TokenRecord, body: bytes, content_type: str) -> web.Response:
    metrics = ctx.metrics
    try:
        items = split_body(body, content_type)
    except BodyError as exc:
        await ctx.keep_rejects([Rejected(-1, "unreadable_body", str(exc.detail), body)], token.name)
        metrics.rejects.labels("unreadable_body").inc()
        raise
    batch = check_batch(items, ctx.decode, ctx.pseudonymiser, token)
    if batch.rejected:
        await ctx.keep_rejects(batch.rejected, token.name)
        for rejected in batch.rejected:
            metrics.rejects.labels(rejected.reason).inc()
            metrics.events.labels(*metrics.raw_labels(rejected.raw), "rejected").inc()
        status = batch.status
        detail = (f"{len(batch.rejected)} of {len(items)} events rejected; nothing was published: "
                  "fix them and send the batch again")
        return _json({"error": "forbidden" if status == 403 else "invalid_events", "detail": detail,
                      "accepted": 0, "rejected": [r.view() for r in batch.rejected]}, status)
    try:
        await ctx.publish(batch.accepted)
    except Exception as exc:
        log.warning("publishing %d events failed: %s", len(batch.accepted), type(exc).__name__)
        raise ApiError(503, "unavailable", "Kafka did not take the events; send them again",
                       {"Retry-After": "5"}) from None
    return _json({"accepted": len(batch.accepted), "ids": [event.id for event, _ in batch.accepted]}, 202)


async def _follow(request: web.Request, ctx: ApiContext, query: Query) -> web.StreamResponse:
    """Server-Sent Events until the client leaves, the worker stops, or the client falls behind."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
    queue = ctx.book.subscribe()  # before the headers go: a client that has them misses nothing after
    ctx.metrics.sse_clients.inc()
    try:
        await response.prepare(request)
        await response.write(b"retry: 3000\n: following alerts\n\n")
        while True:
            try:
                entry = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if entry is None:  # dropped (too slow) or the worker stops
                await response.write(b"event: end\ndata: {}\n\n")
                break
            if query.matches(entry):
                data = json.dumps(entry.view(), ensure_ascii=False)
                await response.write(f"id: {entry.alert['alert_id']}\nevent: alert\ndata: {data}\n\n".encode())
    except (ConnectionResetError, ConnectionError):
        pass  # the client went away
    finally:
        ctx.book.unsubscribe(queue)
        ctx.metrics.sse_clients.dec()
    return response
