"""Whether the broker answers: the quick check every live command makes before its Kafka client
starts, and the line that says so when it does not.

A Kafka client finds out that no broker listens only after its own timeouts (about 30 s for
kafka-python's, and Faust retries for ever), so each command first asks the bootstrap
servers, a few seconds at most: `broker_problem` returns None when one of them answers, else
one line naming the addresses and what to do. The worker's `BrokerWatch`
(`streams.kafka.watch`) asks `broker_answers`, the same question without blocking its loop.

The question is Kafka's own smallest request, ApiVersions v0 (every broker version answers
it), not a bare TCP connect: a proxy or another service on the port accepts connections too.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time

from streams.kafka.servers import address, bootstrap_servers

PROBE_SECONDS = 5.0  # for all the bootstrap servers together: a command fails well within 15 s

_CORRELATION_ID = 0x41494431
_CLIENT_ID = b"aidmon-probe"
# size, then header v1 (api_key 18 = ApiVersions, api_version 0, correlation id, client id); no body
_REQUEST = struct.pack(">hhih", 18, 0, _CORRELATION_ID, len(_CLIENT_ID)) + _CLIENT_ID
API_VERSIONS_REQUEST = struct.pack(">i", len(_REQUEST)) + _REQUEST
MAX_RESPONSE_BYTES = 1 << 20


def broker_problem(broker: str, timeout_seconds: float = PROBE_SECONDS) -> str | None:
    """None when a bootstrap server of `broker` ("kafka://host:port,...") answers Kafka's
    ApiVersions request within `timeout_seconds` (all servers together); else the one line
    that says which did not, why, and what to do."""
    servers = bootstrap_servers(broker)
    if not servers:
        return f"no broker address in {broker!r}: give one as kafka://HOST:PORT (--broker or AIDMON_BROKER)"
    deadline = time.monotonic() + timeout_seconds
    failures = []
    for index, server in enumerate(servers):
        share = max(0.1, (deadline - time.monotonic()) / (len(servers) - index))
        try:
            _ask_now(server, time.monotonic() + share)
            return None
        except OSError as exc:
            failures.append(f"{server} ({_reason(exc)})")
    return unreachable_line(", ".join(failures))


def unreachable_line(where: str) -> str:
    """The one line for a broker that does not answer at `where`."""
    return (
        f"no Kafka broker answers at {where}: start one with `aidmon broker start`, "
        "or give the address of yours with --broker or AIDMON_BROKER"
    )


async def broker_answers(broker: str, timeout_seconds: float = PROBE_SECONDS) -> bool:
    """True when a bootstrap server of `broker` answers Kafka's ApiVersions request within
    `timeout_seconds` (each); for a running worker: it never blocks the event loop."""
    for server in bootstrap_servers(broker):
        try:
            await asyncio.wait_for(_ask(*address(server)), timeout_seconds)
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            continue
        return True
    return False


async def _ask(host: str, port: int) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(API_VERSIONS_REQUEST)
        await writer.drain()
        check_response_head(await reader.readexactly(8))
    finally:
        writer.close()


def check_response_head(head: bytes) -> None:
    """Raise ConnectionError unless `head` (a response's size and correlation id) is the answer
    to API_VERSIONS_REQUEST."""
    size, correlation_id = struct.unpack(">ii", head)
    if correlation_id != _CORRELATION_ID or not 4 <= size <= MAX_RESPONSE_BYTES:
        raise ConnectionError("something else answers there, not a Kafka broker")


def _ask_now(server: str, deadline: float) -> None:
    """Send the request to `server` and check the head of its answer, by `deadline` (monotonic)."""
    with socket.create_connection(address(server), timeout=max(0.1, deadline - time.monotonic())) as sock:
        sock.sendall(API_VERSIONS_REQUEST)
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        check_response_head(receive_exactly(sock, 8))


def receive_exactly(sock: socket.socket, size: int) -> bytes:
    """`size` bytes from `sock`; a `ConnectionError` if it closes first."""
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the connection was closed without a Kafka answer")
        data += chunk
    return data


def _reason(exc: OSError) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, socket.gaierror):
        return f"unknown host: {exc.strerror or exc}"
    return exc.strerror.lower() if exc.strerror else str(exc) or type(exc).__name__
