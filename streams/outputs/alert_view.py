"""`AlertView`: every alert of every worker and its lifecycle, in the `AlertBook` the API
reads, filled by an `AlertReader` that follows diversion.alerts.v1 and
diversion.alert-status.v1 whole, from the beginning.
"""

from __future__ import annotations

import asyncio
import logging

from streams.api.alert_book import AlertBook
from streams.api.alert_reader import AlertReader

log = logging.getLogger("aidmon.outputs")

READER_RETRY_SECONDS = 5.0


class AlertView:
    """The worker's view of all alerts, and whether it has read up to where the topics were."""

    def __init__(self, broker: str) -> None:
        self.book = AlertBook()
        self.reader = AlertReader(broker, self.book)

    def loaded(self) -> bool:
        """Whether the view has caught up with the topics as they were when it started."""
        return self.reader.caught_up.is_set()

    async def follow(self) -> None:
        """Read the topics for as long as the worker runs; the book closes at the end."""
        try:
            while True:  # reading again from the beginning is harmless: the book ignores what it has
                try:
                    await self.reader.run()
                except Exception as exc:  # a broker unreachable at start, say: try again, never give up
                    log.warning("reading the alerts failed (%s: %s); again in %.0f s", type(exc).__name__, exc,
                                READER_RETRY_SECONDS)
                    await asyncio.sleep(READER_RETRY_SECONDS)
        finally:
            self.book.close()
