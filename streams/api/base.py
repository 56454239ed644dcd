"""What every view of the HTTP API shares: the worker's `ApiContext`, the `ApiView` base
that answers errors as JSON and counts requests, and the readers of query and body.

A view's handler raises `ApiError` (or a subclass: `BodyError`, `BadCursorError`) for any
answer but success; `ApiView.dispatch` turns it into `{"error", "detail"}` with its status
and headers, and an unexpected exception into a logged 500, never a crash.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from aiohttp import web
from faust.web import View
from prometheus_client import CollectorRegistry

from schemas.alerts import SEVERITIES, TYPOLOGIES
from schemas.decode import Decoder
from schemas.events import Event
from schemas.exceptions import ApiError
from schemas.lifecycle import STATUSES, StatusChange
from schemas.privacy import Pseudonymiser
from streams.api.access import Access
from streams.api.alert_book import AlertBook, Query
from streams.api.ingest import Rejected
from streams.outputs.metrics import Metrics
from streams.settings import ApiSettings, Role, TokenRecord

log = logging.getLogger("aidmon.api")

DEFAULT_LIMIT = 100  # page size of GET /alerts without `limit` (at most api.page_limit)


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
    context: Callable[[str, str, float], Awaitable[dict[str, Any] | None]]  # (kind, subject id, at) -> a map


class ApiView(View):
    """A view of the API. `register_api` binds it to one worker: it registers a subclass
    with `ctx` and `access` set; the metrics label a request with the route template."""

    ctx: ClassVar[ApiContext]
    access: ClassVar[Access]

    async def dispatch(self, request: Any) -> Any:
        handler = self.methods[request.method.lower()]
        try:
            response = await handler(request, **request.match_info)
        except ApiError as exc:
            response = json_response({"error": exc.error, "detail": exc.detail}, exc.status, exc.headers)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s %s failed", request.method, self.view_path)
            response = json_response({"error": "internal_error", "detail": "the worker failed to answer; see its log"},
                                     500)
        self.ctx.metrics.http_requests.labels(self.view_path, request.method, str(response.status)).inc()
        return response

    def caller(self, request: web.Request, *roles: Role) -> TokenRecord:
        """The record of the request's bearer token if it holds one of `roles`; else 401 or 403."""
        return self.access.check(request.headers.get("Authorization"), *roles)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None,
                  content_type: str = "application/json") -> web.Response:
    return web.json_response(data, status=status, headers=headers, content_type=content_type,
                             dumps=lambda v: json.dumps(v, ensure_ascii=False))


def read_query(request: web.Request) -> Query:
    """The filters of GET /alerts and /alerts/stream; 400 for one that is not valid."""
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


def read_limit(request: web.Request, largest: int) -> int:
    """The page size: `limit` in ASCII digits, from 1 to `largest`; 400 otherwise."""
    raw = request.query.get("limit")
    if raw is None:
        return min(DEFAULT_LIMIT, largest)
    limit = _whole_number(raw)
    if limit is None or not 1 <= limit <= largest:
        raise ApiError(400, "bad_request", f"limit must be an integer from 1 to {largest}")
    return limit


def _whole_number(text: str) -> int | None:
    # str.isdigit also holds for '²' and other Unicode digits, which int() refuses or reads
    if not (text.isascii() and text.isdigit()):
        return None
    try:
        return int(text)
    except ValueError:  # more digits than int() reads from a string (4300)
        return None


async def read_body(request: web.Request, largest: int) -> bytes:
    """The whole body, read as it arrives; 413 as soon as it passes `largest` bytes."""
    if request.content_length is not None and request.content_length > largest:
        raise ApiError(413, "too_large", f"the body is larger than {largest} bytes; split it")
    chunks, size = [], 0
    while chunk := await request.content.read(64 * 1024):  # what has arrived, up to 64 KiB; b"" at the end
        size += len(chunk)
        if size > largest:
            raise ApiError(413, "too_large", f"the body is larger than {largest} bytes; split it")
        chunks.append(chunk)
    return b"".join(chunks)
