"""The integration tests' Kafka: one real broker (KRaft) for the whole session.

`kafka_bootstrap` starts it from the broker's own jars (streams/dev/local_broker/: resolved by
Maven once, cached in ~/.cache/aidmon/kafka-3.9.1/) on free loopback ports in a
temporary data directory, and stops it at the end. It never skips: a broker that cannot
start fails every test that needs it, with the reason.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from schemas.exceptions import BrokerError
from streams.dev.local_broker import broker_log_tail, start_broker, stop_broker

if TYPE_CHECKING:
    from tests.integration.stack import Stack


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports free on 127.0.0.1 right now (held together while chosen)."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


@contextmanager
def running_broker(data_dir: Path, whose: str) -> Iterator[str]:
    """A broker in `data_dir` on free ports while the block runs; its bootstrap address."""
    port, controller_port = free_ports(2)
    try:
        try:
            bootstrap = start_broker(data_dir, port, controller_port)
        except BrokerError as exc:
            pytest.fail(f"{whose} Kafka broker did not start: {exc}", pytrace=False)
        yield bootstrap
    finally:
        try:
            stop_broker(data_dir)
        except BrokerError as exc:
            pytest.fail(f"{whose} Kafka broker did not stop: {exc}\n{broker_log_tail(data_dir)}", pytrace=False)


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address ("127.0.0.1:PORT") of a broker running for the whole session."""
    with running_broker(tmp_path_factory.mktemp("kafka"), "the session's") as bootstrap:
        yield bootstrap


@pytest.fixture
def fresh_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A broker of the test's own ("kafka://127.0.0.1:PORT"): the contract's topic names are
    fixed, so tests that read them from the beginning each need an empty broker."""
    with running_broker(tmp_path_factory.mktemp("kafka-own"), "the test's") as bootstrap:
        yield f"kafka://{bootstrap}"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A worker with its API and webhooks, on a broker of its own, after the shared sample
    (tests/integration/stack.py)."""
    from tests.integration.stack import running_stack  # it imports this module's running_broker

    with running_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running
