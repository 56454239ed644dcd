"""Offline replay: run the detectors over a JSONL file of events, write alerts and rejects.

Alerts: by default the last version of each alert id, written once the input is done
(sorted by `raised_at`, then `alert_id`); with `every_update` each version as it is
raised, in the order the monitor produced them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from agents.monitor import Monitor
from schemas.alerts import Alert
from schemas.decode import Decoder
from schemas.exceptions import InvalidEventError
from schemas.privacy import Pseudonymiser
from streams.rejects import reject_record


@dataclass
class ReplaySummary:
    lines: int = 0
    blank: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejects: Counter[str] = field(default_factory=Counter)
    alerts: Counter[str] = field(default_factory=Counter)
    updates: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "blank": self.blank,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejects": dict(sorted(self.rejects.items())),
            "alerts": dict(sorted(self.alerts.items())),
            "alert_updates": self.updates,
        }

    def render(self) -> str:
        rejects = ", ".join(f"{k} {v}" for k, v in sorted(self.rejects.items())) or "none"
        alerts = ", ".join(f"{k} {v}" for k, v in sorted(self.alerts.items())) or "none"
        return (
            f"events read: {self.lines} lines ({self.blank} blank), {self.accepted} accepted, "
            f"{self.duplicates} duplicates\n"
            f"rejects: {sum(self.rejects.values())} ({rejects})\n"
            f"alerts: {sum(self.alerts.values())} ({alerts}); {self.updates} updates"
        )


class Replay:
    """Feeds lines to a monitor; `alerts_out` and `rejects_out` receive JSON lines."""

    def __init__(
        self,
        monitor: Monitor,
        pseudonymiser: Pseudonymiser,
        alerts_out: IO[str],
        rejects_out: IO[str] | None = None,
        source: str = "-",
        every_update: bool = False,
    ) -> None:
        self.monitor = monitor
        self.decode = Decoder(pseudonymiser)
        self.alerts_out = alerts_out
        self.rejects_out = rejects_out
        self.source = source
        self.every_update = every_update
        self.summary = ReplaySummary()
        self._latest: dict[str, Alert] = {}  # alert id -> its latest version (the monitor forgets old ones)

    def run(self, lines: Iterable[bytes]) -> ReplaySummary:
        for line in lines:
            self.feed(line)
        self.finish()
        return self.summary

    def feed(self, line: bytes) -> None:
        """One line of input, with or without its line ending."""
        summary = self.summary
        summary.lines += 1
        if not line or line.isspace():
            summary.blank += 1
            return
        monitor = self.monitor
        try:
            event = self.decode(line)  # JSON allows the trailing line ending
            if monitor.is_expired(event):
                raise InvalidEventError("expired", (
                    f"more than {monitor.config.retention_days:g} days (detectors.retention_days) "
                    f"behind the monitor's clock"))
        except InvalidEventError as error:
            summary.rejects[error.reason] += 1
            if self.rejects_out is not None:
                record = reject_record(self.source, summary.lines, error, line.rstrip(b"\r\n"))
                self.rejects_out.write(json.dumps(record, ensure_ascii=False) + "\n")
            return
        before = monitor.duplicates
        alerts = monitor.process(event)
        if alerts:
            self._keep(alerts)
        if monitor.duplicates > before:
            summary.duplicates += 1
        else:
            summary.accepted += 1

    def finish(self) -> None:
        self._keep(self.monitor.flush())
        latest = list(self._latest.values())
        if not self.every_update:
            for alert in sorted(latest, key=lambda a: (a.raised_at, a.alert_id)):
                self.alerts_out.write(alert.model_dump_json() + "\n")
        self.summary.alerts = Counter(a.typology for a in latest)

    def _keep(self, alerts: list[Alert]) -> None:
        self.summary.updates += len(alerts)
        for alert in alerts:
            self._latest[alert.alert_id] = alert
        if self.every_update:
            for alert in alerts:
                self.alerts_out.write(alert.model_dump_json() + "\n")
