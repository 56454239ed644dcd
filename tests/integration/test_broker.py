"""The local Kafka broker (streams/dev/local_broker/): a real KRaft broker that kafka-python talks to.

The session broker (`kafka_bootstrap`) serves the client tests; the lifecycle tests start
a second broker on other ports in their own directory, so the session one is never
disturbed.
"""

from __future__ import annotations

import socket
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from schemas.exceptions import BrokerError
from streams.dev.local_broker import (
    PID_FILE,
    port_is_free,
    running_broker,
    start_broker,
    stop_broker,
)
from tests.integration.conftest import free_ports

with warnings.catch_warnings():
    # kafka-python 3.0.12 loads its protocol schemas with importlib.resources.read_text,
    # deprecated since Python 3.11: its warning, not ours.
    warnings.simplefilter("ignore", DeprecationWarning)
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

pytestmark = pytest.mark.kafka

TIMEOUT_MS = 15_000


@dataclass(frozen=True)
class Broker:
    data_dir: Path
    port: int
    controller_port: int

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture
def second_broker(tmp_path: Path) -> Iterator[Broker]:
    """A broker of the test's own, on other ports, stopped at the end whatever happens."""
    port, controller_port = free_ports(2)
    broker = Broker(tmp_path / "kafka", port, controller_port)
    try:
        assert start_broker(broker.data_dir, port, controller_port) == broker.bootstrap
        yield broker
    finally:
        stop_broker(broker.data_dir)


def admin_client(bootstrap: str) -> KafkaAdminClient:
    return KafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="aidmon-tests",
        bootstrap_timeout_ms=TIMEOUT_MS, request_timeout_ms=TIMEOUT_MS,
    )


def create_topic(bootstrap: str, partitions: int) -> str:
    topic = f"aidmon.test.{uuid.uuid4().hex[:12]}"
    admin = admin_client(bootstrap)
    try:
        admin.create_topics(
            {topic: {"num_partitions": partitions, "replication_factor": 1}},
            timeout_ms=TIMEOUT_MS, wait_for_metadata=True,
        )
    finally:
        admin.close()
    return topic


def topics_of(bootstrap: str) -> list[str]:
    admin = admin_client(bootstrap)
    try:
        return list(admin.list_topics())
    finally:
        admin.close()


def refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


# --- the session broker ------------------------------------------------------------------


def test_the_broker_answers_metadata(kafka_bootstrap: str) -> None:
    """describe_cluster lists the one broker (node 1) at the bootstrap address, with a cluster id."""
    admin = admin_client(kafka_bootstrap)
    try:
        cluster = admin.describe_cluster()
        topics = admin.list_topics()
    finally:
        admin.close()
    host, port = kafka_bootstrap.split(":")
    assert [(b["broker_id"], b["host"], b["port"]) for b in cluster["brokers"]] == [(1, host, int(port))]
    assert len(cluster["cluster_id"]) == 22
    assert isinstance(topics, list)


def test_a_three_partition_topic_round_trips(kafka_bootstrap: str) -> None:
    """Produced with acks=all to each of 3 partitions, every record is consumed back by a group."""
    topic = create_topic(kafka_bootstrap, partitions=3)
    admin = admin_client(kafka_bootstrap)
    try:
        (described,) = admin.describe_topics([topic])
    finally:
        admin.close()
    assert sorted(p["partition_index"] for p in described["partitions"]) == [0, 1, 2]

    sent = {(i % 3, f"key-{i}".encode(), f"value-{i}".encode()) for i in range(30)}
    producer = KafkaProducer(
        bootstrap_servers=kafka_bootstrap, acks="all",
        bootstrap_timeout_ms=TIMEOUT_MS, request_timeout_ms=TIMEOUT_MS, max_block_ms=TIMEOUT_MS,
    )
    try:
        futures = [producer.send(topic, key=key, value=value, partition=p) for p, key, value in sorted(sent)]
        written = [future.get(timeout=TIMEOUT_MS / 1000) for future in futures]
        producer.flush(timeout=TIMEOUT_MS / 1000)
    finally:
        producer.close(timeout=5)
    assert {meta.partition for meta in written} == {0, 1, 2}

    consumer = KafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, group_id=f"aidmon-test-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest", enable_auto_commit=False,
        bootstrap_timeout_ms=TIMEOUT_MS, request_timeout_ms=TIMEOUT_MS,
    )
    received: set[tuple[int, bytes, bytes]] = set()
    try:
        deadline = time.monotonic() + 30
        while received != sent and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                received |= {(r.partition, r.key, r.value) for r in records}
        consumer.commit()
    finally:
        consumer.close()
    assert received == sent


def test_a_taken_port_is_refused(kafka_bootstrap: str, tmp_path: Path) -> None:
    """start_broker on the session broker's port refuses at once, starting nothing."""
    port = int(kafka_bootstrap.rsplit(":", 1)[1])
    with pytest.raises(BrokerError, match=f"port {port} on 127.0.0.1 is already in use"):
        start_broker(tmp_path / "kafka", port, free_ports(1)[0])
    assert not (tmp_path / "kafka" / PID_FILE).exists()


# --- a broker of the test's own -----------------------------------------------------------


def test_a_running_data_dir_is_refused(second_broker: Broker) -> None:
    """A second start_broker on the data dir of a running broker raises, and the broker keeps running."""
    pid = running_broker(second_broker.data_dir)
    assert pid is not None
    other_port, other_controller_port = free_ports(2)
    with pytest.raises(BrokerError, match=f"already running \\(pid {pid}\\)"):
        start_broker(second_broker.data_dir, other_port, other_controller_port)
    assert running_broker(second_broker.data_dir) == pid
    assert isinstance(topics_of(second_broker.bootstrap), list)


def test_stop_frees_the_ports_and_a_restart_keeps_the_data(second_broker: Broker) -> None:
    """stop_broker ends the process and frees both ports; the same data dir starts again with its topics."""
    topic = create_topic(second_broker.bootstrap, partitions=1)
    assert stop_broker(second_broker.data_dir) is True
    assert running_broker(second_broker.data_dir) is None
    assert not (second_broker.data_dir / PID_FILE).exists()
    assert port_is_free(second_broker.port) and port_is_free(second_broker.controller_port)
    assert refuses_connections(second_broker.port)
    assert stop_broker(second_broker.data_dir) is False

    start_broker(second_broker.data_dir, second_broker.port, second_broker.controller_port)
    assert topic in topics_of(second_broker.bootstrap)


def test_a_broker_that_dies_while_starting_is_reported_with_its_log(tmp_path: Path) -> None:
    """A broker that exits during start-up (storage with a broken meta.properties) raises with its log."""
    data_dir = tmp_path / "kafka"
    (data_dir / "logs").mkdir(parents=True)
    (data_dir / "logs" / "meta.properties").write_text("version=1\n", encoding="utf-8")
    port, controller_port = free_ports(2)
    try:
        with pytest.raises(BrokerError, match="exited with status") as failure:
            start_broker(data_dir, port, controller_port, timeout=60)
        assert "server.log" in str(failure.value)
        assert running_broker(data_dir) is None
        assert not (data_dir / PID_FILE).exists()
        assert port_is_free(port) and port_is_free(controller_port)
    finally:
        stop_broker(data_dir)
