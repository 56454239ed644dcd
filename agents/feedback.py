"""Sites where beneficiaries keep saying they received nothing, or had to pay."""

from __future__ import annotations

import bisect
import math
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
    settled: tuple[Report, ...] = ()
    """The best window among those ending before `settled_until` (no event can join them
    any more: see `expire`), kept when the reports before it go."""
    settled_reached: float | None = None  # when those windows first reached the minimum
    settled_until: float = -math.inf


class Window(NamedTuple):
    """The best window of reports: how many, which, and when the minimum was first reached."""

    size: int
    reports: list[Report]
    reached: float | None


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

    def expire(self, state: Mapping[str, Store], horizon: float) -> None:
        """Windows ending before `horizon` are settled (a report at or after it is more than a
        window from them): the best is kept, and reports no later window reaches go."""
        table = state[self.typology]
        for key, record in list(table.items()):
            reports = record.reports
            if not reports or reports[0].time >= horizon - self._window_s:
                continue
            settled = self.windows(record, until=horizon)
            record.settled, record.settled_reached = tuple(settled.reports), settled.reached
            record.settled_until = horizon
            record.reports = [r for r in reports if r.time >= horizon - self._window_s]
            if record.reports or record.settled:
                table[key] = record
            else:
                del table[key]

    def windows(self, record: FeedbackRecord, until: float = math.inf) -> Window:
        """The best window (the first of the largest), among the settled one and those ending
        at a report from `settled_until` to `until`."""
        reports = record.reports
        best, best_start, best_end = len(record.settled), 0, 0
        reached = record.settled_reached
        start = 0
        for end in range(bisect.bisect_left(reports, (record.settled_until,)), len(reports)):
            if reports[end].time >= until:
                break
            while reports[end].time - reports[start].time > self._window_s:
                start += 1
            count = end - start + 1
            if count >= self.config.min_reports and reached is None:
                reached = reports[end].time
            if count > best:
                best, best_start, best_end = count, start, end + 1
        window = reports[best_start:best_end] if best_end else list(record.settled)
        return Window(best, window, reached)

    def judge(self, key: str, record: FeedbackRecord) -> Finding | None:
        best, window, reached = self.windows(record)
        if reached is None:
            return None
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
