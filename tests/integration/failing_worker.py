"""`aidmon` with a detector that fails on one event, as a bug would, for the live failure test:

    python -m tests.integration.failing_worker EVENT_ID [aidmon arguments...]

The sanctions detector raises on the event `EVENT_ID`, after the detectors before it in
the event's lane (transit loss, route deviation, ...) have changed their state; everything
else is the real command line, run in this process.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from agents.detector import Context
from agents.findings import Finding
from agents.screening import SanctionedPartyDetector
from agents.state import Store
from schemas.events import Event
from streams.cli.main import main


def fail_on(event_id: str) -> None:
    """Make the sanctions detector raise on the event `event_id`, and only on it."""
    original = SanctionedPartyDetector.on_event

    def on_event(
        self: SanctionedPartyDetector, event: Event, state: Mapping[str, Store], ctx: Context
    ) -> list[Finding]:
        if event.id == event_id:
            raise RuntimeError("a detector failing on purpose (tests.integration.failing_worker)")
        return original(self, event, state, ctx)

    SanctionedPartyDetector.on_event = on_event  # type: ignore[method-assign]


if __name__ == "__main__":
    fail_on(sys.argv[1])
    sys.exit(main(sys.argv[2:]))
