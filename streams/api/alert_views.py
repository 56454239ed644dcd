"""The monitors' endpoints: alerts, their pages, one alert, its lifecycle, the live stream.

Each needs a monitor (or admin) token. A status change is recorded on the status topic
first and only then shown: the book applies it as every worker does, from its offset.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime

from aiohttp import web
from pydantic import ValidationError

from schemas.exceptions import ApiError
from schemas.lifecycle import StatusChange, StatusRequest, can_change
from streams.api.alert_book import AlertBook, Entry
from streams.api.base import ApiView, json_response, read_body, read_limit, read_query
from streams.api.follow import follow
from streams.settings import TokenRecord

log = logging.getLogger("aidmon.api")

STATUS_BODY_BYTES = 64 * 1024  # largest POST /alerts/{alert_id}/status body
GEOJSON = "application/geo+json"


class Stream(ApiView):
    """GET /alerts/stream: Server-Sent Events of new and changed alerts (streams.api.follow)."""

    async def get(self, request: web.Request) -> web.StreamResponse:
        self.caller(request, "monitor")
        query = read_query(request)
        return await follow(request, self.ctx.book, self.ctx.metrics, query)


class Alerts(ApiView):
    """GET /alerts: a page of alerts, newest first, and the cursor of the next."""

    async def get(self, request: web.Request) -> web.Response:
        self.caller(request, "monitor")
        query, limit = read_query(request), read_limit(request, self.ctx.settings.page_limit)
        entries, following = self.ctx.book.page(query, limit, request.query.get("cursor"))  # BadCursorError: 400
        return json_response({"alerts": [e.view() for e in entries], "next": following})


class OneAlert(ApiView):
    """GET /alerts/{alert_id}: one alert with its lifecycle history."""

    async def get(self, request: web.Request, alert_id: str) -> web.Response:
        self.caller(request, "monitor")
        return json_response(_known(self.ctx.book, alert_id).view(with_history=True))


class AlertContext(ApiView):
    """GET /alerts/{alert_id}/context: the alert's map, a GeoJSON FeatureCollection
    (`agents.context`): the zones in force when it was raised, and what the state holds
    of its subject. Empty until this worker's detection has a partition."""

    async def get(self, request: web.Request, alert_id: str) -> web.Response:
        self.caller(request, "monitor")
        entry = _known(self.ctx.book, alert_id)
        subject = entry.alert.get("subject") or {}
        found = await self.ctx.context(str(subject.get("kind")), str(subject.get("id")), entry.raised_at.timestamp())
        collection = found or {"type": "FeatureCollection", "features": []}
        return json_response({**collection, "alert_id": alert_id}, content_type=GEOJSON)


class ChangeStatus(ApiView):
    """POST /alerts/{alert_id}/status: a lifecycle change, kept as an audit record."""

    async def post(self, request: web.Request, alert_id: str) -> web.Response:
        token = self.caller(request, "monitor")
        wanted = _status_request(await read_body(request, STATUS_BODY_BYTES))
        entry = _known(self.ctx.book, alert_id)
        if not can_change(entry.status, wanted.status):
            raise ApiError(409, "conflict", f"an alert that is {entry.status} cannot become {wanted.status}")
        change = _change(alert_id, entry, wanted, token)
        try:
            offset = await self.ctx.record_change(change)
        except Exception as exc:
            log.warning("could not record a status change of %s: %s", alert_id, type(exc).__name__)
            raise ApiError(503, "unavailable", "the change was not recorded; try again",
                           {"Retry-After": "5"}) from None
        self.ctx.book.add_change(offset, change)
        return json_response(entry.view(with_history=True))


def _known(book: AlertBook, alert_id: str) -> Entry:
    entry = book.get(alert_id)
    if entry is None:
        raise ApiError(404, "not_found", "no alert with this id (this worker may still be loading: see /readyz)")
    return entry


def _status_request(body: bytes) -> StatusRequest:
    """The body as a status request: 400 if it is not JSON, 422 naming each problem if not one."""
    try:
        json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "bad_request", 'the body must be JSON: {"status": ..., "note": ...}') from None
    try:
        return StatusRequest.model_validate_json(body)
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
                    for e in exc.errors(include_url=False, include_input=False)]
        raise ApiError(422, "invalid_status_request", problems) from None


def _change(alert_id: str, entry: Entry, wanted: StatusRequest, token: TokenRecord) -> StatusChange:
    assert token.role != "publisher"
    return StatusChange(
        change_id=str(uuid.uuid4()), alert_id=alert_id, status=wanted.status, previous=entry.status,
        note=wanted.note, by=token.name, role=token.role, at=datetime.now(UTC),
    )
