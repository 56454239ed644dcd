"""`aidmon replay`: files and standard input, rejects kept whole, alert versions, exit codes."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from streams.cli.main import main

AIDMON = Path(sys.executable).with_name("aidmon")

SITE = {"specversion": "1.0", "id": "s1", "source": "/agencies/wfp/mli", "type": "site.registered",
        "time": "2012-07-01T00:00:00Z", "subject": "DP-A",
        "data": {"site_id": "DP-A", "name": "A", "kind": "distribution_point", "lat": 16.0, "lon": -3.0,
                 "caseload_households": 1}}


def _distribution(event_id: str, beneficiary: str, minute: int) -> dict[str, Any]:
    return {"specversion": "1.0", "id": event_id, "source": "/agencies/wfp/mli", "type": "distribution.recorded",
            "time": f"2012-07-02T08:{minute:02d}:00Z", "subject": "DP-A",
            "data": {"site_id": "DP-A", "round_id": "R1", "beneficiary": beneficiary, "household_size": 4,
                     "items": [{"commodity": "sorghum", "unit": "kg", "quantity": 50}]}}


def _lines(*events: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


def test_stdin_and_rejects_kept_whole(tmp_path: Path) -> None:
    """'-' reads standard input; a bad line (even invalid UTF-8) is kept byte for byte, exit is 0."""
    bad_utf8 = b'{"id": "\xff\xfe"}'
    data = _lines(SITE) + b"not json\n" + bad_utf8 + b"\n" + _lines(_distribution("d1", "tok_" + "a" * 20, 1))
    run = subprocess.run(
        [str(AIDMON), "replay", "-", "--alerts", str(tmp_path / "a.jsonl"), "--rejects", str(tmp_path / "r.jsonl")],
        input=data, capture_output=True, timeout=60, check=False,
    )
    assert run.returncode == 0, run.stderr
    rejects = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["line"] for r in rejects] == [2, 3]
    assert rejects[0]["raw"] == "not json" and rejects[0]["reason"] == "not_json"
    assert base64.b64decode(rejects[1]["raw_base64"]) == bad_utf8
    reasons = Counter(r["reason"] for r in rejects)
    by_reason = ", ".join(f"{reason} {count}" for reason, count in sorted(reasons.items()))
    assert f"rejects: {len(rejects)} ({by_reason})".encode() in run.stdout


def test_last_version_or_every_update(tmp_path: Path) -> None:
    """By default one line per alert id (its last version); --every-update writes each version."""
    token = "tok_" + "b" * 20
    events = tmp_path / "events.jsonl"
    events.write_bytes(_lines(SITE, *[_distribution(f"d{i}", token, i) for i in range(4)]))
    assert main(["replay", str(events), "--alerts", str(tmp_path / "last.jsonl")]) == 0
    assert main(["replay", str(events), "--alerts", str(tmp_path / "all.jsonl"), "--every-update"]) == 0
    last = [json.loads(x) for x in (tmp_path / "last.jsonl").read_text(encoding="utf-8").splitlines()]
    every = [json.loads(x) for x in (tmp_path / "all.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len({a["alert_id"] for a in last}) == len(last)
    duplicate = [a for a in last if a["typology"] == "duplicate_collection"]
    assert len(duplicate) == 1 and len(duplicate[0]["evidence"]) == 4
    assert len([a for a in every if a["typology"] == "duplicate_collection"]) == 3  # 2nd, 3rd, 4th visit
    assert {a["alert_id"] for a in every} == {a["alert_id"] for a in last}


def test_raw_beneficiary_is_tokenised_everywhere(tmp_path: Path) -> None:
    """A raw identifier in the input appears in no alert and nowhere on the console."""
    events = tmp_path / "events.jsonl"
    events.write_bytes(_lines(SITE, _distribution("d1", "MLI-TEST-0001", 1), _distribution("d2", "MLI-TEST-0001", 2)))
    config = tmp_path / "aidmon.toml"
    config.write_text('[pseudonymisation]\nsecret = "a-test-secret-of-some-length"\n', encoding="utf-8")
    run = subprocess.run(
        [str(AIDMON), "replay", str(events), "--config", str(config), "--alerts", str(tmp_path / "a.jsonl")],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert run.returncode == 0
    alerts = (tmp_path / "a.jsonl").read_text(encoding="utf-8")
    assert "duplicate_collection" in alerts
    assert "MLI-TEST-0001" not in alerts + run.stdout + run.stderr


def test_configuration_errors_exit_2_naming_the_key(tmp_path: Path) -> None:
    """A bad setting stops the run before reading events, with the key in the message."""
    events = tmp_path / "events.jsonl"
    events.write_bytes(_lines(SITE))
    config = tmp_path / "aidmon.toml"
    config.write_text("[detectors.transit_loss]\nloss_ratio = 'x'\n", encoding="utf-8")
    run = subprocess.run(
        [str(AIDMON), "replay", str(events), "--config", str(config), "--alerts", str(tmp_path / "a.jsonl")],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert run.returncode == 2
    assert "detectors.transit_loss.loss_ratio" in run.stderr


def test_missing_input_file_exit_2(tmp_path: Path) -> None:
    """A missing events file is a clear error, not a traceback."""
    run = subprocess.run(
        [str(AIDMON), "replay", str(tmp_path / "absent.jsonl"), "--alerts", str(tmp_path / "a.jsonl")],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert run.returncode == 2 and "cannot read" in run.stderr and "Traceback" not in run.stderr


def test_a_file_of_no_event_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A file where no line is an event (a binary, the wrong file) is replayed as any other,
    every line rejected and exit 0, with one warning saying so; a file with events has none."""
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_bytes(b"\x7fELF\x02\x01\n" + b"not json\n" * 3)
    assert main(["replay", str(wrong), "--alerts", str(tmp_path / "a.jsonl")]) == 0
    warnings = [r.getMessage() for r in caplog.records if "valid event" in r.getMessage()]
    assert warnings == [f"no line of {wrong} is a valid event (4 rejected, most as not_json): is it an events "
                        "file, one JSON event a line?"]
    caplog.clear()
    right = tmp_path / "right.jsonl"
    right.write_bytes(_lines(SITE) + b"not json\n")
    assert main(["replay", str(right), "--alerts", str(tmp_path / "b.jsonl")]) == 0
    assert not [r for r in caplog.records if "valid event" in r.getMessage()]


def test_a_reject_record_past_the_size_limit_keeps_the_start_and_a_fingerprint() -> None:
    """With max_raw_bytes, a long raw line is cut, its length and SHA-256 kept; a short one is whole."""
    import hashlib

    from schemas.exceptions import InvalidEventError
    from streams.rejects import reject_record

    raw = b"\xff" + b"x" * 5000
    record = reject_record("aid.events.v1[0]", 7, InvalidEventError("not_json", "not valid JSON"), raw, 1000)
    assert record["truncated"] is True and record["raw_length"] == 5001
    assert record["raw_sha256"] == hashlib.sha256(raw).hexdigest()
    assert len(base64.b64decode(record["raw_base64"])) == 1000
    whole = reject_record("f", 1, InvalidEventError("not_json", "x"), b"{", 1000)
    assert whole["raw"] == "{" and "truncated" not in whole
