"""The live path when detection fails on an event, and when an event comes too late: each is
rejected with its reason and position in aid.events.v1, counted, and the stream goes on
with the alerts of replay."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from streams.kafka.topics import EVENTS as EVENTS_TOPIC
from tests.integration.live import (
    aidmon,
    alert_differences,
    exported,
    free_port,
    pairs,
    rejected,
    replay_alerts,
    start_worker,
    stop,
    wait_caught_up,
    wait_ready,
    write_config,
)
from tests.integration.stack import metric_value
from tests.paths import SAMPLE, require

pytestmark = pytest.mark.kafka
EVENTS, SANCTIONS = SAMPLE / "events.jsonl", SAMPLE / "sanctions.xml"
FAILING = "37691e18-a382-4454-abed-cc4d75c0a402"  # the dispatch of SHP-000044, whose receipt shows a transit loss
APP_ID = "failing"


def _positions(broker: str, event_ids: set[str]) -> dict[str, tuple[int, int]]:
    """Where each of `event_ids` is on aid.events.v1: (partition, offset)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(EVENTS_TOPIC, bootstrap_servers=broker.removeprefix("kafka://"),
                             auto_offset_reset="earliest", consumer_timeout_ms=5000, group_id=None)
    try:
        found = {}
        for record in consumer:
            event_id = _id(record.value)
            if event_id in event_ids:
                found[event_id] = (record.partition, record.offset)
        return found
    finally:
        consumer.close()


def _id(value: bytes | str) -> str | None:
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed.get("id") if isinstance(parsed, dict) else None


def _expired_event(lines: list[bytes]) -> dict[str, Any]:
    """A site registration 200 days before the last event of the sample."""
    at = max(_time(event) for event in map(_parsed, lines)) - timedelta(days=200)
    return {"specversion": "1.0", "id": "expired-site-1", "source": "/agencies/test", "type": "site.registered",
            "time": at.isoformat().replace("+00:00", "Z"), "subject": "DP-EXPIRED",
            "data": {"site_id": "DP-EXPIRED", "name": "Too late", "kind": "warehouse", "lat": 16.0, "lon": -3.0}}


def _time(event: dict[str, Any]) -> datetime:
    """An event's time; the beginning of time for the malformed ones of the sample."""
    try:
        at = datetime.fromisoformat(event["time"])
    except (KeyError, TypeError, ValueError):
        return datetime.min.replace(tzinfo=UTC)
    return at if at.tzinfo is not None else datetime.min.replace(tzinfo=UTC)


def _parsed(line: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(line)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def test_a_failing_detection_is_rejected_and_the_worker_goes_on(fresh_kafka: str, tmp_path: Path) -> None:
    """A detector raising on one event: that event goes to aid.rejects.v1 (internal_error, its
    partition and offset), counted once; the partition is rebuilt without any of it, so the
    alerts are replay's on the stream without that event (its shipment's transit loss is not
    raised). An event 200 days behind the clock, published afterwards, is rejected as expired
    once, though it reached every partition."""
    from kafka import KafkaProducer

    lines = require(EVENTS).read_bytes().splitlines()
    assert sum(_id(line) == FAILING for line in lines) == 1
    expired = _expired_event(lines)
    config = write_config(tmp_path / "aidmon.toml", APP_ID)
    aidmon(fresh_kafka, "topics", "create", "--config", str(config))
    port = free_port()
    worker = start_worker(fresh_kafka, config, SANCTIONS, tmp_path / "w", tmp_path / "worker.log", port,
                          command=(sys.executable, "-m", "tests.integration.failing_worker", FAILING))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, worker)
        aidmon(fresh_kafka, "publish", str(EVENTS), "--config", str(config))
        wait_caught_up(fresh_kafka, APP_ID)  # every monitor's clock has reached the end of the sample
        producer = KafkaProducer(bootstrap_servers=fresh_kafka.removeprefix("kafka://"), acks="all")
        sent = producer.send(EVENTS_TOPIC, key=b"DP-EXPIRED", value=json.dumps(expired).encode()).get(timeout=30)
        producer.close()
        wait_caught_up(fresh_kafka, APP_ID)
        rejects = rejected(fresh_kafka)
        counted = {reason: metric_value(url, "aidmon_rejects_total", reason=reason)
                   for reason in ("internal_error", "expired")}
        live = exported(fresh_kafka)
        assert worker.poll() is None, "the worker died"
    finally:
        stop(worker)
    [(partition, offset)] = _positions(fresh_kafka, {FAILING}).values()
    failed = [r for r in rejects if r["reason"] == "internal_error"]
    assert [(_id(r["raw"]), r["detail"], r["source"], r["partition"], r["offset"]) for r in failed] == [
        (FAILING, "RuntimeError", f"{EVENTS_TOPIC}[{partition}]", partition, offset)]
    too_late = [r for r in rejects if r["reason"] == "expired"]
    assert [(_id(r["raw"]), r["partition"], r["offset"]) for r in too_late] == [
        (expired["id"], sent.partition, sent.offset)]
    assert counted == {"internal_error": 1.0, "expired": 1.0}

    without = tmp_path / "without.jsonl"  # the stream as if the failing event had never been sent
    without.write_bytes(b"\n".join([line for line in lines if _id(line) != FAILING] + [json.dumps(expired).encode()]))
    replayed = replay_alerts(without, SANCTIONS, config, tmp_path / "replay.jsonl")
    differences = alert_differences(live, replayed)
    assert not differences, f"{len(differences)} differences from replay:\n" + "\n".join(differences[:40])
    assert ("transit_loss", "SHP-000044") not in pairs(live)
    full = replay_alerts(EVENTS, SANCTIONS, config, tmp_path / "replay-full.jsonl")
    assert ("transit_loss", "SHP-000044") in pairs(full)  # the failing event mattered
