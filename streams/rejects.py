"""Rejected input kept whole, so its publisher can repair it: the record written to the
rejects file (`aidmon replay`) and to aid.rejects.v1 (the worker, `POST /events`).

A binary-mode event (contract 1.1) is kept with its headers, so that it can be rebuilt:
`headers` maps each `ce` header and `content-type` to its value as text, and
`headers_base64` holds those that are not UTF-8 (a name sent more than once maps to the
list of its values, in order).

Rejects hold what was sent, raw beneficiary ids included: they are for administrators only,
never logged or shown elsewhere.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import Any

from schemas.exceptions import InvalidEventError

MAX_KEPT_RAW_BYTES = 512 * 1024  # of a reject's raw bytes on Kafka: base64 and all, under its 1 MB default
MAX_KEPT_HEADER_BYTES = 64 * 1024  # of its headers: with the raw bytes' base64, still under 1 MB


def reject_record(
    source: str, position: int, error: InvalidEventError, raw: bytes, max_raw_bytes: int | None = None,
    headers: Sequence[tuple[str, bytes]] = (),
) -> dict[str, Any]:
    """A rejected line kept whole: raw text (or base64 when not UTF-8), reason, position,
    and the `headers` of a binary-mode event. Past `max_raw_bytes` (a Kafka message has a
    size limit) only the start is kept, with the whole one's length and SHA-256, so that its
    publisher can still find it; past MAX_KEPT_HEADER_BYTES, only the first headers."""
    record: dict[str, Any] = {"source": source, "line": position, "reason": error.reason, "detail": error.detail}
    if max_raw_bytes is not None and len(raw) > max_raw_bytes:
        record.update(truncated=True, raw_length=len(raw), raw_sha256=hashlib.sha256(raw).hexdigest())
        raw = raw[:max_raw_bytes]
    try:
        record["raw"] = raw.decode("utf-8")
    except UnicodeDecodeError:
        record["raw_base64"] = base64.b64encode(raw).decode("ascii")
    if headers:
        record.update(kept_headers(headers, MAX_KEPT_HEADER_BYTES if max_raw_bytes is not None else None))
    return record


def kept_headers(headers: Sequence[tuple[str, bytes]], max_bytes: int | None = None) -> dict[str, Any]:
    """`headers` (and `headers_base64`, `headers_truncated` when needed) of a reject record."""
    kept: dict[str, dict[str, Any]] = {"headers": {}}
    size = 0
    for name, value in headers:
        size += len(name) + len(value)
        if max_bytes is not None and size > max_bytes:
            return {**kept, "headers_truncated": True}
        try:
            shown, into = value.decode("utf-8"), kept["headers"]
        except UnicodeDecodeError:
            shown, into = base64.b64encode(value).decode("ascii"), kept.setdefault("headers_base64", {})
        if name in into:
            earlier = into[name]
            into[name] = [*earlier, shown] if isinstance(earlier, list) else [earlier, shown]
        else:
            into[name] = shown
    return kept
