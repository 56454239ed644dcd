"""`ApiSenders`: what the HTTP API writes to Kafka through the worker's producer: accepted
events to aid.events.v1 (`publish`), rejected ones to aid.rejects.v1 (`keep_rejects`), and
alert status changes to diversion.alert-status.v1 (`record_change`).
"""

from __future__ import annotations

import asyncio
import json
import logging

from faust.types import TopicT

from schemas.events import Event
from schemas.exceptions import InvalidEventError
from schemas.lifecycle import StatusChange
from streams.api.ingest import Rejected
from streams.rejects import MAX_KEPT_RAW_BYTES, reject_record

log = logging.getLogger("aidmon.outputs")

SEND_TIMEOUT_SECONDS = 30.0


class ApiSenders:
    """The API's three ways into Kafka, over the worker's topics."""

    def __init__(self, events: TopicT, rejects: TopicT, status: TopicT) -> None:
        self.events = events
        self.rejects = rejects
        self.status = status

    async def publish(self, accepted: list[tuple[Event, bytes]]) -> None:
        """Each event to aid.events.v1, keyed by subject; raises when Kafka does not take them all in time."""
        pending = [await self.events.send(key=event.subject.encode(), value=value) for event, value in accepted]
        await asyncio.wait_for(asyncio.gather(*pending), SEND_TIMEOUT_SECONDS)

    async def keep_rejects(self, rejected: list[Rejected], name: str) -> None:
        """To aid.rejects.v1; a failure is logged, never the caller's: it has its answer."""
        try:
            for item in rejected:
                error = InvalidEventError(item.reason, item.detail)
                record = reject_record(f"http:{name}", item.index, error, item.raw, MAX_KEPT_RAW_BYTES, item.headers)
                await self.rejects.send(value=json.dumps(record, ensure_ascii=False).encode())
        except Exception as exc:
            log.warning("could not keep %d rejected events from %s: %s", len(rejected), name, type(exc).__name__)

    async def record_change(self, change: StatusChange) -> int:
        """The change to the status topic's one partition; its offset there."""
        key = f"{change.alert_id}/{change.change_id}".encode()
        pending = await self.status.send(key=key, value=change.model_dump_json().encode(), partition=0)
        metadata = await asyncio.wait_for(pending, SEND_TIMEOUT_SECONDS)
        return int(metadata.offset)
