"""Sites where beneficiaries keep saying they received nothing, or had to pay."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple

from agents.config import NonReceiptFeedbackConfig
from agents.detector import Context, Detector, insort_once
from agents.findings import Finding, Proof
from agents.state import Store
from agents.text import moment
from schemas.alerts import Typology
from schemas.events import Event, FeedbackCategory, FeedbackReceived


class Report(NamedTuple):
    """One report of a watched category, ordered by time, then event id."""

    time: float
    event_id: str
    category: FeedbackCategory


@dataclass(slots=True)
class FeedbackRecord:
    reports: list[Report] = field(default_factory=list)  # sorted by time, then event id


class NonReceiptFeedbackDetector(Detector):
    """Enough `not_received` / `payment_demanded` reports at one site within any window."""

    typology: ClassVar[Typology] = "non_receipt_feedback"
    consumes = frozenset({FeedbackReceived.TYPE})
    tables = (typology,)

    def __init__(self, config: NonReceiptFeedbackConfig) -> None:
        self.config = config
        self._window_s = config.window_days * 86400

    def on_event(self, event: Event, state: Mapping[str, Store], ctx: Context) -> list[Finding]:
        if not isinstance(event, FeedbackReceived) or event.data.category not in self.config.categories:
            return []
        table = state[self.typology]
        key = event.subject
        record: FeedbackRecord = table.get(key) or FeedbackRecord()
        if not insort_once(record.reports, Report(event.at, event.id, event.data.category)):
            return []
        table[key] = record
        finding = self.judge(key, record)
        return [finding] if finding else []

    def windows(self, record: FeedbackRecord) -> tuple[int, int, int, float | None]:
        """(best count, its first index, its end index, time the minimum was first reached)."""
        reports = record.reports
        best, best_start, best_end = 0, 0, 0
        reached: float | None = None
        start = 0
        for end in range(len(reports)):
            while reports[end].time - reports[start].time > self._window_s:
                start += 1
            count = end - start + 1
            if count >= self.config.min_reports and reached is None:
                reached = reports[end].time
            if count > best:
                best, best_start, best_end = count, start, end + 1
        return best, best_start, best_end, reached

    def judge(self, key: str, record: FeedbackRecord) -> Finding | None:
        best, start, end, reached = self.windows(record)
        if reached is None:
            return None
        window = record.reports[start:end]
        evidence = tuple(
            Proof(report.event_id, FeedbackReceived.TYPE, report.time, f"{report.category.replace('_', ' ')} reported")
            for report in window
        )
        days = self.config.window_days
        return Finding(
            typology=self.typology,
            subject_kind="site",
            subject_id=key,
            severity=self.config.high_severity if best >= self.config.high_reports else self.config.severity,
            strength=min(1.0, best / (2 * self.config.high_reports)),
            summary=(
                f"Site {key} received {best} reports of aid not received or payment demanded within "
                f"{days:g} days (from {moment(window[0].time)}); send a monitor to interview recipients."
            ),
            evidence=evidence,
            raised_at=reached,
        )
