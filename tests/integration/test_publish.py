"""`aidmon publish --batch N` on a real broker: the sample reaches aid.events.v1 as CloudEvents
JSON batches (JSON arrays of up to N events, header content-type
application/cloudevents-batch+json, keyed by the first event's subject), every valid event once."""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer

from schemas.decode import Decoder
from schemas.exceptions import InvalidEventError
from schemas.privacy import Pseudonymiser
from streams.kafka.producer import BATCH_TYPE
from streams.kafka.servers import bootstrap_servers
from streams.kafka.topics import EVENTS
from tests.integration.live import SECRET, aidmon, write_config
from tests.paths import ROOT, SAMPLE, require

pytestmark = pytest.mark.kafka
BATCH = 100


def valid_ids(path: Path) -> list[str]:
    """The ids of the lines `publish` sends (re-sent events included), in order."""
    decode = Decoder(Pseudonymiser(SECRET.encode()))
    ids = []
    for line in path.read_bytes().splitlines():
        if not line.strip():
            continue
        try:
            ids.append(decode(line).id)
        except InvalidEventError:
            continue
    return ids


def read_messages(broker: str, expected_events: int, timeout: float = 60) -> list[Any]:
    """aid.events.v1 from the beginning, until it holds `expected_events` events and then
    2 s pass without a message (so that extra ones would be seen)."""
    consumer = KafkaConsumer(EVENTS, bootstrap_servers=bootstrap_servers(broker), group_id=None,
                             auto_offset_reset="earliest", enable_auto_commit=False, client_id="aidmon-tests")
    messages: list[Any] = []
    try:
        deadline, quiet_since = time.monotonic() + timeout, time.monotonic()
        while time.monotonic() < deadline:
            got = [record for records in consumer.poll(timeout_ms=500).values() for record in records]
            messages += got
            if got:
                quiet_since = time.monotonic()
            elif sum(len(json.loads(m.value)) for m in messages) >= expected_events \
                    and time.monotonic() - quiet_since > 2:
                break
    finally:
        consumer.close()
    return messages


def test_publish_batch_sends_json_arrays_with_the_batch_content_type(fresh_kafka: str, tmp_path: Path) -> None:
    """Every valid line of the sample once, in arrays of at most BATCH events, each message with
    the batch header and keyed by its first event's subject; the summary counts events."""
    events = require(SAMPLE / "events.jsonl")
    config = write_config(tmp_path / "aidmon.toml", "publish-batch")
    aidmon(fresh_kafka, "topics", "create", "--config", str(config))
    published = aidmon(fresh_kafka, "publish", str(events), "--batch", str(BATCH), "--config", str(config))
    expected = valid_ids(events)
    assert f"sent: {len(expected)}, acknowledged: {len(expected)}, failed: 0;" in published.stdout

    messages = read_messages(fresh_kafka, len(expected))
    arrays = [json.loads(message.value) for message in messages]
    assert all(isinstance(array, list) and 1 <= len(array) <= BATCH for array in arrays)
    assert all(("content-type", BATCH_TYPE) in message.headers for message in messages)
    assert all(message.key == array[0]["subject"].encode() for message, array in zip(messages, arrays, strict=True))
    assert len(messages) == math.ceil(len(expected) / BATCH)  # small events: no batch split for its size
    assert Counter(event["id"] for array in arrays for event in array) == Counter(expected)


def test_lag_and_an_ordinary_publish_write_nothing_to_standard_error(fresh_kafka: str, tmp_path: Path) -> None:
    """`aidmon publish` of valid events and `aidmon lag` say nothing on standard error: no
    warning (lag warned `group_id is None` at every run, a publish dozens of "producer buffer
    full"), at the default log level."""
    config = write_config(tmp_path / "aidmon.toml", "quiet")
    decode = Decoder(Pseudonymiser(SECRET.encode()))
    lines = require(SAMPLE / "events.jsonl").read_bytes().splitlines()
    valid = [line for line in lines if line.strip() and _decodes(decode, line)]
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(valid) + b"\n")
    env = {"PYTHONPATH": str(ROOT)}  # this checkout's code, whatever the venv's editable install points at
    aidmon(fresh_kafka, "topics", "create", "--config", str(config), env=env)

    published = aidmon(fresh_kafka, "publish", str(events), "--config", str(config), env=env)
    assert f"sent: {len(valid)}, acknowledged: {len(valid)}, failed: 0;" in published.stdout
    assert published.stderr == ""
    lag = aidmon(fresh_kafka, "lag", "--config", str(config), env=env)
    assert lag.stdout.strip() and lag.stderr == ""


def _decodes(decode: Decoder, line: bytes) -> bool:
    try:
        decode(line)
    except InvalidEventError:
        return False
    return True
