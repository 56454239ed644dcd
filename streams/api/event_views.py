"""POST /events: a publisher's events, checked whole (streams.api.ingest), then published.

All or nothing: a body that cannot be read is a 400 and is kept as one reject; events
that break the contract are a 422 (403 when only their `source` is not the token's), each
named and kept on aid.rejects.v1, and nothing is published; else every event goes to
Kafka and the answer is 202 with their ids, or 503 when Kafka does not take them.

A request in CloudEvents binary content mode (`ce-` headers, the data as body) is one
event, answered the same way; its reject keeps its `ce-` and Content-Type headers.
"""

from __future__ import annotations

import logging

from aiohttp import web

from schemas.binary import binding_headers, is_binary
from schemas.exceptions import ApiError, BodyError
from streams.api.base import ApiContext, ApiView, json_response, read_body
from streams.api.ingest import Batch, Rejected, check_batch, check_binary, split_body
from streams.settings import TokenRecord

log = logging.getLogger("aidmon.api")


class Events(ApiView):
    """POST /events: publish events under the token's source."""

    async def post(self, request: web.Request) -> web.Response:
        token = self.caller(request, "publisher")
        body = await read_body(request, self.ctx.settings.max_body_bytes)
        headers = binding_headers(request.raw_headers, "http")
        if is_binary(headers, "http"):
            ctx = self.ctx
            return await _answer(ctx, token, check_binary(headers, body, ctx.decode, ctx.pseudonymiser, token), 1)
        return await _ingest(self.ctx, token, body, request.headers.get("Content-Type", "application/json"))


async def _ingest(ctx: ApiContext, token: TokenRecord, body: bytes, content_type: str) -> web.Response:
    try:
        items = split_body(body, content_type)
    except BodyError as exc:  # answered 400 by ApiView, once kept
        await ctx.keep_rejects([Rejected(-1, "unreadable_body", exc.detail, body)], token.name)
        ctx.metrics.rejects.labels("unreadable_body").inc()
        raise
    return await _answer(ctx, token, check_batch(items, ctx.decode, ctx.pseudonymiser, token), len(items))


async def _answer(ctx: ApiContext, token: TokenRecord, batch: Batch, count: int) -> web.Response:
    """202 once Kafka took every event of `batch`; else 422 or 403 naming the rejected ones, kept."""
    metrics = ctx.metrics
    if batch.rejected:
        await ctx.keep_rejects(batch.rejected, token.name)
        for rejected in batch.rejected:
            metrics.rejects.labels(rejected.reason).inc()
            metrics.events.labels(*metrics.raw_labels(rejected.described), "rejected").inc()
        status = batch.status
        detail = (f"{len(batch.rejected)} of {count} events rejected; nothing was published: "
                  "fix them and send the batch again")
        return json_response({"error": "forbidden" if status == 403 else "invalid_events", "detail": detail,
                              "accepted": 0, "rejected": [r.view() for r in batch.rejected]}, status)
    try:
        await ctx.publish(batch.accepted)
    except Exception as exc:
        log.warning("publishing %d events failed: %s", len(batch.accepted), type(exc).__name__)
        raise ApiError(503, "unavailable", "Kafka did not take the events; send them again",
                       {"Retry-After": "5"}) from None
    return json_response({"accepted": len(batch.accepted), "ids": [event.id for event, _ in batch.accepted]}, 202)
