"""One settings object: TOML file, environment overrides, errors that name the key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agents.config import DetectorConfig
from schemas.exceptions import ConfigurationError
from streams.settings import load_settings
from tests.paths import ROOT


@pytest.fixture(autouse=True)
def no_aidmon_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from an environment without AIDMON_ variables (a developer's exported
    secret or broker would otherwise override the files and defaults under test)."""
    for name in os.environ:
        if name.upper().startswith("AIDMON_"):
            monkeypatch.delenv(name)


def test_defaults_are_the_contracts() -> None:
    """With no file and no environment, every threshold is the contract's default."""
    settings = load_settings(None)
    assert settings.detectors == DetectorConfig()
    assert settings.detectors.transit_loss.loss_ratio == 0.02
    assert settings.detectors.incident_nearby.radius_km == 10.0
    assert settings.pseudonymisation.secret is None


def test_example_config_is_valid_and_equals_the_defaults() -> None:
    """examples/aidmon.toml documents the detector, Kafka, API and webhook keys with their defaults."""
    settings = load_settings(ROOT / "examples" / "aidmon.toml")
    assert settings.detectors == DetectorConfig()
    defaults = load_settings(None)
    assert (settings.kafka, settings.api, settings.webhooks) == (defaults.kafka, defaults.api, defaults.webhooks)


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """AIDMON_SECTION__KEY beats the TOML file; other keys of the file stay."""
    config = tmp_path / "aidmon.toml"
    config.write_text("[detectors.transit_loss]\nloss_ratio = 0.03\nhigh_loss_ratio = 0.2\n", encoding="utf-8")
    monkeypatch.setenv("AIDMON_DETECTORS__TRANSIT_LOSS__LOSS_RATIO", "0.05")
    settings = load_settings(config)
    assert settings.detectors.transit_loss.loss_ratio == 0.05
    assert settings.detectors.transit_loss.high_loss_ratio == 0.2


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[detectors.transit_loss]\nloss_rato = 0.03\n", "detectors.transit_loss.loss_rato"),
        ("[detectors.route_deviation]\ncorridor_km = 'far'\n", "detectors.route_deviation.corridor_km"),
        ("[detectors.route_deviation]\ncorridor_km = -1\n", "detectors.route_deviation"),
        ("[detectors.overdue_shipment]\nseverity = 'urgent'\n", "detectors.overdue_shipment.severity"),
        ("[nonsense]\nx = 1\n", "nonsense"),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, toml: str, key: str) -> None:
    """A misspelt key, a wrong type or a value out of range is an error naming the key."""
    config = tmp_path / "aidmon.toml"
    config.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigurationError) as info:
        load_settings(config)
    assert info.value.key == key


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    """A missing file or broken TOML is reported with the path."""
    with pytest.raises(ConfigurationError, match="no such file"):
        load_settings(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[detectors\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        load_settings(broken)


def test_secret_is_hidden_when_logged(tmp_path: Path) -> None:
    """The settings as logged never show the pseudonymisation secret."""
    config = tmp_path / "aidmon.toml"
    config.write_text('[pseudonymisation]\nsecret = "very-secret-value-123456"\n', encoding="utf-8")
    settings = load_settings(config)
    assert "very-secret-value" not in str(settings.redacted())
    assert "very-secret-value" not in repr(settings)


def test_a_webhook_without_a_secret_is_refused(tmp_path: Path) -> None:
    """An empty HMAC key would sign every alert with a key anyone knows: a configuration
    error naming the subscription's secret, not a silent start."""
    config = tmp_path / "aidmon.toml"
    config.write_text('[[webhooks.subscriptions]]\nname = "ops"\nurl = "https://example.org/hook"\nsecret = ""\n',
                      encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"webhooks\.subscriptions\.0\.secret"):
        load_settings(config)
    config.write_text('[[webhooks.subscriptions]]\nname = "ops"\nurl = "https://example.org/hook"\nsecret = "k"\n',
                      encoding="utf-8")
    assert load_settings(config).webhooks.subscriptions[0].secret.get_secret_value() == "k"


def test_a_config_that_cannot_be_read_is_one_error_naming_it(tmp_path: Path) -> None:
    """A directory, or a file that is not text (a binary given by mistake), is a
    configuration error naming --config and why, not a traceback."""
    with pytest.raises(ConfigurationError, match=r"--config.*cannot read it \(Is a directory\)"):
        load_settings(tmp_path)
    binary = tmp_path / "aidmon.toml"
    binary.write_bytes(b"\xd0\xcf\x11\xe0 not text")
    with pytest.raises(ConfigurationError, match=r"--config.*not a TOML file \(not UTF-8 text\)"):
        load_settings(binary)
