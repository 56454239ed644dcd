"""Detector thresholds and severities: the contract's defaults, every one configurable.

Plain frozen dataclasses; `streams.settings` validates them from the TOML file and the
environment (pydantic reads stdlib dataclasses, and `__pydantic_config__` forbids
unknown keys so that a misspelt threshold is an error, not a silent default).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, get_args

from schemas.alerts import Severity
from schemas.events import IncidentKind, ZoneStatus

_STRICT: Any = {"extra": "forbid"}


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclass(frozen=True)
class TransitLossConfig:
    __pydantic_config__ = _STRICT
    loss_ratio: float = 0.02
    high_loss_ratio: float = 0.10
    severity: Severity = "medium"
    high_severity: Severity = "high"

    def __post_init__(self) -> None:
        _require(0 <= self.loss_ratio <= self.high_loss_ratio <= 1, "need 0 <= loss_ratio <= high_loss_ratio <= 1")


@dataclass(frozen=True)
class RouteDeviationConfig:
    __pydantic_config__ = _STRICT
    corridor_km: float = 5.0
    min_consecutive: int = 2
    severity: Severity = "medium"
    armed_zone_severity: Severity = "high"

    def __post_init__(self) -> None:
        _require(self.corridor_km > 0, "corridor_km must be > 0")
        _require(self.min_consecutive >= 1, "min_consecutive must be >= 1")


@dataclass(frozen=True)
class UnscheduledStopConfig:
    __pydantic_config__ = _STRICT
    min_stop_minutes: float = 45.0
    endpoint_radius_km: float = 2.0
    zone_statuses: tuple[str, ...] = ("armed_group", "contested")
    severity: Severity = "medium"
    payment_severity: Severity = "high"

    def __post_init__(self) -> None:
        _require(self.min_stop_minutes >= 0, "min_stop_minutes must be >= 0")
        _require(self.endpoint_radius_km >= 0, "endpoint_radius_km must be >= 0")
        unknown = set(self.zone_statuses) - set(get_args(ZoneStatus))
        _require(not unknown, f"unknown zone status {sorted(unknown)}")


@dataclass(frozen=True)
class OverdueShipmentConfig:
    __pydantic_config__ = _STRICT
    grace_hours: float = 24.0
    severity: Severity = "medium"

    def __post_init__(self) -> None:
        _require(self.grace_hours >= 0, "grace_hours must be >= 0")


@dataclass(frozen=True)
class IncidentNearbyConfig:
    __pydantic_config__ = _STRICT
    radius_km: float = 10.0
    window_hours: float = 6.0
    kinds: tuple[str, ...] = ("looting", "attack", "checkpoint_extortion")
    severity: Severity = "high"

    def __post_init__(self) -> None:
        _require(self.radius_km >= 0 and self.window_hours >= 0, "radius_km and window_hours must be >= 0")
        unknown = set(self.kinds) - set(get_args(IncidentKind))
        _require(not unknown, f"unknown incident kind {sorted(unknown)}")


@dataclass(frozen=True)
class SanctionedPartyConfig:
    __pydantic_config__ = _STRICT
    similarity: float = 0.90
    severity: Severity = "critical"

    def __post_init__(self) -> None:
        _require(0 < self.similarity <= 1, "similarity must be in (0, 1]")


@dataclass(frozen=True)
class OverDistributionConfig:
    __pydantic_config__ = _STRICT
    caseload_ratio: float = 1.10
    stock_ratio: float = 1.02
    severity: Severity = "medium"
    both_severity: Severity = "high"

    def __post_init__(self) -> None:
        _require(self.caseload_ratio > 0 and self.stock_ratio > 0, "ratios must be > 0")


@dataclass(frozen=True)
class DuplicateCollectionConfig:
    __pydantic_config__ = _STRICT
    min_collections: int = 2
    severity: Severity = "medium"

    def __post_init__(self) -> None:
        _require(self.min_collections >= 2, "min_collections must be >= 2")


@dataclass(frozen=True)
class NonReceiptFeedbackConfig:
    __pydantic_config__ = _STRICT
    window_days: float = 7.0
    min_reports: int = 5
    high_reports: int = 10
    categories: tuple[str, ...] = ("not_received", "payment_demanded")
    severity: Severity = "medium"
    high_severity: Severity = "high"

    def __post_init__(self) -> None:
        _require(self.window_days > 0, "window_days must be > 0")
        _require(1 <= self.min_reports <= self.high_reports, "need 1 <= min_reports <= high_reports")


@dataclass(frozen=True)
class DetectorConfig:
    """Every detector's thresholds, plus how the monitor orders late events."""

    __pydantic_config__ = _STRICT
    reorder_minutes: float = 60.0
    """Allowed lateness: findings that a late event could undo (route deviation, overdue,
    stock) are judged only once the clock is this far past the events they rest on."""
    max_evidence: int = 50
    retention_days: float = 45.0
    """How long state is kept (contract 1.1, state retention): a subject is forgotten once
    the clock is this far past its latest event and its pending deadlines, and an event this
    far behind the clock is rejected as `expired` instead of applied."""
    transit_loss: TransitLossConfig = field(default_factory=TransitLossConfig)
    route_deviation: RouteDeviationConfig = field(default_factory=RouteDeviationConfig)
    unscheduled_stop: UnscheduledStopConfig = field(default_factory=UnscheduledStopConfig)
    overdue_shipment: OverdueShipmentConfig = field(default_factory=OverdueShipmentConfig)
    incident_nearby: IncidentNearbyConfig = field(default_factory=IncidentNearbyConfig)
    sanctioned_party: SanctionedPartyConfig = field(default_factory=SanctionedPartyConfig)
    over_distribution: OverDistributionConfig = field(default_factory=OverDistributionConfig)
    duplicate_collection: DuplicateCollectionConfig = field(default_factory=DuplicateCollectionConfig)
    non_receipt_feedback: NonReceiptFeedbackConfig = field(default_factory=NonReceiptFeedbackConfig)

    def __post_init__(self) -> None:
        _require(self.reorder_minutes >= 0, "reorder_minutes must be >= 0")
        _require(self.max_evidence >= 1, "max_evidence must be >= 1")
        _require(self.retention_days * 1440 > self.reorder_minutes, "retention_days must outlast reorder_minutes")
