"""Tombstones (a key and no value, as compaction tools and administrators write) on the alerts
and status topics of a real broker: `alerts export`, `alerts tail`, a worker's API and its
webhook delivery skip them and answer as if they were not there."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from kafka import KafkaProducer

from schemas.lifecycle import NewStatus, Status, StatusChange
from streams.kafka.servers import bootstrap_servers
from streams.kafka.topics import ALERT_STATUS, ALERTS
from tests.integration.live import (
    AIDMON,
    aidmon,
    free_port,
    replay_alerts,
    start_worker,
    stop,
    wait_ready,
    write_config,
)
from tests.integration.stack import Receiver, create_token, write_stack_config
from tests.paths import SAMPLE, require

pytestmark = pytest.mark.kafka
ALERT_COUNT = 6


def change(alert_id: str, status: NewStatus, previous: Status) -> StatusChange:
    return StatusChange(change_id=str(uuid.uuid4()), alert_id=alert_id, status=status, previous=previous, by="ops",
                        role="monitor", at=datetime.now(UTC))


def write_records(broker: str, alerts: list[dict[str, Any]], changes: list[StatusChange]) -> None:
    """The alerts and audit records, with a tombstone before, between and after them on each
    topic: for ids never seen, and for an audit record's own key."""
    producer = KafkaProducer(bootstrap_servers=bootstrap_servers(broker), acks="all")
    try:
        for n, alert in enumerate(alerts):
            producer.send(ALERTS, key=f"deleted-{n}".encode(), value=None)
            producer.send(ALERTS, key=alert["alert_id"].encode(), value=json.dumps(alert).encode())
        for n in range(ALERT_COUNT):
            producer.send(ALERTS, key=f"deleted-after-{n}".encode(), value=None)
        for record in changes:
            key = f"{record.alert_id}/{record.change_id}".encode()
            producer.send(ALERT_STATUS, key=f"{record.alert_id}/deleted".encode(), value=None)
            producer.send(ALERT_STATUS, key=key, value=record.model_dump_json().encode())
        producer.send(ALERT_STATUS, key=b"deleted/at-the-end", value=None)
        producer.flush()
    finally:
        producer.close()


def tail_lines(broker: str, out: Path, expected: int, timeout: float = 60) -> tuple[list[str], str]:
    """`aidmon alerts tail --json` until it printed `expected` lines; its lines and standard
    error. It must still be following the topic then (it did not crash on a tombstone)."""
    err = out.with_suffix(".err")
    with out.open("wb") as stdout, err.open("wb") as stderr:
        tail = subprocess.Popen([str(AIDMON), "alerts", "tail", "--json"], stdout=stdout, stderr=stderr,
                                env={**os.environ, "AIDMON_BROKER": broker})
    try:
        deadline = time.monotonic() + timeout
        while len(out.read_text(encoding="utf-8").splitlines()) < expected and time.monotonic() < deadline:
            assert tail.poll() is None, f"alerts tail exited: {err.read_text(encoding='utf-8')}"
            time.sleep(0.3)
        time.sleep(1.0)  # the tombstones after the last alert are read too
        assert tail.poll() is None, f"alerts tail exited: {err.read_text(encoding='utf-8')}"
    finally:
        tail.send_signal(signal.SIGINT)
        try:
            tail.wait(timeout=10)
        except subprocess.TimeoutExpired:
            tail.kill()
            tail.wait(timeout=10)
    return out.read_text(encoding="utf-8").splitlines(), err.read_text(encoding="utf-8")


def api_alerts(url: str, token: str) -> dict[str, dict[str, Any]]:
    answer = httpx.get(f"{url}/alerts", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    return {a["alert_id"]: a for a in answer.json()["alerts"]}


def history(url: str, token: str, alert_id: str) -> list[str]:
    answer = httpx.get(f"{url}/alerts/{alert_id}", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    return [h["change_id"] for h in answer.json()["history"]]


def test_tombstones_are_skipped_by_export_tail_the_api_and_webhooks(fresh_kafka: str, tmp_path: Path) -> None:
    """Among tombstones on both topics, export and tail give every alert once, and a worker
    gets ready, serves every alert with its audit trail and delivers each alert by webhook."""
    replayed = replay_alerts(require(SAMPLE / "events.jsonl"), SAMPLE / "sanctions.xml",
                             write_config(tmp_path / "replay.toml", "tombstones"), tmp_path / "replay.jsonl")
    alerts = replayed[:ALERT_COUNT]
    ids = {a["alert_id"] for a in alerts}
    first, second = alerts[0]["alert_id"], alerts[1]["alert_id"]
    changes = [change(first, "acknowledged", "open"), change(first, "confirmed", "acknowledged"),
               change(second, "dismissed", "open")]
    receiver = Receiver(free_port())
    config = write_stack_config(tmp_path / "aidmon.toml", receiver.port)
    token = create_token(config, "monitor")
    aidmon(fresh_kafka, "topics", "create", "--config", str(config))
    write_records(fresh_kafka, alerts, changes)

    out = tmp_path / "export.jsonl"
    aidmon(fresh_kafka, "alerts", "export", "--out", str(out), "--idle-seconds", "3")
    assert sorted(json.loads(line)["alert_id"] for line in out.read_text(encoding="utf-8").splitlines()) == sorted(ids)
    aidmon(fresh_kafka, "alerts", "export", "--out", str(out), "--idle-seconds", "3", "--every-update")
    assert len(out.read_text(encoding="utf-8").splitlines()) == ALERT_COUNT
    lines, err = tail_lines(fresh_kafka, tmp_path / "tail.jsonl", ALERT_COUNT)
    assert sorted(json.loads(line)["alert_id"] for line in lines) == sorted(ids) and "Traceback" not in err

    port, log = free_port(), tmp_path / "worker.log"
    receiver.start()
    worker = start_worker(fresh_kafka, config, SAMPLE / "sanctions.xml", tmp_path / "w", log, port, "INFO")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, worker)
        served = api_alerts(url, token)
        assert set(served) == ids
        assert served[first]["status"] == "confirmed" and served[second]["status"] == "dismissed"
        assert history(url, token, first) == [c.change_id for c in changes[:2]]
        deadline = time.monotonic() + 60
        while receiver.alert_ids() != ids and time.monotonic() < deadline:
            time.sleep(0.5)
        assert receiver.alert_ids() == ids
        assert worker.poll() is None, "the worker died"
    finally:
        stop(worker)
        receiver.stop()
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "unreadable record" not in text and "Traceback" not in text
