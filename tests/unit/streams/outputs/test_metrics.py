"""The metrics bundle: bounded labels, counters that start at zero, a registry per use."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from schemas.alerts import SEVERITIES, TYPOLOGIES
from streams.outputs.metrics import MAX_SOURCES, OTHER, Bounded, create


def test_sources_beyond_the_limit_are_other() -> None:
    """The first MAX_SOURCES distinct sources keep their names; every further one is 'other'."""
    bounded = Bounded(MAX_SOURCES)
    names = [bounded(f"/agencies/a{i}") for i in range(MAX_SOURCES + 50)]
    assert len(set(names)) == MAX_SOURCES + 1 and names[-1] == OTHER
    assert bounded("/agencies/a0") == "/agencies/a0"


def test_event_types_outside_the_contract_are_unknown() -> None:
    """A type label is a contract type or 'unknown', whatever a publisher sent."""
    metrics = create(CollectorRegistry())
    assert metrics.event_type_label("shipment.received") == "shipment.received"
    assert metrics.event_type_label("tok_abcdefghijklmnop") == "unknown"
    assert metrics.event_type_label(None) == "unknown"


def test_counters_start_at_zero_for_every_known_label() -> None:
    """Every typology x severity, reject reason and subscription x outcome is exported at 0 from the start."""
    registry = CollectorRegistry()
    create(registry).start_at_zero(("monitors",))
    text = generate_latest(registry).decode()
    assert 'aidmon_alerts_total{severity="critical",typology="sanctioned_party"} 0.0' in text
    assert 'aidmon_rejects_total{reason="not_json"} 0.0' in text
    assert 'aidmon_webhook_deliveries_total{outcome="dead_lettered",subscription="monitors"} 0.0' in text
    assert text.count("aidmon_alerts_total{") == len(TYPOLOGIES) * len(SEVERITIES)


def test_two_bundles_do_not_collide() -> None:
    """A fresh registry each time: building the bundle twice is no error."""
    first, second = create(CollectorRegistry()), create(CollectorRegistry())
    first.alerts.labels("transit_loss", "high").inc()
    assert second.alerts.labels("transit_loss", "high")._value.get() == 0


def test_a_rejected_message_is_labelled_as_far_as_it_says() -> None:
    """A reject counts under its type and source when it has them, 'unknown' otherwise."""
    metrics = create(CollectorRegistry())
    assert metrics.raw_labels(b'{"type": "convoy.stop", "source": "/agencies/wfp/mli", "id": 3}') == (
        "convoy.stop", "/agencies/wfp/mli")
    assert metrics.raw_labels(b'{"type": "made.up", "source": 7}') == ("unknown", "unknown")
    assert metrics.raw_labels(b"\xff{not json") == ("unknown", "unknown")
    assert metrics.raw_labels(b"[1, 2]") == ("unknown", "unknown")
