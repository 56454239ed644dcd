"""`aidmon token create`: API bearer tokens made once, shown once, stored as their SHA-256 only.

A token is `aidmon_` and 43 characters of URL-safe base64 (32 random bytes), so a plain
SHA-256 is a safe digest (no password stretching needed: there is nothing to guess).
`create_token` appends `[[api.tokens]]` to the TOML settings file, keeping its comments
and layout, and writes the file only if the settings it then holds are valid.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

from pydantic import ValidationError

from schemas.exceptions import ConfigurationError
from streams.api.access import digest
from streams.settings import Role, TokenRecord, load_settings, read_config

PREFIX = "aidmon_"


def add_token_commands(commands: Any) -> None:
    """Register `aidmon token create` on the `aidmon` parser."""
    token = commands.add_parser("token", help="API bearer tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    make = token_commands.add_parser(
        "create", help="make a token, store its hash in the config file and print it once (the last line)"
    )
    make.add_argument("--config", type=Path, required=True, help="the TOML settings file (created if missing)")
    make.add_argument("--role", required=True, choices=get_args(Role))
    make.add_argument("--source", help="a publisher's CloudEvents source, e.g. /agencies/wfp/mli (publishers only)")
    make.add_argument("--name", help="who holds it, as audit records name them (default: ROLE-HASHPREFIX)")
    make.set_defaults(run=run_token_create)


def run_token_create(args: argparse.Namespace) -> int:
    from streams.cli.tokens import create_token

    made = create_token(args.config, args.role, args.source, args.name)
    record = made.record
    bound = f" for source {record.source}" if record.source else ""
    print(f"token {record.name!r} ({record.role}{bound}) added to {args.config}; it is shown once, keep it now:",
          file=sys.stderr)
    print(made.token)
    return 0


@dataclass(frozen=True)
class NewToken:
    token: str  # shown once, never stored
    record: TokenRecord


def create_token(config: Path, role: Role, source: str | None = None, name: str | None = None) -> NewToken:
    """A new token for `role` (bound to `source` for a publisher), its hash added to `config`."""
    import tomlkit  # here, not for every command: a twentieth of a second at start-up
    from tomlkit.exceptions import TOMLKitError

    token = PREFIX + secrets.token_urlsafe(32)
    hashed = digest(token)
    created_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    try:
        record = TokenRecord(name=name or f"{role}-{hashed[:8]}", role=role, source=source, sha256=hashed,
                             created_at=created_at)
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        raise ConfigurationError("api.tokens", error["msg"].removeprefix("Value error, ")) from None
    text = read_config(config) if config.exists() else ""
    try:
        document = tomlkit.parse(text)
    except TOMLKitError as exc:
        raise ConfigurationError("--config", f"{config}: not valid TOML ({exc})") from None
    api = document.get("api")
    if api is None:
        api = tomlkit.table()
        document["api"] = api
    tokens = api.get("tokens")
    if tokens is None:
        tokens = tomlkit.aot()
        api["tokens"] = tokens
    if any(entry.get("name") == record.name for entry in tokens):
        raise ConfigurationError("api.tokens", f"a token named {record.name!r} exists; choose another --name")
    entry = tomlkit.table()
    for key, value in record.model_dump(exclude_none=True).items():
        entry[key] = value
    tokens.append(entry)
    _write_checked(config, tomlkit.dumps(document))
    return NewToken(token, record)


def _write_checked(config: Path, text: str) -> None:
    """Write `text` over `config` atomically, after checking it loads as settings."""
    folder = config.resolve().parent
    fd, name = tempfile.mkstemp(prefix=".aidmon-", suffix=".toml", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        load_settings(Path(name))  # raises ConfigurationError naming the key
        if config.exists():
            os.chmod(name, config.stat().st_mode & 0o777)
        os.replace(name, config)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
