"""The alert reader's records into the book: tombstones on the alerts and status topics are
skipped, alerts and audit records applied. Kafka is not here: `_apply` takes what a record holds
(the broker's side is tests/integration/test_tombstones.py)."""

from __future__ import annotations

import json
from datetime import datetime

from schemas.lifecycle import StatusChange
from streams.api.alert_book import AlertBook
from streams.api.alert_reader import AlertReader
from streams.kafka.topics import ALERT_STATUS, ALERTS

ALERT = json.dumps({
    "alert_id": "a-1", "typology": "transit_loss", "severity": "high", "score": 0.5,
    "subject": {"kind": "shipment", "id": "SHP-1"}, "summary": "s", "evidence": [],
    "raised_at": "2012-07-01T00:00:00Z", "reference": "r",
}).encode()
CHANGE = StatusChange(change_id="c-1", alert_id="a-1", status="acknowledged", previous="open", by="ops",
                      role="monitor", at=datetime.fromisoformat("2026-01-01T00:00:00+00:00"))


def test_tombstones_on_both_topics_are_skipped() -> None:
    """A key with no value on either topic changes nothing; the records around it still apply."""
    book = AlertBook()
    reader = AlertReader("kafka://127.0.0.1:9", book)
    reader._apply(ALERTS, 0, None)
    reader._apply(ALERT_STATUS, 0, None)
    reader._apply(ALERTS, 1, ALERT)
    reader._apply(ALERTS, 2, None)
    reader._apply(ALERT_STATUS, 1, CHANGE.model_dump_json().encode())
    reader._apply(ALERT_STATUS, 2, None)
    entry = book.get("a-1")
    assert len(book) == 1 and entry is not None
    assert entry.status == "acknowledged" and [c.change_id for _, c in entry.history] == ["c-1"]
