"""Live streams (GET /alerts/stream) end when the web server shuts down, so a stopping worker
does not wait for its SSE clients. A real aiohttp server on a port the system picks; no Kafka."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import httpx
from aiohttp import web
from prometheus_client import CollectorRegistry

from streams.api.alert_book import AlertBook, Query
from streams.api.follow import end_streams_on_shutdown, follow
from streams.outputs.metrics import create
from tests.unit.streams.api.test_alert_book import alert


def test_a_book_closed_ends_later_subscribers_at_once() -> None:
    """Once closed (the worker stops), a new subscriber's queue holds only the end marker."""

    async def scenario() -> object:
        book = AlertBook()
        book.close()
        return book.subscribe().get_nowait()

    assert asyncio.run(scenario()) is None


async def _serve(book: AlertBook, query: Query | None = None) -> tuple[web.AppRunner, str]:
    metrics = create(CollectorRegistry())

    async def stream(request: web.Request) -> web.StreamResponse:
        return await follow(request, book, metrics, query or Query())

    app = web.Application()
    app.router.add_get("/alerts/stream", stream)
    end_streams_on_shutdown(app, book)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/alerts/stream"


def test_open_streams_end_when_the_server_shuts_down() -> None:
    """With two clients following, the server's shutdown ends both streams with `event: end`
    at once instead of waiting out aiohttp's graceful timeout."""

    async def scenario() -> tuple[float, list[str]]:
        book = AlertBook()
        runner, url = await _serve(book)
        async with httpx.AsyncClient(timeout=30) as client:
            async def read() -> str:
                async with client.stream("GET", url) as answer:
                    return "".join([chunk async for chunk in answer.aiter_text()])

            readers = [asyncio.create_task(read()) for _ in range(2)]
            while len(book.subscribers) < 2:
                await asyncio.sleep(0.01)
            started = time.monotonic()
            await runner.cleanup()
            texts = await asyncio.gather(*readers)
            return time.monotonic() - started, texts

    took, texts = asyncio.run(scenario())
    assert took < 5.0
    assert all("event: end" in text for text in texts)


def test_a_stream_sends_only_the_alerts_its_filters_select() -> None:
    """The stream's filters are the list's, `since` included: an alert of another typology,
    or last changed before `since`, is not sent."""

    async def scenario() -> str:
        book = AlertBook()
        since = datetime.fromisoformat("2012-07-03T00:00:00+00:00")
        runner, url = await _serve(book, Query(typology="transit_loss", since=since))
        async with httpx.AsyncClient(timeout=30) as client, client.stream("GET", url) as answer:
            while not book.subscribers:
                await asyncio.sleep(0.01)
            book.add_alert(alert(1, "transit_loss", day=1))  # before since
            book.add_alert(alert(2, "sanctioned_party", day=4))  # another typology
            book.add_alert(alert(3, "transit_loss", day=2, updated_at="2012-07-09T00:00:00Z"))
            while any(not queue.empty() for queue in book.subscribers):  # closing drops what is not taken
                await asyncio.sleep(0.01)
            await runner.cleanup()
            return "".join([chunk async for chunk in answer.aiter_text()])

    text = asyncio.run(scenario())
    assert "event: end" in text
    assert [line for line in text.splitlines() if line.startswith("id: ")] == ["id: id-003"]
