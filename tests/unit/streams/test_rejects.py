"""The reject record of a binary-mode event keeps its headers, so that the event can be rebuilt."""

from __future__ import annotations

import base64
import json

from schemas.exceptions import InvalidEventError
from streams.rejects import MAX_KEPT_HEADER_BYTES, MAX_KEPT_RAW_BYTES, kept_headers, reject_record

ERROR = InvalidEventError("missing_field", "type: field required")


def test_headers_are_kept_as_text_or_base64_and_repeats_as_lists() -> None:
    """UTF-8 values as text under `headers`, others as base64 under `headers_base64`; a name
    sent twice keeps both values, in order."""
    headers = [("ce_id", b"ev-1"), ("ce_source", b"\xff/x"), ("content-type", b"application/json"),
               ("ce_id", b"ev-2"), ("ce_id", b"ev-3")]
    record = reject_record("aid.events.v1[0]", 4, ERROR, b'{"site_id": "DP-1"}', MAX_KEPT_RAW_BYTES, headers)
    assert record["headers"] == {"ce_id": ["ev-1", "ev-2", "ev-3"], "content-type": "application/json"}
    assert base64.b64decode(record["headers_base64"]["ce_source"]) == b"\xff/x"
    assert record["raw"] == '{"site_id": "DP-1"}' and "headers_truncated" not in record


def test_a_record_without_headers_is_as_before() -> None:
    """No headers given (a structured event): the record has no `headers` key."""
    assert "headers" not in reject_record("file.jsonl", 3, ERROR, b"{}")


def test_huge_headers_are_cut_so_that_the_record_fits_a_kafka_message() -> None:
    """On Kafka (a size limit given) headers past MAX_KEPT_HEADER_BYTES are left out and marked;
    with the raw bytes cut as well the record stays under Kafka's 1 MB default."""
    headers = [(f"ce_x{i}", b"\xfe" * 1000) for i in range(200)]
    kept = kept_headers(headers, MAX_KEPT_HEADER_BYTES)
    assert kept["headers_truncated"] is True and 0 < len(kept["headers_base64"]) < 200
    record = reject_record("aid.events.v1[0]", 1, ERROR, b"\xff" * (900 * 1024), MAX_KEPT_RAW_BYTES, headers)
    assert len(json.dumps(record).encode()) < 1_000_000
    assert len(kept_headers(headers)["headers_base64"]) == 200  # no limit in a file


def test_text_that_json_would_swell_is_kept_as_base64_on_kafka() -> None:
    """UTF-8 whose JSON is much longer than its bytes (control characters escape to six bytes
    each: UTF-16 sent as UTF-8, a NUL-padded body) goes as base64 where the record must fit
    a Kafka message, with headers of the same kind; it stays text in a file, and plain text
    stays text everywhere."""
    swelling = b"{\x00\"\x00a\x00\\\x00" * (120 * 1024)
    headers = [("ce_id", b"\x01" * 50_000), ("ce_type", b"distribution.recorded")]
    record = reject_record("aid.events.v1[0]", 1, ERROR, swelling, MAX_KEPT_RAW_BYTES, headers)
    assert len(json.dumps(record, ensure_ascii=False).encode()) < 1_000_000
    assert base64.b64decode(record["raw_base64"]) == swelling[:MAX_KEPT_RAW_BYTES] and "raw" not in record
    assert base64.b64decode(record["headers_base64"]["ce_id"]) == b"\x01" * 50_000
    assert record["headers"] == {"ce_type": "distribution.recorded"}
    assert reject_record("file.jsonl", 1, ERROR, swelling)["raw"] == swelling.decode()
    plain = '{"note": "déjà vu, \\"quoted\\""}'.encode()
    assert reject_record("aid.events.v1[0]", 1, ERROR, plain, MAX_KEPT_RAW_BYTES)["raw"] == plain.decode()
