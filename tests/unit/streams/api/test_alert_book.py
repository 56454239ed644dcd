"""The alert view behind the API: versions, lifecycle in topic order, pages, subscribers."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import pytest

from schemas.exceptions import BadCursorError
from schemas.lifecycle import StatusChange, can_change
from streams.api.alert_book import SUBSCRIBER_QUEUE, AlertBook, Query


def alert(n: int, typology: str = "transit_loss", severity: str = "medium", day: int = 1, **more: Any) -> bytes:
    return json.dumps({
        "alert_id": f"id-{n:03d}", "typology": typology, "severity": severity, "score": 0.5,
        "subject": {"kind": "shipment", "id": f"SHP-{n % 3}"}, "summary": "s", "evidence": [],
        "raised_at": f"2012-07-{day:02d}T00:00:00Z", "reference": "Abidjan conclusions of 7 June 2012, para. 13",
        **more,
    }).encode()


def change(alert_id: str, status: str, n: int, previous: str = "open") -> StatusChange:
    return StatusChange(change_id=f"c{n}", alert_id=alert_id, status=status, previous=previous, by="ops",
                        role="monitor", at=datetime.fromisoformat("2026-01-01T00:00:00+00:00"))  # type: ignore[arg-type]


def test_pages_walk_every_alert_once_newest_first() -> None:
    """Following `next` visits each alert once, by raised_at then alert_id, descending."""
    book = AlertBook()
    for n in range(25):
        book.add_alert(alert(n, day=1 + n % 5))
    seen, cursor = [], None
    while True:
        entries, cursor = book.page(Query(), 4, cursor)
        seen += [(e.raised_at, e.alert["alert_id"]) for e in entries]
        if cursor is None:
            break
    assert len(seen) == 25 == len(set(seen))
    assert seen == sorted(seen, reverse=True)


def test_filters() -> None:
    """typology, severity, subject and since select exactly their alerts."""
    book = AlertBook()
    book.add_alert(alert(1, "transit_loss", "high", day=1))
    book.add_alert(alert(2, "sanctioned_party", "critical", day=3))
    book.add_alert(alert(3, "transit_loss", "medium", day=2, updated_at="2012-07-09T00:00:00Z"))
    ids = lambda q: {e.alert["alert_id"] for e in book.page(q, 100)[0]}  # noqa: E731
    assert ids(Query(typology="transit_loss")) == {"id-001", "id-003"}
    assert ids(Query(severity="critical")) == {"id-002"}
    assert ids(Query(subject="SHP-1")) == {"id-001"}
    assert ids(Query(since=datetime.fromisoformat("2012-07-03T00:00:00+00:00"))) == {"id-002", "id-003"}


def test_bad_cursor() -> None:
    """A cursor the API did not make is refused with a reason."""
    with pytest.raises(BadCursorError):
        AlertBook().page(Query(), 10, "bm90LWEtY3Vyc29y")


def test_status_follows_topic_order_whatever_the_arrival() -> None:
    """A change applied early (the worker's own, at its offset) and one read later settle by
    offset; a change read twice counts once; one read before its alert waits for it."""
    book = AlertBook()
    book.add_change(5, change("id-001", "acknowledged", 1))  # before the alert
    book.add_alert(alert(1))
    assert book.get("id-001").status == "acknowledged"  # type: ignore[union-attr]
    book.add_change(9, change("id-001", "resolved", 3, "confirmed"))
    book.add_change(7, change("id-001", "confirmed", 2, "acknowledged"))
    book.add_change(9, change("id-001", "resolved", 3, "confirmed"))
    entry = book.get("id-001")
    assert entry is not None and entry.status == "resolved"
    assert [c.change_id for _, c in entry.history] == ["c1", "c2", "c3"]
    assert [e.alert["alert_id"] for e in book.page(Query(status="resolved"), 10)[0]] == ["id-001"]


def test_an_update_keeps_the_history_and_a_resend_is_silent() -> None:
    """A new version of an alert keeps its lifecycle; the same bytes again notify nobody."""
    async def scenario() -> list[str]:
        book = AlertBook()
        book.add_alert(alert(1))
        book.add_change(0, change("id-001", "acknowledged", 1))
        queue = book.subscribe()
        book.add_alert(alert(1))  # a re-send
        book.add_alert(alert(1, severity="high"))  # an update
        entry = book.get("id-001")
        assert entry is not None and entry.status == "acknowledged" and entry.alert["severity"] == "high"
        got = []
        while not queue.empty():
            item = queue.get_nowait()
            assert item is not None
            got.append(item.alert["severity"])
        return got

    assert asyncio.run(scenario()) == ["high"]


def test_a_slow_subscriber_is_ended_not_buffered_without_bound() -> None:
    """A subscriber that falls SUBSCRIBER_QUEUE updates behind gets the end marker and is dropped."""
    async def scenario() -> tuple[int, object]:
        book = AlertBook()
        queue = book.subscribe()
        for n in range(SUBSCRIBER_QUEUE + 1):
            book.add_alert(alert(n))
        return len(book.subscribers), queue.get_nowait()

    assert asyncio.run(scenario()) == (0, None)


@pytest.mark.parametrize(("current", "new", "allowed"), [
    ("open", "acknowledged", True), ("acknowledged", "acknowledged", False), ("resolved", "confirmed", False),
    ("resolved", "acknowledged", True), ("dismissed", "confirmed", True), ("confirmed", "acknowledged", False),
])
def test_transitions(current: str, new: str, allowed: bool) -> None:
    """The lifecycle allows what its diagram draws and nothing else."""
    assert can_change(current, new) is allowed  # type: ignore[arg-type]
