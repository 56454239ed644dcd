"""API tokens: made once, stored as a hash in the settings file, checked with their role."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from schemas.exceptions import ApiError, ConfigurationError
from streams.api.access import Access
from streams.cli.main import main
from streams.cli.tokens import create_token, digest
from streams.settings import load_settings


def test_create_stores_only_the_hash_and_keeps_the_file(tmp_path: Path) -> None:
    """The token is returned once; the file gains its SHA-256 and keeps its comments and settings."""
    config = tmp_path / "aidmon.toml"
    config.write_text('# ours\n[kafka]\napp_id = "keep-me"\n', encoding="utf-8")
    made = create_token(config, "publisher", "/agencies/wfp/mli", "wfp")
    text = config.read_text(encoding="utf-8")
    assert made.token not in text and digest(made.token) in text
    assert text.startswith("# ours\n")
    settings = load_settings(config)
    assert settings.kafka.app_id == "keep-me"
    assert [(t.name, t.role, t.source) for t in settings.api.tokens] == [("wfp", "publisher", "/agencies/wfp/mli")]


def test_an_empty_or_missing_file_may_start(tmp_path: Path) -> None:
    """An empty file works, and a missing one is created readable by its owner only."""
    empty = tmp_path / "empty.toml"
    empty.write_text("", encoding="utf-8")
    create_token(empty, "monitor")
    missing = tmp_path / "new.toml"
    create_token(missing, "admin", name="root")
    assert len(load_settings(empty).api.tokens) == 1
    assert stat.S_IMODE(missing.stat().st_mode) == 0o600


@pytest.mark.parametrize(("role", "source", "name"), [
    ("publisher", None, None), ("monitor", "/agencies/wfp/mli", None), ("admin", None, "has space"),
])
def test_bad_requests_change_nothing(tmp_path: Path, role: str, source: str | None, name: str | None) -> None:
    """A publisher without a source, a source for another role, or a bad name: an error, file untouched."""
    config = tmp_path / "aidmon.toml"
    config.write_text("[kafka]\npartitions = 2\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as info:
        create_token(config, role, source, name)  # type: ignore[arg-type]
    assert info.value.key == "api.tokens"
    assert config.read_text(encoding="utf-8") == "[kafka]\npartitions = 2\n"


def test_names_are_unique(tmp_path: Path) -> None:
    """A second token with a name in use is refused."""
    config = tmp_path / "aidmon.toml"
    create_token(config, "monitor", name="ops")
    with pytest.raises(ConfigurationError, match="exists"):
        create_token(config, "admin", name="ops")


def test_the_command_prints_the_token_alone_on_its_last_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`aidmon token create` prints the token once, alone on the last line of standard output."""
    config = tmp_path / "aidmon.toml"
    assert main(["token", "create", "--config", str(config), "--role", "monitor", "--name", "ops"]) == 0
    out = capsys.readouterr()
    token = out.out.splitlines()[-1]
    assert out.out == token + "\n" and token.startswith("aidmon_") and len(token) > 40
    assert token not in out.err and token not in config.read_text(encoding="utf-8")
    assert load_settings(config).api.tokens[0].sha256 == digest(token)


def test_access_checks_token_then_role(tmp_path: Path) -> None:
    """No or unknown token: 401 with a Bearer challenge; a known one of another role: 403; admin may all."""
    config = tmp_path / "aidmon.toml"
    tokens = {role: create_token(config, role, "/agencies/x" if role == "publisher" else None, role).token
              for role in ("publisher", "monitor", "admin")}
    access = Access(load_settings(config).api.tokens)
    for header in (None, "", "Bearer", "Bearer nope", f"Basic {tokens['monitor']}"):
        with pytest.raises(ApiError) as info:
            access.check(header, "monitor")
        assert info.value.status == 401 and "Bearer" in info.value.headers["WWW-Authenticate"]
    with pytest.raises(ApiError) as info:
        access.check(f"Bearer {tokens['publisher']}", "monitor")
    assert info.value.status == 403
    assert access.check(f"Bearer {tokens['monitor']}", "monitor").name == "monitor"
    assert access.check(f"bearer  {tokens['admin']} ", "publisher").role == "admin"


def test_redacted_settings_hide_hashes_secrets_and_url_credentials(tmp_path: Path) -> None:
    """What is logged at start-up holds no token hash, webhook secret or URL password."""
    config = tmp_path / "aidmon.toml"
    config.write_text('[[webhooks.subscriptions]]\nname = "a"\nurl = "https://user:pw@hooks.example.org/x"\n'
                      'secret = "s3cr3t-value"\n', encoding="utf-8")
    made = create_token(config, "monitor")
    shown = repr(load_settings(config).redacted())
    assert digest(made.token) not in shown and "s3cr3t-value" not in shown and "pw@" not in shown
    assert "https://hooks.example.org/x" in shown


def test_a_config_that_is_a_directory_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`token create --config DIR` says it cannot read the file, and writes nothing."""
    assert main(["token", "create", "--config", str(tmp_path), "--role", "monitor"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == [f"aidmon: error: setting --config: {tmp_path}: cannot read it (Is a directory)"]
    assert list(tmp_path.iterdir()) == []
