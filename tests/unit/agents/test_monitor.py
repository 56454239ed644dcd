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


def test_the_earliest_dispatch_stands_whatever_the_arrival_order() -> None:
    """A re-issued dispatch (other id, later time, other quantities) never replaces the original."""
    from tests import support as s

    original = s.dispatch("SHP-R", items=[("maize", "kg", 1000)], time=s.at(), id="dispatch-original")
    reissued = s.dispatch("SHP-R", items=[("maize", "kg", 950)], time=s.at(hours=1), id="dispatch-reissued")
    received = s.receipt("SHP-R", items=[("maize", "kg", 950)], time=s.at(hours=20))
    in_order = s.run([original, reissued, received])
    reversed_ = s.run([reissued, original, received])
    assert in_order == reversed_
    losses = s.of(in_order, "transit_loss")
    assert len(losses) == 1 and "dispatch-original" in s.evidence_ids(losses[0])
