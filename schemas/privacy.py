"""Pseudonymisation of beneficiary identifiers (contract: Data responsibility)."""

from __future__ import annotations

import hashlib
import hmac


class Pseudonymiser:
    """`tok_` + HMAC-SHA256(secret, raw identifier), hex: stable within a deployment."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the pseudonymisation secret must be at least 16 bytes")
        self._secret = secret

    def __call__(self, raw: str) -> str:
        digest = hmac.new(self._secret, raw.encode("utf-8"), hashlib.sha256).hexdigest()
        return f"tok_{digest}"

    def __repr__(self) -> str:
        return "Pseudonymiser(secret=***)"
