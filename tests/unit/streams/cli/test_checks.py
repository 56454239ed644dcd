"""The live commands without a broker: each fails at once with one line naming the address,
exit status 1; a Kafka client's exception that escapes a command is one line too."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from streams.cli.checks import kafka_failure, retried
from streams.cli.main import main

SECRET_CONFIG = '[pseudonymisation]\nsecret = "unit-test-secret-0123456789"\n[kafka]\napp_id = "no-broker"\n'  # noqa: S105 - a test fixture


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def no_broker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A broker address where nothing listens, in an environment without AIDMON_ variables."""
    for name in os.environ:
        if name.upper().startswith("AIDMON_"):
            monkeypatch.delenv(name)
    (tmp_path / "aidmon.toml").write_text(SECRET_CONFIG, encoding="utf-8")
    (tmp_path / "events.jsonl").write_text("{}\n", encoding="utf-8")
    return f"127.0.0.1:{closed_port()}"


COMMANDS = [
    ["topics", "create"],
    ["lag"],
    ["alerts", "export", "--out", "{tmp}/alerts.jsonl"],
    ["alerts", "tail"],
    ["publish", "{tmp}/events.jsonl"],
    ["worker", "--data-dir", "{tmp}/w"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_each_command_without_a_broker_fails_at_once_in_one_line(
    command: list[str], no_broker: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 1 at once (the worker imports Faust first), one line on standard error naming the
    address and `aidmon broker start`, nothing written."""
    args = [part.format(tmp=tmp_path) for part in command]
    args += ["--broker", f"kafka://{no_broker}", "--config", str(tmp_path / "aidmon.toml")]
    started = time.monotonic()
    assert main(args) == 1
    assert time.monotonic() - started < 10.0  # not the Kafka clients' 30 s and more
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"aidmon: error: no Kafka broker answers at {no_broker} (connection refused): ")
    assert "`aidmon broker start`" in lines[0]
    assert not (tmp_path / "alerts.jsonl").exists() and not (tmp_path / "w").exists()


@pytest.mark.parametrize("where", ["--broker", "AIDMON_BROKER", "config"])
def test_a_bad_broker_port_is_one_line_naming_the_setting(
    where: str, no_broker: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`lag` with a port of superscript digits (str.isdigit accepts them), given as the option,
    in the environment or in the file: exit 2 as for any bad setting, one line naming the
    setting and the server, no traceback."""
    config = tmp_path / "aidmon.toml"
    bad = "kafka://localhost:²"
    args = ["lag", "--config", str(config)]
    if where == "--broker":
        args += ["--broker", bad]
    elif where == "AIDMON_BROKER":
        monkeypatch.setenv("AIDMON_BROKER", bad)
    else:
        config.write_text(f'broker = "{bad}"\n' + SECRET_CONFIG, encoding="utf-8")
    assert main(args) == 2
    lines = capsys.readouterr().err.splitlines()
    setting = "--broker" if where == "--broker" else "broker"
    assert lines == [f"aidmon: error: setting {setting}: 'localhost:²': the port must be a number from 1 to "
                     "65535, as in kafka://HOST:9092"]


def test_a_kafka_client_failure_is_one_line_naming_the_broker() -> None:
    """An exception of kafka-python (or aiokafka) becomes one line, saying to try again when the
    client calls it retriable; any other exception is not ours to word."""
    from aiokafka.errors import KafkaConnectionError
    from kafka.errors import KafkaConfigurationError, KafkaTimeoutError

    line = kafka_failure(KafkaTimeoutError("Failed to update metadata after 60.0 secs."), "kafka://h:9092")
    assert line == ("the Kafka client failed with h:9092 (KafkaTimeoutError: Failed to update metadata after "
                    "60.0 secs.): the broker is not ready for it yet, try again")
    line = kafka_failure(KafkaConfigurationError("bad"), "kafka://h:9092")
    assert line == ("the Kafka client failed with h:9092 (KafkaConfigurationError: bad): is the broker running? "
                    "`aidmon broker start` starts one")
    assert "the configured broker (KafkaConnectionError" in (kafka_failure(KafkaConnectionError(), None) or "")
    assert kafka_failure(ValueError("x"), "kafka://h:9092") is None


def test_retriable_errors_are_tried_again_and_others_raised_at_once() -> None:
    """`retried` repeats a request while its error is retriable, and passes any other on."""
    from kafka.errors import CoordinatorNotAvailableError, KafkaConfigurationError

    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise CoordinatorNotAvailableError("no coordinator yet")
        return "lag"

    assert retried(flaky, seconds=5.0) == "lag" and len(calls) == 3
    with pytest.raises(KafkaConfigurationError):
        retried(lambda: (_ for _ in ()).throw(KafkaConfigurationError("bad")))
