"""The live path on a real broker: the same alerts as replay, through crashes and scale-out."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.live import (
    AIDMON,
    Supervisor,
    aidmon,
    alert_differences,
    exported,
    ids_per_pair,
    pairs,
    rejected,
    replay_alerts,
    start_worker,
    stop,
    wait_caught_up,
    wait_caught_up_supervised,
    write_config,
)
from tests.paths import SAMPLE, require

pytestmark = pytest.mark.kafka
EVENTS, SANCTIONS, TRUTH = SAMPLE / "events.jsonl", SAMPLE / "sanctions.xml", SAMPLE / "truth.json"


def truth() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(require(TRUTH).read_text(encoding="utf-8"))
    return data


def truth_pairs() -> set[tuple[str, str]]:
    return {(typology, subject) for typology, subject in truth()["findings"]}


def assert_same_alerts_as_replay(live: list[dict[str, Any]], config: Path, tmp_path: Path) -> list[dict[str, Any]]:
    """The last version of every alert on the topic equals replay's, field by field; one alert id
    per (typology, subject). Returns replay's alerts."""
    replayed = replay_alerts(EVENTS, SANCTIONS, config, tmp_path / "replay.jsonl")
    differences = alert_differences(live, replayed)
    assert not differences, f"{len(differences)} differences from replay:\n" + "\n".join(differences[:40])
    assert all(len(ids) == 1 for ids in ids_per_pair(live).values())
    return replayed


def test_one_worker_gives_the_alerts_of_replay(fresh_kafka: str, tmp_path: Path) -> None:
    """Parity: the sample published and processed by one worker gives replay's findings, the truth's."""
    config = write_config(tmp_path / "aidmon.toml", "parity")
    aidmon(fresh_kafka, "topics", "create", "--config", str(config))
    log = tmp_path / "worker.log"
    worker = start_worker(fresh_kafka, config, SANCTIONS, tmp_path / "w", log)
    try:
        published = aidmon(fresh_kafka, "publish", str(require(EVENTS)), "--config", str(config))
        noise = truth()["noise"]
        valid = noise["events"] + noise["duplicates"]  # the publisher sends re-sent events too: the worker drops them
        assert f"sent: {valid}, acknowledged: {valid}, failed: 0; rejected: {noise['malformed']} (" in published.stdout
        wait_caught_up(fresh_kafka, "parity", log=log)
        live = exported(fresh_kafka)
    finally:
        stop(worker)
    expected = pairs(assert_same_alerts_as_replay(live, config, tmp_path))
    assert truth_pairs() <= expected and len(expected - truth_pairs()) == 1  # + the raw id's double collection


def test_a_killed_worker_loses_nothing_and_doubles_nothing(fresh_kafka: str, tmp_path: Path) -> None:
    """Crash: SIGKILL in the middle of the stream, restart: every finding, one alert id each.
    The first half of the stream is published, the worker killed as the call returns (it is
    still working through it, or has just done so and not yet judged the idle partitions),
    the second half published while it is down: the worker restarted has the rest to read,
    so its group cannot look caught up before it has joined."""
    config = write_config(tmp_path / "aidmon.toml", "crash")
    aidmon(fresh_kafka, "topics", "create", "--config", str(config))
    halves = split_in_two(require(EVENTS), tmp_path)
    log = tmp_path / "worker.log"  # at INFO: rebalances, recovery and commits, should it fail
    worker = start_worker(fresh_kafka, config, SANCTIONS, tmp_path / "w", log, log_level="INFO")
    try:
        aidmon(fresh_kafka, "publish", str(halves[0]), "--config", str(config))
        stop(worker, hard=True)
        aidmon(fresh_kafka, "publish", str(halves[1]), "--config", str(config))

        def start() -> subprocess.Popen[bytes]:
            return start_worker(fresh_kafka, config, SANCTIONS, tmp_path / "w", log, log_level="INFO")

        worker = wait_caught_up_supervised(fresh_kafka, "crash", start(), start, log)
        live = exported(fresh_kafka)
    finally:
        stop(worker)
    assert_same_alerts_as_replay(live, config, tmp_path)


def test_a_killed_detection_process_stops_the_worker_with_one_line(fresh_kafka: str, tmp_path: Path) -> None:
    """The detection process killed mid-stream: the worker says so in one line, no
    traceback, and exits 3; restarted (the lanes backlog it left behind met on every
    partition, and the second half of the stream published meanwhile), it gives replay's
    alerts."""
    config = write_config(tmp_path / "aidmon.toml", "child")
    aidmon(fresh_kafka, "topics", "create", "--config", str(config))
    halves = split_in_two(require(EVENTS), tmp_path)
    log = tmp_path / "worker.log"
    worker = start_worker(fresh_kafka, config, SANCTIONS, tmp_path / "w", log)
    try:
        [child] = detection_processes(worker.pid)
        aidmon(fresh_kafka, "publish", str(halves[0]), "--config", str(config))
        os.kill(child, signal.SIGKILL)
        assert worker.wait(timeout=60) == 3, "the worker went on without its detection process, or exited 0"
        said = log.read_text(errors="replace")
        assert said.count("the detection process has ended") == 1 and "Traceback" not in said, said[-3000:]
        aidmon(fresh_kafka, "publish", str(halves[1]), "--config", str(config))

        def start() -> subprocess.Popen[bytes]:
            return start_worker(fresh_kafka, config, SANCTIONS, tmp_path / "w", log, log_level="INFO")

        worker = wait_caught_up_supervised(fresh_kafka, "child", start(), start, log)
        live = exported(fresh_kafka)
    finally:
        stop(worker)
    assert_same_alerts_as_replay(live, config, tmp_path)


def split_in_two(events: Path, folder: Path) -> tuple[Path, Path]:
    """The first and the second half of the lines of `events`, as two files in `folder`."""
    lines = events.read_text(encoding="utf-8").splitlines(keepends=True)
    first, second = folder / "first.jsonl", folder / "second.jsonl"
    first.write_text("".join(lines[: len(lines) // 2]), encoding="utf-8")
    second.write_text("".join(lines[len(lines) // 2:]), encoding="utf-8")
    return first, second


def detection_processes(worker: int, timeout: float = 30) -> list[int]:
    """The worker's detection process, once it has forked it: a child running the worker's
    own executable (other children a library may run briefly run another; the command
    line is no guide, Faust retitles the worker)."""
    executable = os.readlink(f"/proc/{worker}/exe")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        forked = []
        for pid in Path(f"/proc/{worker}/task/{worker}/children").read_text().split():
            try:
                if os.readlink(f"/proc/{pid}/exe") == executable:
                    forked.append(int(pid))
            except OSError:
                continue  # a child that has just ended
        if forked:
            return forked
        time.sleep(0.2)
    raise AssertionError(f"worker {worker} started no detection process in {timeout:.0f} s")


def test_two_workers_split_the_partitions_and_agree_with_one(fresh_kafka: str, tmp_path: Path) -> None:
    """Scale-out: two workers in one group, each with partitions (and restarted if it stops
    on its own, as its supervisor would), give the one worker's alerts."""
    from kafka import KafkaAdminClient

    config = write_config(tmp_path / "aidmon.toml", "pair")
    aidmon(fresh_kafka, "topics", "create", "--config", str(config))
    log = tmp_path / "worker.log"
    workers = Supervisor()
    try:
        for data_dir in ("w1", "w2"):
            workers.start(functools.partial(start_worker, fresh_kafka, config, SANCTIONS, tmp_path / data_dir, log))
        time.sleep(8)  # both join the group before the stream comes
        aidmon(fresh_kafka, "publish", str(require(EVENTS)), "--config", str(config))
        workers.wait_caught_up(fresh_kafka, "pair", log)
        admin = KafkaAdminClient(bootstrap_servers=fresh_kafka.removeprefix("kafka://"))
        try:
            members = admin.describe_groups(["pair"])["pair"]["members"]
        finally:
            admin.close()
        live = exported(fresh_kafka)
    finally:
        workers.stop()
    assert len(members) == 2
    assert_same_alerts_as_replay(live, config, tmp_path)


def test_a_worker_joining_mid_stream_takes_over_partitions_with_their_state(fresh_kafka: str, tmp_path: Path) -> None:
    """Scale-out under load: a second worker joins while the first is processing the stream;
    the partitions it takes over are read back from their changelog, and the pair gives
    replay's alerts."""
    config = write_config(tmp_path / "aidmon.toml", "join")
    aidmon(fresh_kafka, "topics", "create", "--config", str(config))
    log = tmp_path / "worker.log"
    workers = Supervisor()
    try:
        workers.start(functools.partial(start_worker, fresh_kafka, config, SANCTIONS, tmp_path / "w1", log))
        time.sleep(8)
        publisher = subprocess.Popen(
            [str(AIDMON), "publish", str(require(EVENTS)), "--rate", "1000", "--config", str(config)],
            stdout=subprocess.DEVNULL, env={**os.environ, "AIDMON_BROKER": fresh_kafka},
        )
        time.sleep(5)  # the first worker has state for every partition by now
        workers.start(functools.partial(start_worker, fresh_kafka, config, SANCTIONS, tmp_path / "w2", log))
        assert publisher.wait(timeout=120) == 0
        workers.wait_caught_up(fresh_kafka, "join", log)
        live = exported(fresh_kafka)
    finally:
        workers.stop()
    assert_same_alerts_as_replay(live, config, tmp_path)


def test_a_worker_whose_reading_of_its_state_stalls_stops_with_one_line(fresh_kafka: str, tmp_path: Path) -> None:
    """A recovery that gets nothing from the changelog with records left (the consumer of
    `stalling_worker` never resumes its partitions) stops the worker after
    `recovery_stall_seconds`: exit status 3 and one line, for its supervisor to restart it."""
    config = write_config(tmp_path / "aidmon.toml", "stall")
    with config.open("a", encoding="utf-8") as out:
        out.write("recovery_stall_seconds = 10.0\n")  # in [kafka], the file's last table
    aidmon(fresh_kafka, "topics", "create", "--config", str(config))
    worker = start_worker(fresh_kafka, config, SANCTIONS, tmp_path / "w1", tmp_path / "first.log")
    try:
        aidmon(fresh_kafka, "publish", str(require(EVENTS)), "--config", str(config))
        wait_caught_up(fresh_kafka, "stall", log=tmp_path / "first.log")
    finally:
        stop(worker)
    log = tmp_path / "stalled.log"
    stalled = start_worker(fresh_kafka, config, SANCTIONS, tmp_path / "w2", log,
                           command=(sys.executable, "-m", "tests.integration.stalling_worker"))
    try:
        status = stalled.wait(timeout=120)
    finally:
        stop(stalled)
    text = log.read_text(errors="replace")
    assert status == 3, text[-3000:]
    stops = [line for line in text.splitlines() if "reading the state back has not moved for" in line]
    assert len(stops) == 1 and "stall-state-changelog[" in stops[0] and "left" in stops[0]
    assert "Traceback" not in text


def test_malformed_messages_are_dead_lettered_and_the_worker_goes_on(fresh_kafka: str, tmp_path: Path) -> None:
    """Bad messages sent straight to aid.events.v1 land in aid.rejects.v1 with a reason; later ones still count."""
    from kafka import KafkaProducer

    config = write_config(tmp_path / "aidmon.toml", "bad")
    aidmon(fresh_kafka, "topics", "create", "--config", str(config))
    log = tmp_path / "worker.log"
    worker = start_worker(fresh_kafka, config, SANCTIONS, tmp_path / "w", log)
    bootstrap = fresh_kafka.removeprefix("kafka://")
    try:
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        bad = [b"{not json", b"[1, 2, 3]", b"\xff\xfe not utf-8", json.dumps({"specversion": "1.0"}).encode()]
        for value in bad:
            producer.send("aid.events.v1", value=value)
        token = "tok_" + "c" * 20
        for n in range(2):  # then a valid pair that must still raise an alert
            event = {"specversion": "1.0", "id": f"ok-{n}", "source": "/agencies/test", "type": "distribution.recorded",
                     "time": f"2012-07-02T08:0{n}:00Z", "subject": "DP-X",
                     "data": {"site_id": "DP-X", "round_id": "R1", "beneficiary": token, "household_size": 3,
                              "items": [{"commodity": "maize", "unit": "kg", "quantity": 5}]}}
            producer.send("aid.events.v1", key=b"DP-X", value=json.dumps(event).encode())
        producer.flush()
        producer.close()
        wait_caught_up(fresh_kafka, "bad", log=log)
        rejects = rejected(fresh_kafka)
        live = exported(fresh_kafka)
        assert worker.poll() is None, "the worker died"
    finally:
        stop(worker)
    assert sorted(r["reason"] for r in rejects) == ["missing_field", "not_an_object", "not_json", "not_json"]
    assert all("partition" in r and "offset" in r and ("raw" in r or "raw_base64" in r) for r in rejects)
    assert ("duplicate_collection", token) in pairs(live)


def test_batches_give_the_alerts_of_single_events(fresh_kafka: str, tmp_path: Path) -> None:
    """CloudEvents JSON batches (`publish --batch`, and one sent by hand) give replay's alerts;
    a malformed event of a batch is rejected alone, with its index, and its neighbours applied."""
    from kafka import KafkaProducer

    config = write_config(tmp_path / "aidmon.toml", "batch")
    aidmon(fresh_kafka, "topics", "create", "--config", str(config))
    log = tmp_path / "worker.log"
    worker = start_worker(fresh_kafka, config, SANCTIONS, tmp_path / "w", log)
    bootstrap = fresh_kafka.removeprefix("kafka://")
    try:
        published = aidmon(fresh_kafka, "publish", str(require(EVENTS)), "--batch", "300", "--config", str(config))
        noise = truth()["noise"]
        valid = noise["events"] + noise["duplicates"]
        assert f"sent: {valid}, acknowledged: {valid}, failed: 0;" in published.stdout
        lines = require(EVENTS).read_bytes().splitlines()
        resent = json.loads(next(line for line in lines if b'"site.registered"' in line))  # a duplicate: no effect
        batch = [{"specversion": "1.0", "type": "site.registered"}, resent, "not an event"]
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        producer.send("aid.events.v1", key=b"DP-X", value=json.dumps(batch).encode(),
                      headers=[("content-type", b"application/cloudevents-batch+json")])
        producer.flush()
        producer.close()
        wait_caught_up(fresh_kafka, "batch", log=log)
        rejects = rejected(fresh_kafka)
        live = exported(fresh_kafka)
    finally:
        stop(worker)
    assert sorted((r["index"], r["reason"]) for r in rejects if "index" in r) == [(0, "missing_field"),
                                                                                   (2, "not_an_object")]
    assert all("partition" in r and "offset" in r for r in rejects)
    assert_same_alerts_as_replay(live, config, tmp_path)
