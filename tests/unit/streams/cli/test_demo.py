"""`aidmon demo` and `aidmon simulate` without a broker: the offline replay, the fall-back when
Java is missing, and one-line refusals (a taken port, no broker, bad options)."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from schemas.exceptions import BrokerError
from streams.cli import demo
from streams.cli.main import main

FAST = ["--shipments", "12", "--seed", "2012", "--speed", "10000000"]  # the season in about a second
ALERT = re.compile(r"^#\d+\s+\S+Z\s+(new|update)\s", re.MULTILINE)


def test_the_offline_demo_prints_each_alert_and_a_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`demo --offline` replays the scenario at its pace and prints one line per alert version and a summary."""
    assert main(["demo", "--offline", "--dir", str(tmp_path), "--seconds", "30", *FAST]) == 0
    out = capsys.readouterr().out
    assert len(ALERT.findall(out)) >= 5
    assert re.search(r"stopped; \d+ of \d+ lines sent, the end of the stream; \d+ alerts of [5-9] typologies", out)


def test_without_java_the_demo_says_so_in_one_line_and_replays_offline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No `java` on PATH: one line says the broker cannot run and why, then the same scenario is replayed."""
    monkeypatch.setattr("streams.dev.local_broker.jars.shutil.which", lambda name: None)
    assert main(["demo", "--dir", str(tmp_path), "--seconds", "30", *FAST]) == 0
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert first.startswith("aidmon demo: no local Kafka broker (java is not on PATH")
    assert first.endswith("replaying the same scenario offline instead")
    assert ALERT.search(out)


def test_a_taken_web_port_is_one_line_and_starts_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--web-port` on a port in use: exit 1 with one line naming the port, before any broker starts."""
    monkeypatch.setattr(demo, "kafka_missing", lambda: None)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["demo", "--dir", str(tmp_path), "--web-port", str(port), "--shipments", "3"])
    assert code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"port {port} (--web-port) on 127.0.0.1 is already in use" in err
    assert not (tmp_path / "broker").exists()


def test_a_broker_that_does_not_start_is_one_line_naming_its_logs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The broker's failure (its message carries the end of its logs) is one line pointing at the logs; exit 1."""
    def failing(*args: object, **kwargs: object) -> str:
        raise BrokerError("the Kafka broker exited with status 1 while starting:\n--- broker.out ---\nboom")

    monkeypatch.setattr(demo, "kafka_missing", lambda: None)
    monkeypatch.setattr("streams.cli.demo_stack.start_broker", failing)
    assert main(["demo", "--dir", str(tmp_path), "--shipments", "3"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("aidmon: error: the Kafka broker exited with status 1 while starting (its logs: ")


def test_simulate_without_a_broker_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`simulate` against an address where no broker answers: exit 1, one line naming it."""
    config = tmp_path / "aidmon.toml"
    config.write_text('[pseudonymisation]\nsecret = "a-test-secret-of-some-length"\n', encoding="utf-8")
    code = main(["simulate", "--config", str(config), "--broker", "kafka://127.0.0.1:9", "--shipments", "2"])
    assert code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "127.0.0.1:9" in err


@pytest.mark.parametrize("options", [["--speed", "10", "--rate", "5"], ["--speed", "0"], ["--seconds", "-1"],
                                     ["--shipments", "0"]])
def test_bad_pace_options_are_usage_errors(options: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """A speed with a rate, or a pace, time or size not above 0, is refused by the parser (exit 2)."""
    for command in ("simulate", "demo"):
        with pytest.raises(SystemExit) as stopped:
            main([command, *options])
        assert stopped.value.code == 2


@pytest.mark.parametrize("port", ["0", "70000", "http"])
def test_a_port_out_of_range_is_a_usage_error(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`--web-port` and `--broker-port` take a TCP port, 1-65535 (exit 2 otherwise)."""
    for option in ("--web-port", "--broker-port"):
        with pytest.raises(SystemExit) as stopped:
            main(["demo", option, port])
        assert stopped.value.code == 2
        assert "is not a TCP port" in capsys.readouterr().err


def test_an_unknown_mix_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--mix` names one of the generator's mixes; another is exit 2 with one line listing them."""
    assert main(["demo", "--offline", "--dir", str(tmp_path), "--mix", "lots"]) == 2
    assert "unknown mix 'lots': use one of default, convoys-and-camps" in capsys.readouterr().err
