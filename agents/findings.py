"""What a detector returns, and how a finding becomes an alert with a stable id."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from schemas.alerts import REFERENCE, Alert, AlertSubject, Evidence, Severity, SubjectKind, Typology

ALERT_NAMESPACE = uuid.UUID("6f1f4c3e-2b1a-5d0e-9c1e-0a1b2c3d4e5f")
"""Fixed forever: alert ids derive from it, and consumers de-duplicate on them."""

_SCORE_BANDS: dict[Severity, tuple[float, float]] = {
    "low": (0.2, 0.4),
    "medium": (0.4, 0.6),
    "high": (0.6, 0.85),
    "critical": (0.85, 1.0),
}


@dataclass(frozen=True, slots=True)
class Proof:
    """One evidence event: its id, type, event time (epoch s) and a line of detail."""

    event_id: str
    type: str
    time: float
    detail: str


@dataclass(frozen=True, slots=True)
class Finding:
    typology: Typology
    subject_kind: SubjectKind
    subject_id: str
    severity: Severity
    strength: float  # 0..1, how far past the threshold; places the score within its band
    summary: str
    evidence: tuple[Proof, ...]
    raised_at: float  # event time at which the finding became true
    window: str = ""  # detection window; one alert per (typology, subject, window)


def alert_id(typology: str, subject_kind: str, subject_id: str, window: str = "") -> str:
    """Deterministic: the same finding, replayed or re-processed, keeps its id."""
    return str(uuid.uuid5(ALERT_NAMESPACE, f"{typology}/{subject_kind}/{subject_id}/{window}"))


def score(severity: Severity, strength: float) -> float:
    low, high = _SCORE_BANDS[severity]
    return round(low + (high - low) * max(0.0, min(1.0, strength)), 3)


def to_datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def to_alert(finding: Finding) -> Alert:
    evidence = sorted(finding.evidence, key=lambda p: (p.time, p.event_id))
    return Alert(
        alert_id=alert_id(finding.typology, finding.subject_kind, finding.subject_id, finding.window),
        typology=finding.typology,
        severity=finding.severity,
        score=score(finding.severity, finding.strength),
        subject=AlertSubject(kind=finding.subject_kind, id=finding.subject_id),
        summary=finding.summary,
        evidence=[
            Evidence(event_id=p.event_id, type=p.type, detail=p.detail, time=to_datetime(p.time))
            for p in evidence
        ],
        raised_at=to_datetime(finding.raised_at),
        reference=REFERENCE,
        updated_at=to_datetime(max((p.time for p in evidence), default=finding.raised_at)),
    )
