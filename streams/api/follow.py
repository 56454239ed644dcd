"""GET /alerts/stream: each new or changed alert as a Server-Sent Event.

    retry: 3000 and a comment first; then `event: alert` (id = alert_id, data = the alert
    view) for each matching alert, `: keep-alive` after KEEPALIVE_SECONDS of quiet, and
    `event: end` when the client falls too far behind or the worker stops.

A stream only ends when its queue says so, so the web server's graceful shutdown would wait
for every open stream (aiohttp: 60 s for the handlers, then 60 s more, since cancelling a
request does not stop a handler that is not reading the body). `end_streams_on_shutdown`
closes the book as the server starts to shut down, once it accepts no new connection: each
stream writes `event: end` and returns, and the worker stops at once.
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from streams.api.alert_book import AlertBook, Query
from streams.outputs.metrics import Metrics

KEEPALIVE_SECONDS = 15.0


async def follow(request: web.Request, book: AlertBook, metrics: Metrics, query: Query) -> web.StreamResponse:
    """Server-Sent Events until the client leaves, the worker stops, or the client falls behind."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
    queue = book.subscribe()  # before the headers go: a client that has them misses nothing after
    metrics.sse_clients.inc()
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
                await response.write(f"id: {entry.alert_id}\nevent: alert\ndata: {data}\n\n".encode())
    except (ConnectionResetError, ConnectionError):
        pass  # the client went away
    finally:
        book.unsubscribe(queue)
        metrics.sse_clients.dec()
    return response


def end_streams_on_shutdown(web_app: web.Application, book: AlertBook) -> None:
    """Close `book`, ending every open stream, when `web_app` begins its graceful shutdown."""

    async def on_shutdown(app: web.Application) -> None:
        book.close()

    web_app.on_shutdown.append(on_shutdown)
