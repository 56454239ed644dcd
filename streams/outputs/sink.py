"""`AlertSink`: what a way out for alerts offers the `deliver` agent (`streams.outputs.deliver`).

An alert goes in as the bytes of its JSON, as they sit on diversion.alerts.v1; the sink
answers at once with a future that completes when the alert has gone out (or been given
up on, dead-lettered) and is cancelled when the sink closes. `WebhookSink`
(`streams.outputs.webhooks`) is the one the worker runs; tests pass their own.
"""

from __future__ import annotations

import asyncio
from typing import Protocol


class AlertSink(Protocol):
    def submit(self, body: bytes) -> asyncio.Future[None]:
        """Start sending one alert; never waits on the network. Raises InvalidAlertError if
        `body` is not an alert, SinkClosedError once the sink is closed."""
        ...

    async def aclose(self) -> None:
        """Cancel what is under way and wait for it: it stays unacknowledged, sent again later."""
        ...
