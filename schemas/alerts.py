"""The alert a monitor receives: one finding, with the evidence events behind it."""

from __future__ import annotations

from typing import Annotated, Final, Literal, get_args

from pydantic import Field

from schemas.types import Identifier, Model, Timestamp

Typology = Literal[
    "transit_loss",
    "route_deviation",
    "unscheduled_stop",
    "overdue_shipment",
    "incident_nearby",
    "sanctioned_party",
    "over_distribution",
    "duplicate_collection",
    "non_receipt_feedback",
]
TYPOLOGIES: Final[tuple[Typology, ...]] = get_args(Typology)
Severity = Literal["low", "medium", "high", "critical"]
SEVERITIES: Final[tuple[Severity, ...]] = get_args(Severity)
SubjectKind = Literal["shipment", "site", "beneficiary", "partner"]

Reference = Literal["Abidjan conclusions of 7 June 2012, para. 13"]
REFERENCE: Final[Reference] = get_args(Reference)[0]


class AlertSubject(Model):
    kind: SubjectKind
    id: Identifier


class Evidence(Model):
    event_id: Identifier
    type: str
    detail: str
    time: Timestamp | None = Field(default=None, description="the evidence event's time (optional)")


class Alert(Model):
    alert_id: Annotated[str, Field(description="deterministic from typology, subject and window")]
    typology: Typology
    severity: Severity
    score: Annotated[float, Field(ge=0, le=1)]
    subject: AlertSubject
    summary: str
    evidence: list[Evidence]
    raised_at: Timestamp
    reference: Reference = REFERENCE
    updated_at: Timestamp | None = Field(
        default=None, description="event time of the latest evidence (optional)"
    )
