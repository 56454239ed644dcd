"""The monitor's wiring: one detector per typology, routing by type, stable alert ids."""

from __future__ import annotations

import pytest

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


PINNED_IDS = [
    (("transit_loss", "shipment", "SHP-000001", ""), "249b86bf-67de-5468-a028-cdda11b89c34"),
    (("overdue_shipment", "shipment", "SHP-000001", "2012-07-03"), "da66130c-fca5-578f-acc1-e3a11327e9bf"),
    (("duplicate_collection", "beneficiary", "tok_x", "R1"), "f6e8a236-bdf4-5dbb-8fe2-29de12afbc4b"),
]


@pytest.mark.parametrize(("finding", "expected"), PINNED_IDS)
def test_alert_ids_are_fixed_forever(finding: tuple[str, str, str, str], expected: str) -> None:
    """Consumers de-duplicate on alert ids: an id once published is derived again, the same, forever."""
    assert alert_id(*finding) == expected


def test_each_part_of_a_finding_gives_another_alert_id() -> None:
    """Typology, subject kind, subject id and window each take part: change one, get another id."""
    base = ("transit_loss", "shipment", "SHP-000001", "")
    variants = [base, ("route_deviation", *base[1:]), (base[0], "site", *base[2:]), (*base[:2], "SHP-000002", ""),
                (*base[:3], "2012-07-03")]
    assert len({alert_id(*variant) for variant in variants}) == len(variants)


def test_the_monitor_names_its_alerts_by_the_fixed_derivation() -> None:
    """An alert the monitor raises carries the id derived from its typology and subject."""
    from tests import support as s

    loss = s.run([s.dispatch("SHP-000001"), s.receipt("SHP-000001", items=[("maize", "kg", 900)], time=s.at(hours=20))])
    assert list(loss) == [PINNED_IDS[0][1]]


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


def test_an_event_expires_behind_where_every_source_has_got_not_behind_the_fastest() -> None:
    """Two partitions read at different speeds: an event of the slow one is judged against
    where both have got to, so catching up never makes events expire that an ordered stream
    would apply; 46 days behind both, it expires."""
    from agents.monitor import Monitor
    from tests import support as s

    monitor = Monitor(DetectorConfig(retention_days=45))
    monitor.expect(["events-0", "events-1"])
    monitor.process(s.dispatch("SHP-1", time=s.at()), source="events-1")
    monitor.process(s.dispatch("SHP-2", time=s.at(days=100)), source="events-0")  # read far ahead
    slow = s.dispatch("SHP-3", time=s.at(days=1))
    assert not monitor.is_expired(slow)
    monitor.process(slow, source="events-1")
    monitor.process(s.dispatch("SHP-4", time=s.at(days=90)), source="events-1")
    late = s.dispatch("SHP-5", time=s.at(days=44))
    assert monitor.is_expired(late) and monitor.process(late, source="events-1") == []
    assert monitor.expired == 1
