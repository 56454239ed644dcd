"""Whether a broker answers (`streams.kafka.reach`), against sockets of the test's own: a closed
port, something that is not Kafka, and a fake broker that answers ApiVersions."""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from streams.kafka.reach import address, broker_answers, broker_problem
from streams.kafka.servers import bootstrap_servers, check_broker


@pytest.mark.parametrize(("server", "expected"), [
    ("127.0.0.1:9092", ("127.0.0.1", 9092)),
    ("kafka:29092", ("kafka", 29092)),
    ("localhost", ("localhost", 9092)),
    ("[::1]:9093", ("::1", 9093)),
    ("::1", ("::1", 9092)),
])
def test_addresses(server: str, expected: tuple[str, int]) -> None:
    """A bootstrap server's host and port; Kafka's default port when none is given."""
    assert address(server) == expected


@pytest.mark.parametrize("server", ["localhost:²", "localhost:٩٠٩٢", "localhost:0", "localhost:65536", "h:x", "h:"])
def test_a_port_that_is_not_one_is_a_value_error(server: str) -> None:
    """A port of other than ASCII digits (str.isdigit holds for '²'), or out of range, is a
    ValueError naming the server, never read as some other number."""
    with pytest.raises(ValueError, match="the port must be a number from 1 to 65535"):
        address(server)


@pytest.mark.parametrize("broker", ["http://127.0.0.1:9092", "PLAINTEXT://broker:9092", "kafka://a:9092,https://b:9092"])
def test_a_broker_of_another_scheme_is_a_value_error(broker: str) -> None:
    """An address of another scheme than kafka:// (an HTTP URL pasted, a listener name from
    the broker's own configuration) is refused with the form it should have, not read as a
    host called `http` or as an IPv6 address."""
    with pytest.raises(ValueError, match="a Kafka broker's address is kafka://HOST:PORT"):
        check_broker(broker)


def test_servers_may_each_carry_the_scheme() -> None:
    assert bootstrap_servers(check_broker("kafka://a:9092, kafka://b:9093")) == ["a:9092", "b:9093"]
    assert bootstrap_servers(check_broker("a:9092,b")) == ["a:9092", "b"]


def closed_port() -> int:
    """A port nothing listens on (bound for a moment, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(answer: Callable[[bytes], bytes]) -> Iterator[int]:
    """A one-connection-at-a-time server on a free port: reads a request, writes `answer(request)`."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                size = struct.unpack(">i", conn.recv(4))[0]
                request = conn.recv(size)
                conn.sendall(answer(request))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        listener.close()


def kafka_answer(request: bytes) -> bytes:
    """The head of an ApiVersions response: its size and the request's correlation id."""
    correlation_id = request[4:8]
    body = correlation_id + struct.pack(">hi", 0, 0)  # error_code 0, no api versions
    return struct.pack(">i", len(body)) + body


def http_answer(request: bytes) -> bytes:
    return b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"


def test_a_closed_port_is_named_with_what_to_do() -> None:
    """No listener: one line naming the address, the reason and `aidmon broker start`, at once."""
    port = closed_port()
    started = time.monotonic()
    line = broker_problem(f"kafka://127.0.0.1:{port}")
    assert time.monotonic() - started < 1.0
    assert line is not None and "\n" not in line
    assert f"127.0.0.1:{port} (connection refused)" in line and "`aidmon broker start`" in line


def test_something_else_on_the_port_is_not_a_broker() -> None:
    """A service that accepts the connection but does not speak Kafka is not taken for a broker."""
    with server(http_answer) as port:
        line = broker_problem(f"kafka://127.0.0.1:{port}")
        assert not asyncio.run(broker_answers(f"kafka://127.0.0.1:{port}"))
    assert line is not None and "not a Kafka broker" in line


def test_a_broker_that_answers_api_versions_is_there() -> None:
    """The right correlation id back: None (no problem), and True for the worker's watch;
    a second, closed address in the list does not matter."""
    with server(kafka_answer) as port:
        broker = f"kafka://127.0.0.1:{closed_port()},127.0.0.1:{port}"
        assert broker_problem(broker) is None
        assert asyncio.run(broker_answers(broker))


def test_a_silent_listener_fails_within_the_timeout() -> None:
    """A port that accepts and never answers costs the timeout, not the Kafka client's 30 s."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        started = time.monotonic()
        line = broker_problem(f"kafka://127.0.0.1:{listener.getsockname()[1]}", timeout_seconds=0.5)
    assert 0.4 < time.monotonic() - started < 2.0
    assert line is not None and "no answer in time" in line
