"""Rejected input kept whole, so its publisher can repair it: the record written to the
rejects file (`aidmon replay`) and to aid.rejects.v1 (the worker, `POST /events`).

Rejects hold what was sent, raw beneficiary ids included: they are for administrators only,
never logged or shown elsewhere.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from schemas.exceptions import InvalidEventError

MAX_KEPT_RAW_BYTES = 512 * 1024  # of a reject's raw bytes on Kafka: base64 and all, under its 1 MB default


def reject_record(
    source: str, position: int, error: InvalidEventError, raw: bytes, max_raw_bytes: int | None = None
) -> dict[str, Any]:
    """A rejected line kept whole: raw text (or base64 when not UTF-8), reason, position.
    Past `max_raw_bytes` (a Kafka message has a size limit) only the start is kept, with
    the whole one's length and SHA-256, so that its publisher can still find it."""
    record: dict[str, Any] = {"source": source, "line": position, "reason": error.reason, "detail": error.detail}
    if max_raw_bytes is not None and len(raw) > max_raw_bytes:
        record.update(truncated=True, raw_length=len(raw), raw_sha256=hashlib.sha256(raw).hexdigest())
        raw = raw[:max_raw_bytes]
    try:
        record["raw"] = raw.decode("utf-8")
    except UnicodeDecodeError:
        record["raw_base64"] = base64.b64encode(raw).decode("ascii")
    return record
