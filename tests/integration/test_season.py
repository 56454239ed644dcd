"""A season on a real broker: the retention forgets the first quarter while the second is
processed, and a worker killed then still gives replay's alerts."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from streams.dev import synthetic
from streams.dev.synthetic.season import copy_quarter, quarter_days
from tests.integration.live import (
    aidmon,
    alert_differences,
    detection_lag,
    exported,
    ids_per_pair,
    replay_alerts,
    start_worker,
    stop,
    wait_caught_up,
    wait_caught_up_supervised,
    write_config,
)
from tests.integration.test_api import read_topic

pytestmark = pytest.mark.kafka
SHIPMENTS = 120  # ~11k events a quarter, 94 days of event time: two sweeps' steps and more


def test_a_worker_killed_in_the_second_quarter_gives_replays_alerts(fresh_kafka: str, tmp_path: Path) -> None:
    """Two quarters of the generator's stream, the second its copy moved on in event time:
    the first processed, the second published and the worker killed with SIGKILL half-way
    through it (the default retention of 45 days forgetting the first quarter meanwhile),
    then restarted. The last version of every alert equals replay's, one id per finding,
    and the state changelog holds the tombstones of what the retention forgot."""
    quarter = synthetic.generate(seed=2012, shipments=SHIPMENTS).lines
    second = list(copy_quarter(quarter, 1, quarter_days(quarter)))
    first_file, second_file, season_file = tmp_path / "q1.jsonl", tmp_path / "q2.jsonl", tmp_path / "season.jsonl"
    first_file.write_text("".join(line + "\n" for line in quarter), encoding="utf-8")
    second_file.write_text("".join(line + "\n" for line in second), encoding="utf-8")
    season_file.write_text(first_file.read_text(encoding="utf-8") + second_file.read_text(encoding="utf-8"),
                           encoding="utf-8")
    sanctions = tmp_path / "sanctions.xml"
    sanctions.write_text(synthetic.sanctions_xml(), encoding="utf-8")
    config = write_config(tmp_path / "aidmon.toml", "season")
    aidmon(fresh_kafka, "topics", "create", "--config", str(config))
    log = tmp_path / "worker.log"

    def start() -> subprocess.Popen[bytes]:
        return start_worker(fresh_kafka, config, sanctions, tmp_path / "w", log, log_level="INFO")

    worker = start()
    try:
        aidmon(fresh_kafka, "publish", str(first_file), "--config", str(config))
        wait_caught_up(fresh_kafka, "season", log=log)
        aidmon(fresh_kafka, "publish", str(second_file), "--config", str(config))
        deadline = time.monotonic() + 120
        while (behind := detection_lag(fresh_kafka, "season") or 0) > len(second) // 2 \
                and time.monotonic() < deadline:
            time.sleep(0.2)
        stop(worker, hard=True)
        assert behind > 0, "the worker was through the second quarter before it could be killed"
        worker = wait_caught_up_supervised(fresh_kafka, "season", start(), start, log)
        live = exported(fresh_kafka)
    finally:
        stop(worker)
    replayed = replay_alerts(season_file, sanctions, config, tmp_path / "replay.jsonl")
    differences = alert_differences(live, replayed)
    assert not differences, f"{len(differences)} differences from replay:\n" + "\n".join(differences[:40])
    assert all(len(ids) == 1 for ids in ids_per_pair(live).values())
    assert len(replayed) > 50
    tombstones = sum(value is None for _, value in read_topic(fresh_kafka, "season-state-changelog"))
    assert tombstones > 1000, f"the retention forgot only {tombstones} keys"
