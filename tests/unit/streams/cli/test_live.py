"""The live commands' arguments, and their refusal to start without a pseudonymisation secret
or on a web port another process holds."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from streams.cli.main import main


@pytest.mark.parametrize("batch", ["0", "-3", "ten"])
def test_publish_refuses_a_batch_size_below_one(batch: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`publish --batch N` takes a whole number of at least 1; anything else is a usage error (exit 2)."""
    with pytest.raises(SystemExit) as stopped:
        main(["publish", "events.jsonl", "--batch", batch])
    assert stopped.value.code == 2
    assert "argument --batch" in capsys.readouterr().err


@pytest.fixture
def config_without_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A settings file without [pseudonymisation], in an environment without AIDMON_ variables,
    pointing at a port where no broker listens (a command that connected would fail otherwise)."""
    for name in os.environ:
        if name.upper().startswith("AIDMON_"):
            monkeypatch.delenv(name)
    config = tmp_path / "aidmon.toml"
    config.write_text('broker = "kafka://127.0.0.1:9"\n[kafka]\napp_id = "no-secret"\n', encoding="utf-8")
    return config


@pytest.mark.parametrize("command", [["worker", "--data-dir", "{tmp}/w"], ["publish", "{tmp}/events.jsonl"]])
def test_the_live_path_refuses_to_start_without_a_secret(
    command: list[str], config_without_secret: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`worker` and `publish` without a pseudonymisation secret exit 2 with one line naming the
    setting, its environment variable and how to make one, before connecting or writing anything."""
    (tmp_path / "events.jsonl").write_text("{}\n", encoding="utf-8")
    args = [part.format(tmp=tmp_path) for part in command] + ["--config", str(config_without_secret)]
    assert main(args) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("aidmon: error: setting pseudonymisation.secret: ")
    assert "AIDMON_PSEUDONYMISATION__SECRET" in lines[0] and "secrets.token_urlsafe(32)" in lines[0]
    assert not (tmp_path / "w").exists()


def test_replay_still_runs_without_a_secret(
    config_without_secret: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Replay (offline) warns and uses a random key for the run instead of refusing."""
    events = tmp_path / "events.jsonl"
    events.write_text("", encoding="utf-8")
    assert main(["replay", str(events), "--config", str(config_without_secret),
                 "--alerts", str(tmp_path / "alerts.jsonl")]) == 0
    assert "no pseudonymisation secret configured" in caplog.text


def test_the_worker_refuses_a_web_port_another_process_holds(
    config_without_secret: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A web port already listened on ends `worker` with one line naming it (exit 2), before
    it connects to a broker or writes anything, instead of Faust's traceback later."""
    monkeypatch.setenv("AIDMON_PSEUDONYMISATION__SECRET", "a-secret-of-at-least-16-bytes")
    with socket.create_server(("127.0.0.1", 0)) as held:
        port = held.getsockname()[1]
        code = main(["worker", "--data-dir", str(tmp_path / "w"), "--web-port", str(port),
                     "--config", str(config_without_secret)])
    assert code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and f"web port {port} on 127.0.0.1" in lines[0] and "--web-port" in lines[0]
    assert not (tmp_path / "w").exists()
