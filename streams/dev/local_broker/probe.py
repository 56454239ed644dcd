"""Waiting for a starting broker: until it answers a real metadata request, exits, or time runs out."""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from schemas.exceptions import BrokerError
from streams.dev.local_broker.layout import HOST
from streams.dev.local_broker.processes import broker_log_tail
from streams.kafka.reach import receive_exactly


def wait_until_ready(process: subprocess.Popen[bytes], port: int, deadline: float, data_dir: Path) -> None:
    """Return once the broker lists itself in metadata; raise BrokerError if it exits or time runs out.

    Two steps, each retried until the deadline: a bare Metadata request on a socket
    (cheap, and silent while the broker is still starting), then kafka-python's admin
    client `describe_cluster()`, the real client check.
    """
    last_problem = "it did not answer yet"
    while True:
        code = process.poll()
        if code is not None:
            raise BrokerError(
                f"the Kafka broker exited with status {code} while starting:\n{broker_log_tail(data_dir)}"
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BrokerError(
                f"the Kafka broker did not answer on {HOST}:{port} in time ({last_problem}):\n"
                f"{broker_log_tail(data_dir)}"
            )
        problem = _probe(port, remaining)
        if problem is None:
            return
        last_problem = problem
        time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))


def _probe(port: int, remaining: float) -> str | None:
    """One round of both steps: None when the broker is ready, else what is still missing."""
    try:
        brokers = _metadata_broker_count(port, min(2.0, remaining))
    except OSError as exc:
        return f"metadata request: {exc or type(exc).__name__}"
    if brokers == 0:
        return "its metadata lists no broker yet"
    try:
        _describe_cluster(f"{HOST}:{port}", remaining)
    except Exception as exc:  # any client failure is retried until the deadline
        return f"describe_cluster: {type(exc).__name__}: {exc}"
    return None


def _metadata_broker_count(port: int, timeout: float) -> int:
    """Send a Metadata v1 request for no topics; return how many brokers the answer lists."""
    client_id = b"aidmon-broker-probe"
    # header: api_key 3 (Metadata), api_version 1, correlation_id 1, client_id; body: topics = []
    request = struct.pack(">hhih", 3, 1, 1, len(client_id)) + client_id + struct.pack(">i", 0)
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(struct.pack(">i", len(request)) + request)
        (size,) = struct.unpack(">i", receive_exactly(sock, 4))
        if not 8 <= size <= 1_000_000:
            raise ConnectionError(f"unexpected metadata response size {size}")
        correlation_id, brokers = struct.unpack_from(">ii", receive_exactly(sock, size))
    if correlation_id != 1:
        raise ConnectionError(f"unexpected correlation id {correlation_id}")
    return int(brokers)


def _describe_cluster(bootstrap: str, remaining: float) -> dict[str, Any]:
    """kafka-python's `KafkaAdminClient.describe_cluster()`; raises unless it lists a broker."""
    timeout_ms = int(max(1.0, min(remaining, 15.0)) * 1000)
    with _kafka_logs_quiet():
        admin = _kafka().KafkaAdminClient(
            bootstrap_servers=bootstrap, client_id="aidmon-broker-probe",
            bootstrap_timeout_ms=timeout_ms, request_timeout_ms=timeout_ms, reconnect_backoff_max_ms=1000,
        )
        try:
            cluster: dict[str, Any] = admin.describe_cluster()
        finally:
            admin.close()
    if not cluster.get("brokers"):
        raise BrokerError("describe_cluster lists no broker")
    return cluster


def _kafka() -> Any:
    """The kafka-python package, imported on first use (stopping a broker does not need it).

    kafka-python 3.0.12 loads its protocol schemas with importlib.resources.read_text,
    deprecated since Python 3.11: that DeprecationWarning is theirs, so it is silenced
    for the import only.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import kafka

    return kafka


@contextlib.contextmanager
def _kafka_logs_quiet() -> Iterator[None]:
    """kafka-python logs every bootstrap step at INFO; a readiness probe keeps only warnings."""
    logger = logging.getLogger("kafka")
    level = logger.level
    if logger.getEffectiveLevel() < logging.WARNING:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
