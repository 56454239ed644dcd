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
import json
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
    text = _as_text(raw, bounded=max_raw_bytes is not None)
    if text is None:
        record["raw_base64"] = base64.b64encode(raw).decode("ascii")
    else:
        record["raw"] = text
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
        text = _as_text(value, bounded=max_bytes is not None)
        if text is None:
            shown, into = base64.b64encode(value).decode("ascii"), kept.setdefault("headers_base64", {})
        else:
            shown, into = text, kept["headers"]
        if name in into:
            earlier = into[name]
            into[name] = [*earlier, shown] if isinstance(earlier, list) else [earlier, shown]
        else:
            into[name] = shown
    return kept


def _as_text(raw: bytes, bounded: bool) -> str | None:
    """`raw` as text if it is UTF-8; None: keep it as base64. Where the record's size is
    bounded (a Kafka message), text that JSON would write longer than its base64 (control
    characters escape to six bytes each, quotes and backslashes to two) goes as base64 too,
    so that a record never outgrows the limits above."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if bounded and len(json.dumps(text, ensure_ascii=False).encode("utf-8")) > 4 * (len(raw) + 2) // 3 + 2:
        return None
    return text
