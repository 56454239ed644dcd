"""Which partition of the monitor's input keeps the state each detector needs for an event.

Detectors keep state keyed by their subject: a shipment, a site, a beneficiary token. An
event goes to the partition of each key it feeds, as one message naming the typologies
that apply there. Reference data goes to every partition. An incident goes to every
partition too (any partition may hold a convoy near it), but only the partition of the
shipment it names is told the name (the others get a copy without it), so that the naming
rule fires exactly once.
"""

from __future__ import annotations

import zlib
from collections import defaultdict

from schemas.events import (
    REFERENCE_TYPES,
    DistributionRecorded,
    Event,
    IncidentReported,
    ShipmentReceived,
)

SHIPMENT_LANE = frozenset(
    {"transit_loss", "route_deviation", "unscheduled_stop", "overdue_shipment", "incident_nearby", "sanctioned_party"}
)
SITE_LANE = frozenset({"over_distribution", "non_receipt_feedback"})
BENEFICIARY_LANE = frozenset({"duplicate_collection"})
EVERY_LANE = SHIPMENT_LANE | SITE_LANE | BENEFICIARY_LANE

_SHIPMENT_ONLY = frozenset({"shipment.dispatched", "convoy.position", "convoy.stop"})

Target = tuple[int, frozenset[str], Event]  # partition, typologies that apply there, the event


def partition_of(key: str, partitions: int) -> int:
    """A stable partition for a state key (the same in every worker and every run)."""
    return zlib.crc32(key.encode("utf-8")) % partitions


def route(event: Event, partitions: int) -> list[Target]:
    """The messages one event becomes: (partition, typologies, event), at most one per partition."""
    event_type = event.type
    if event_type in _SHIPMENT_ONLY:  # most events: one partition, no set to build
        return [(partition_of(event.subject, partitions), SHIPMENT_LANE, event)]
    if event_type in REFERENCE_TYPES:
        return [(p, frozenset(), event) for p in range(partitions)]
    if isinstance(event, IncidentReported):
        named = event.data.shipment_id
        home = partition_of(named, partitions) if named else -1
        anonymous = _without_name(event) if named else event
        return [(p, frozenset({"incident_nearby"}), event if p == home else anonymous) for p in range(partitions)]
    lanes: dict[int, set[str]] = defaultdict(set)
    if event.type in ("feedback.received", "distribution.recorded"):
        lanes[partition_of(event.subject, partitions)] |= SITE_LANE
        if isinstance(event, DistributionRecorded):
            lanes[partition_of(event.data.beneficiary, partitions)] |= BENEFICIARY_LANE
    else:  # shipment.dispatched, convoy.position, convoy.stop, shipment.received
        lanes[partition_of(event.subject, partitions)] |= SHIPMENT_LANE
        if isinstance(event, ShipmentReceived):
            lanes[partition_of(event.data.site_id, partitions)] |= SITE_LANE
    return [(p, frozenset(only), event) for p, only in sorted(lanes.items())]


def _without_name(incident: IncidentReported) -> IncidentReported:
    """The incident as the partitions of other shipments see it: no shipment named."""
    return incident.model_copy(update={"data": incident.data.model_copy(update={"shipment_id": None})})
