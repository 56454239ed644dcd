"""The integration tests' Kafka: one real broker (KRaft) for the whole session.

`kafka_bootstrap` starts it from the broker's own jars (streams/broker.py: resolved by
Maven once, cached in ~/.cache/aidmon/kafka-3.9.1/) on free loopback ports in a
temporary data directory, and stops it at the end. It never skips: a broker that cannot
start fails every test that needs it, with the reason.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from streams.broker import BrokerError, broker_log_tail, start_broker, stop_broker


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports free on 127.0.0.1 right now (held together while chosen)."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address ("127.0.0.1:PORT") of a broker running for the whole session."""
    data_dir = tmp_path_factory.mktemp("kafka")
    port, controller_port = free_ports(2)
    try:
        try:
            bootstrap = start_broker(data_dir, port, controller_port)
        except BrokerError as exc:
            pytest.fail(f"the session's Kafka broker did not start: {exc}", pytrace=False)
        yield bootstrap
    finally:
        try:
            stop_broker(data_dir)
        except BrokerError as exc:
            pytest.fail(f"the session's Kafka broker did not stop: {exc}\n{broker_log_tail(data_dir)}", pytrace=False)


@pytest.fixture
def fresh_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A broker of the test's own ("kafka://127.0.0.1:PORT"): the contract's topic names are
    fixed, so tests that read them from the beginning each need an empty broker."""
    data_dir = tmp_path_factory.mktemp("kafka-own")
    port, controller_port = free_ports(2)
    try:
        try:
            bootstrap = start_broker(data_dir, port, controller_port)
        except BrokerError as exc:
            pytest.fail(f"the test's Kafka broker did not start: {exc}", pytrace=False)
        yield f"kafka://{bootstrap}"
    finally:
        stop_broker(data_dir)
