"""`aidmon generate` then `aidmon replay`: streams the tests never saw, scored against their truth."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

AIDMON = Path(sys.executable).with_name("aidmon")


def _aidmon(*args: str) -> subprocess.CompletedProcess[str]:
    run = subprocess.run([str(AIDMON), *args], capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    return run


@pytest.mark.parametrize(("seed", "mix"), [(101, "default"), (202, "default"), (303, "default"),
                                         (404, "convoys-and-camps")])
def test_replay_finds_exactly_the_planted_findings(seed: int, mix: str, tmp_path: Path) -> None:
    """Every planted finding, nothing else, one alert per finding; the raw id's double collection is caught."""
    events, truth_file, names = tmp_path / "events.jsonl", tmp_path / "truth.json", tmp_path / "list.xml"
    _aidmon("generate", "--out", str(events), "--truth", str(truth_file), "--sanctions", str(names),
            "--seed", str(seed), "--shipments", "120", "--mix", mix)
    alerts_file, rejects_file = tmp_path / "alerts.jsonl", tmp_path / "rejects.jsonl"
    run = _aidmon("replay", str(events), "--sanctions", str(names), "--alerts", str(alerts_file),
                  "--rejects", str(rejects_file))
    truth = json.loads(truth_file.read_text(encoding="utf-8"))
    alerts = [json.loads(line) for line in alerts_file.read_text(encoding="utf-8").splitlines()]

    found = Counter((a["typology"], a["subject"]["id"]) for a in alerts)
    planted = {tuple(f) for f in truth["findings"]}
    raw_doubles = [a for a in alerts if (a["typology"], a["subject"]["id"]) not in planted]
    # the raw identifier's token depends on the (random, unconfigured) secret: one more alert
    assert len(raw_doubles) == len(truth["raw_ids"]), raw_doubles
    assert all(a["typology"] == "duplicate_collection" for a in raw_doubles)
    assert planted <= set(found), sorted(planted - set(found))
    assert max(found.values()) == 1, "one alert id per finding"

    text = alerts_file.read_text(encoding="utf-8") + run.stdout + run.stderr
    assert not any(raw in text for raw in truth["raw_ids"])
    rejects = rejects_file.read_text(encoding="utf-8").splitlines()
    assert len(rejects) == truth["noise"]["malformed"]
