"""The worker's fetch requests: the broker holds them `FETCH_WAIT_MS`, not Faust's 1.5 s."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import faust

from streams.worker.fetching import FETCH_WAIT_MS, bound_fetch_wait


@contextmanager
def worker_app(broker: str, data_dir: Path) -> Iterator[faust.App]:
    """A Faust app and its consumer thread, not started: the thread's own event loop is
    closed at the end (Faust makes it with the consumer)."""
    app = faust.App("fetch-wait", broker=broker, datadir=str(data_dir))
    try:
        yield app
    finally:
        app.consumer._thread.thread_loop.close()


def test_the_running_fetcher_of_the_client_faust_builds_asks_the_broker_to_wait_at_most_fetch_wait_ms(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """On the Kafka client Faust builds for a worker (as its consumer thread does), then
    started on a real broker: its fetcher puts `FETCH_WAIT_MS` in each request."""

    async def run() -> tuple[int, int, int]:
        with worker_app(f"kafka://{kafka_bootstrap}", tmp_path) as app:
            thread = app.consumer._thread
            client = thread._consumer = thread._create_consumer(loop=asyncio.get_running_loop())
            faust_default = client._fetch_max_wait_ms
            assert bound_fetch_wait(app)
            await client.start()
            try:
                started = client._fetcher._fetch_max_wait_ms
                client._fetcher._fetch_max_wait_ms = 1500  # as if a fetcher had been made before: set again
                bound_fetch_wait(app)
                return faust_default, started, client._fetcher._fetch_max_wait_ms
            finally:
                await client.stop()

    assert asyncio.run(run()) == (1500, FETCH_WAIT_MS, FETCH_WAIT_MS)


def test_without_a_client_yet_nothing_is_set(tmp_path: Path) -> None:
    """Before Faust's consumer thread has built its client, there is nothing to set."""
    with worker_app("kafka://127.0.0.1:9", tmp_path) as app:
        assert bound_fetch_wait(app) is False
