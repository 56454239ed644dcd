"""The monitor's wiring: one detector per typology, routing by type, stable alert ids."""

from __future__ import annotations

from agents.config import DetectorConfig
from agents.findings import alert_id
from agents.monitor import build_detectors
from schemas.alerts import TYPOLOGIES
from schemas.events import EVENT_TYPES, REFERENCE_TYPES


def test_one_detector_per_typology_in_the_contracts_order() -> None:
    """The nine typologies of the contract, each exactly once."""
    assert tuple(d.typology for d in build_detectors(DetectorConfig())) == TYPOLOGIES


def test_every_operational_event_type_reaches_a_detector() -> None:
    """No event type is silently ignored: each non-reference type is consumed by some detector."""
    consumed = set().union(*(d.consumes for d in build_detectors(DetectorConfig())))
    assert consumed == set(EVENT_TYPES) - REFERENCE_TYPES


def test_alert_ids_are_fixed_forever() -> None:
    """Consumers de-duplicate on alert ids, so their derivation must never change."""
    assert alert_id("transit_loss", "shipment", "SHP-000001") == alert_id("transit_loss", "shipment", "SHP-000001")
    assert alert_id("transit_loss", "shipment", "SHP-000001") != alert_id("route_deviation", "shipment", "SHP-000001")
    assert alert_id("transit_loss", "shipment", "SHP-000001") == "249b86bf-67de-5468-a028-cdda11b89c34"
