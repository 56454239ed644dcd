"""Pseudonymisation of beneficiary identifiers (contract: Data responsibility).

A token is `tok_` and 16 or more characters of `[A-Za-z0-9_-]`; any other `beneficiary`
value is a raw identifier, replaced by `tok_` + HMAC-SHA256(deployment secret, value), hex,
before anything keeps, forwards or logs it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any

from schemas.exceptions import ConfigurationError

TOKEN_PATTERN = re.compile(r"^tok_[A-Za-z0-9_-]{16,}$")


class Pseudonymiser:
    """`tok_` + HMAC-SHA256(secret, raw identifier), hex: stable within a deployment."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ConfigurationError("pseudonymisation.secret", "must be at least 16 bytes")
        self._secret = secret

    def __call__(self, raw: str) -> str:
        digest = hmac.new(self._secret, raw.encode("utf-8"), hashlib.sha256).hexdigest()
        return f"tok_{digest}"

    def __repr__(self) -> str:
        return "Pseudonymiser(secret=***)"


def may_hide_a_beneficiary(raw: bytes) -> bool:
    """Whether the bytes of a JSON event could hold a `beneficiary` that its reading does not
    show: the key more than once (a reader keeps one of duplicate keys) or spelled with an
    escape (`"benef\\u0069ciary"`). Such bytes are never forwarded as they came."""
    return raw.count(b'"beneficiary"') != 1 or b"\\u" in raw


def tokenised(line: bytes, pseudonymiser: Pseudonymiser) -> bytes:
    """A JSON event with a raw `data.beneficiary` replaced by its token (everything else as
    sent); written again from what was read if its bytes may hide another beneficiary."""
    obj: dict[str, Any] = json.loads(line)
    data = obj.get("data")
    if isinstance(data, dict):
        value = data.get("beneficiary")
        if isinstance(value, str) and not TOKEN_PATTERN.match(value):
            data["beneficiary"] = pseudonymiser(value)
        elif not isinstance(value, str) or not may_hide_a_beneficiary(line):
            return line
        return json.dumps(obj, ensure_ascii=False).encode("utf-8")
    return line
