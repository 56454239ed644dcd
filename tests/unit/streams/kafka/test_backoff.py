"""aiokafka's clients pause between tries while the broker is away (`streams.kafka.backoff`),
driven on a real `AIOKafkaClient` that knows no broker (every metadata update and connection
fails at once, as they do against a refused port) and on a stand-in whose tries succeed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka.client import AIOKafkaClient  # type: ignore[import-untyped]

from streams.kafka import backoff
from streams.kafka.noise import KafkaNoiseFilter

RUN_SECONDS = 0.4


@pytest.fixture(autouse=True)
def restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """aiokafka's client as it was before the test installed the backoff (it is process-wide)."""
    for name in ("_metadata_update", "_get_conn"):
        monkeypatch.setattr(AIOKafkaClient, name, getattr(AIOKafkaClient, name))


@pytest.fixture(autouse=True)
def every_line(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """caplog's handler sees every Kafka client line: an earlier test that ran the CLI may have
    left `KafkaNoiseFilter` on it (pytest keeps one capture handler for the session), and the
    tests count lines."""
    noise = [f for f in caplog.handler.filters if isinstance(f, KafkaNoiseFilter)]
    for f in noise:
        caplog.handler.removeFilter(f)
    yield
    for f in noise:
        caplog.handler.addFilter(f)


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pauses of 10 ms doubling to 40 ms, so that a test sees many of them in under a second."""
    monkeypatch.setattr(backoff, "FIRST_PAUSE_SECONDS", 0.01)
    monkeypatch.setattr(backoff, "MAX_PAUSE_SECONDS", 0.04)


def test_pauses_double_up_to_the_cap() -> None:
    """0.1 s after the first failure, doubling, never above a second."""
    assert [backoff.pause_seconds(n) for n in range(1, 7)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]


def test_install_wraps_the_client_once() -> None:
    """The two methods are wrapped, and installing again wraps nothing twice."""
    backoff.install()
    first = (AIOKafkaClient._metadata_update, AIOKafkaClient._get_conn)
    backoff.install()
    assert (AIOKafkaClient._metadata_update, AIOKafkaClient._get_conn) == first
    assert all(getattr(method, "__aidmon_backoff__", False) for method in first)


async def _hammer(ask: Any, seconds: float) -> int:
    """Ask as aiokafka's producer sender does with a partition that has no leader: again as
    soon as the answer comes, for `seconds`; how many answers came."""
    loop = asyncio.get_running_loop()
    deadline, answers = loop.time() + seconds, 0
    while loop.time() < deadline:
        await ask()
        answers += 1
    return answers


@pytest.mark.usefixtures("fast")
def test_failed_metadata_updates_are_paced(caplog: pytest.LogCaptureFixture) -> None:
    """A loop that asks for metadata again at once gets a handful of failed updates in 0.4 s
    (each after a pause), not the thousands aiokafka alone gives (each logs a line)."""
    backoff.install()

    async def scenario() -> int:
        client = AIOKafkaClient(bootstrap_servers="127.0.0.1:1")
        return await _hammer(lambda: client._metadata_update(client.cluster, set()), RUN_SECONDS)

    with caplog.at_level(logging.ERROR, logger="aiokafka"):
        answers = asyncio.run(scenario())
    assert 3 <= answers <= RUN_SECONDS / 0.04 + 3  # 10, 20, then 40 ms apart
    assert sum("Unable to update metadata" in r.getMessage() for r in caplog.records) == answers


@pytest.mark.usefixtures("fast")
def test_a_failed_node_is_tried_after_a_pause_by_one_asker_at_a_time(caplog: pytest.LogCaptureFixture) -> None:
    """Three tasks asking for a connection to a node that fails make one try per pause between
    them (each try logs "Unable connect"), not one each per turn of the event loop."""
    backoff.install()

    async def scenario() -> list[int]:
        client = AIOKafkaClient(bootstrap_servers="127.0.0.1:1")
        return list(await asyncio.gather(*(_hammer(lambda: client._get_conn(1), RUN_SECONDS) for _ in range(3))))

    with caplog.at_level(logging.ERROR, logger="aiokafka"):
        asyncio.run(scenario())
    tries = sum("Unable connect to node" in r.getMessage() for r in caplog.records)
    assert 3 <= tries <= RUN_SECONDS / 0.04 + 6  # and the askers' last turns, begun before the end


class FlakyClient:
    """Stands in for aiokafka's client: its tries fail while `up` is False."""

    def __init__(self) -> None:
        self.up = False
        self.tries = 0

    async def _metadata_update(self, cluster: Any, topics: Any) -> bool:
        self.tries += 1
        return self.up

    async def _get_conn(self, node_id: Any, **kwargs: Any) -> Any:
        self.tries += 1
        return object() if self.up else None


@pytest.mark.usefixtures("fast")
@pytest.mark.parametrize("method", ["_metadata_update", "_get_conn"])
def test_a_success_ends_the_pauses(method: str) -> None:
    """Once the broker answers, the next tries come without a pause (the broker that is back
    is seen within one pause)."""
    wrap = backoff.paced_metadata_update if method == "_metadata_update" else backoff.paced_get_conn
    paced = wrap(getattr(FlakyClient, method))
    client = FlakyClient()

    async def scenario() -> tuple[int, int]:
        for _ in range(5):  # failures: the pause is at its cap
            await paced(client, None, None) if method == "_metadata_update" else await paced(client, 1)
        client.up = True
        await asyncio.sleep(backoff.MAX_PAUSE_SECONDS)
        loop = asyncio.get_running_loop()
        started, before = loop.time(), client.tries
        for _ in range(20):
            await paced(client, None, None) if method == "_metadata_update" else await paced(client, 1)
        return client.tries - before, round(loop.time() - started, 3)

    tries, seconds = asyncio.run(scenario())
    assert tries == 20 and seconds < 0.01
