"""An alert's life after it is raised: monitors acknowledge, confirm, dismiss, resolve.

Each change is an audit record (who, when, what, why) kept on a compacted topic under a
key of its own, so none is ever compacted away. The alert's status is its latest change,
in the topic's order. An alert nobody has touched is `open`.

    open ──► acknowledged ──► confirmed ──► resolved
      │           │   └──────────┐  │          │
      └───────────┴──► dismissed ◄──┘          │
    dismissed ──► acknowledged | confirmed      (new evidence: look again)
    resolved  ──► acknowledged                  (it came back)
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from schemas.types import Identifier, Timestamp

NewStatus = Literal["acknowledged", "confirmed", "dismissed", "resolved"]
Status = Literal["open", NewStatus]
STATUSES: Final[tuple[Status, ...]] = get_args(Status)

TRANSITIONS: Final[dict[Status, frozenset[Status]]] = {
    "open": frozenset(get_args(NewStatus)),
    "acknowledged": frozenset({"confirmed", "dismissed", "resolved"}),
    "confirmed": frozenset({"dismissed", "resolved"}),
    "dismissed": frozenset({"acknowledged", "confirmed"}),
    "resolved": frozenset({"acknowledged"}),
}


def can_change(current: Status, new: Status) -> bool:
    return new in TRANSITIONS[current]


class StatusRequest(BaseModel):
    """The body of POST /alerts/{alert_id}/status."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    status: NewStatus
    note: Annotated[str, Field(max_length=2000, description="why; kept in the audit record")] = ""


class StatusChange(BaseModel):
    """One audit record of the alert lifecycle."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    change_id: Annotated[str, Field(description="unique per change (UUID)")]
    alert_id: Identifier
    status: NewStatus
    previous: Status
    note: str = ""
    by: Annotated[str, Field(description="the name of the token that made the change")]
    role: Literal["monitor", "admin"]
    at: Annotated[Timestamp, Field(description="wall-clock time of the change, UTC")]
