"""Who may call what: bearer tokens with roles, checked against their stored hashes.

    publisher  POST /events, under its own `source` only
    monitor    read alerts, follow the stream, change an alert's status
    admin      everything

A token is never logged or echoed; audit records name its holder (`name`).
"""

from __future__ import annotations

import hashlib

from schemas.exceptions import ApiError
from streams.settings import Role, TokenRecord


def digest(token: str) -> str:
    """The stored form of a token (its SHA-256, hex): tokens are random, nothing to stretch."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


CHALLENGE = {"WWW-Authenticate": 'Bearer realm="aidmon"'}


class Access:
    def __init__(self, tokens: tuple[TokenRecord, ...]) -> None:
        self.by_digest = {record.sha256: record for record in tokens}

    def check(self, authorization: str | None, *roles: Role) -> TokenRecord:
        """The token's record if it holds one of `roles` (admin holds all); else 401 or 403."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthorized", "send the header Authorization: Bearer <token>", CHALLENGE)
        record = self.by_digest.get(digest(token.strip()))
        if record is None:
            raise ApiError(401, "unauthorized", "this token is not known to the worker", CHALLENGE)
        if record.role != "admin" and record.role not in roles:
            raise ApiError(403, "forbidden", f"the {record.role} role may not do this; it needs {' or '.join(roles)}")
        return record
