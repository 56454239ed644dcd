"""`aidmon replay` on the shared labelled sample: the contract's scorecard, as CI runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.paths import SAMPLE, SCORE, require

AIDMON = Path(sys.executable).with_name("aidmon")


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("sample")
    alerts, rejects = out / "alerts.jsonl", out / "rejects.jsonl"
    run = subprocess.run(
        [str(AIDMON), "replay", str(require(SAMPLE / "events.jsonl")), "--sanctions", str(SAMPLE / "sanctions.xml"),
         "--alerts", str(alerts), "--rejects", str(rejects), "--summary-json", str(out / "summary.json")],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert run.returncode == 0, run.stderr
    score = subprocess.run(
        [sys.executable, str(require(SCORE)), str(SAMPLE / "truth.json"), str(alerts),
         "--rejects", str(rejects), "--json"],
        capture_output=True, text=True, timeout=120, check=True,
    )
    return {
        "run": run,
        "score": json.loads(score.stdout),
        "alerts": alerts,
        "rejects": rejects,
        "summary": json.loads((out / "summary.json").read_text(encoding="utf-8")),
    }


def test_every_finding_and_nothing_else(replayed: dict[str, Any]) -> None:
    """Precision and recall are 1.0 for each of the nine typologies, one alert id per finding."""
    score = replayed["score"]
    for typology, row in score["typologies"].items():
        assert row["fn"] == 0 and row["fp"] == 0, (typology, row)
    summary = score["summary"]
    assert summary["precision"] == 1.0 and summary["recall"] == 1.0
    assert summary["alert_ids_per_finding"] == 1.0
    assert summary["unknown_typologies"] == [] and summary["unparseable_alert_lines"] == 0


def test_raw_identifier_never_leaks_and_its_double_collection_is_caught(replayed: dict[str, Any]) -> None:
    """The raw beneficiary id is tokenised at ingest, so alerts never carry it, yet its duplicate is found."""
    truth = json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))
    assert replayed["score"]["summary"]["raw_id_leaked"] is False
    assert replayed["score"]["summary"]["raw_duplicate_caught"] is True
    output = replayed["run"].stdout + replayed["run"].stderr
    assert truth["raw_duplicate"]["raw_id"] not in output


def test_rejects_exactly_the_malformed_lines_kept_whole(replayed: dict[str, Any]) -> None:
    """Each malformed line is rejected once, with a reason, and its raw text is kept as it was."""
    truth = json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))
    rejects = [json.loads(line) for line in Path(replayed["rejects"]).read_text(encoding="utf-8").splitlines()]
    assert len(rejects) == truth["noise"]["malformed"]
    lines = (SAMPLE / "events.jsonl").read_bytes().splitlines()
    for reject in rejects:
        assert reject["reason"] and reject["detail"]
        assert reject["raw"].encode("utf-8") == lines[reject["line"] - 1]


def test_summary_counts_the_noise(replayed: dict[str, Any]) -> None:
    """The summary reports lines read, duplicates and rejects by reason as the sample's truth has them,
    in the JSON summary and on the console alike."""
    noise = json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))["noise"]
    summary = replayed["summary"]
    assert summary["lines"] == noise["lines"] == len((SAMPLE / "events.jsonl").read_bytes().splitlines())
    assert summary["duplicates"] == noise["duplicates"]
    assert summary["accepted"] == noise["events"]
    assert sum(summary["rejects"].values()) == noise["malformed"]
    assert summary["lines"] == summary["blank"] + summary["accepted"] + summary["duplicates"] + noise["malformed"]
    console = replayed["run"].stdout
    assert f"events read: {noise['lines']} lines ({summary['blank']} blank), {noise['events']} accepted, " in console
    assert f"{noise['duplicates']} duplicates\nrejects: {noise['malformed']} (" in console
