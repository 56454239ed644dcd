"""Every alert with its lifecycle, as the HTTP API serves them, and live subscribers.

Each worker keeps a whole book: it reads the alerts topic and the status topic from the
beginning (`streams.api.alert_reader`), so any worker answers for every alert. Alerts come
newest first (`raised_at`, then `alert_id`), a stable order across workers, which makes
the pagination cursor (the last item's key) valid on any of them.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas.exceptions import BadCursorError
from schemas.lifecycle import Status, StatusChange

SUBSCRIBER_QUEUE = 1000  # updates a slow SSE client may fall behind before it is dropped


@dataclass
class Entry:
    """One alert: as last sent (decoded when shown: a book of decoded alerts took three
    times the memory, and a season's alerts are all kept), what queries filter on, and
    its audit trail."""

    body: bytes  # the alert as last sent, also to tell a re-send from an update
    alert_id: str
    typology: str
    severity: str
    subject_id: str
    raised_at: datetime
    changed_at: datetime  # raised_at, or the latest evidence's event time
    history: list[tuple[int, StatusChange]] = field(default_factory=list)  # (topic offset, change), in order

    @property
    def alert(self) -> dict[str, Any]:
        """The alert, decoded anew at each call."""
        alert: dict[str, Any] = json.loads(self.body)
        return alert

    @property
    def status(self) -> Status:
        return self.history[-1][1].status if self.history else "open"

    def view(self, with_history: bool = False) -> dict[str, Any]:
        shown = self.alert
        shown["status"] = self.status
        if with_history:
            shown["history"] = [change.model_dump(mode="json") for _, change in self.history]
        return shown


@dataclass(frozen=True)
class Query:
    typology: str | None = None
    severity: str | None = None
    status: str | None = None
    subject: str | None = None
    since: datetime | None = None

    def matches(self, entry: Entry) -> bool:
        return (
            (self.typology is None or entry.typology == self.typology)
            and (self.severity is None or entry.severity == self.severity)
            and (self.status is None or entry.status == self.status)
            and (self.subject is None or entry.subject_id == self.subject)
            and (self.since is None or entry.changed_at >= self.since)
        )


def encode_cursor(entry: Entry) -> str:
    key = json.dumps([entry.raised_at.isoformat(), entry.alert_id]).encode()
    return base64.urlsafe_b64encode(key).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        raised_at, alert_id = json.loads(raw)
        return datetime.fromisoformat(raised_at), str(alert_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise BadCursorError("not a cursor from this API: use the `next` value of a previous page") from exc


class AlertBook:
    """Alerts by id, their audit trail, and the queues of live subscribers."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self.pending: dict[str, list[tuple[int, StatusChange]]] = {}  # changes read before their alert
        self.subscribers: set[asyncio.Queue[Entry | None]] = set()
        self.closed = False  # the worker stops: no stream stays open

    def __len__(self) -> int:
        return len(self.entries)

    def add_alert(self, body: bytes) -> None:
        """One message of the alerts topic: a new alert, an update, or a re-send."""
        alert = json.loads(body)
        alert_id = alert["alert_id"]
        known = self.entries.get(alert_id)
        if known is not None and known.body == body:
            return  # a re-send after a restart: nothing new for subscribers
        raised_at = datetime.fromisoformat(alert["raised_at"])
        updated = alert.get("updated_at")
        changed_at = max(raised_at, datetime.fromisoformat(updated)) if updated else raised_at
        entry = Entry(body, alert_id, alert["typology"], alert["severity"], alert["subject"]["id"], raised_at,
                      changed_at, known.history if known else [])
        for offset, change in self.pending.pop(alert_id, []):
            _insert(entry.history, offset, change)
        self.entries[alert_id] = entry
        self._publish(entry)

    def add_change(self, offset: int, change: StatusChange) -> None:
        """One audit record, at `offset` of the status topic (applied once, in topic order)."""
        entry = self.entries.get(change.alert_id)
        if entry is None:
            _insert(self.pending.setdefault(change.alert_id, []), offset, change)
            return
        if _insert(entry.history, offset, change):
            self._publish(entry)

    def get(self, alert_id: str) -> Entry | None:
        return self.entries.get(alert_id)

    def page(self, query: Query, limit: int, cursor: str | None = None) -> tuple[list[Entry], str | None]:
        """Up to `limit` matching entries, newest first, after `cursor`; and the next cursor."""
        after = decode_cursor(cursor) if cursor is not None else None
        found = [e for e in self.entries.values() if query.matches(e)]
        found.sort(key=lambda e: (e.raised_at, e.alert_id), reverse=True)
        if after is not None:
            found = [e for e in found if (e.raised_at, e.alert_id) < after]
        shown = found[:limit]
        more = len(found) > limit
        return shown, encode_cursor(shown[-1]) if more and shown else None

    def subscribe(self) -> asyncio.Queue[Entry | None]:
        """A queue of the updates to come; once the book is closed, one that ends at once."""
        queue: asyncio.Queue[Entry | None] = asyncio.Queue(SUBSCRIBER_QUEUE)
        self.subscribers.add(queue)
        if self.closed:
            self._end(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Entry | None]) -> None:
        self.subscribers.discard(queue)

    def close(self) -> None:
        """End every live stream, and any opened later (the worker stops)."""
        self.closed = True
        for queue in list(self.subscribers):
            self._end(queue)

    def _publish(self, entry: Entry) -> None:
        for queue in list(self.subscribers):
            try:
                queue.put_nowait(entry)
            except asyncio.QueueFull:  # too slow: end its stream rather than hold memory
                self._end(queue)

    def _end(self, queue: asyncio.Queue[Entry | None]) -> None:
        self.subscribers.discard(queue)
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(None)


def _insert(history: list[tuple[int, StatusChange]], offset: int, change: StatusChange) -> bool:
    """Put `change` at its place by topic offset, unless it is there already."""
    if any(known.change_id == change.change_id for _, known in history):
        return False
    history.append((offset, change))
    history.sort(key=lambda pair: pair[0])
    return True
