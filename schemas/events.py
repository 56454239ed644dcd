"""One model per event type of the contract: the `data` bodies and their envelopes.

Every envelope names the field of its `data` that its `subject` must equal
(`SUBJECT_FIELD`); `schemas.decode` rejects a mismatch.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Final, Literal, get_args

from pydantic import Field, TypeAdapter

from schemas.envelope import Envelope
from schemas.geometry import MultiPolygon, Polygon
from schemas.types import (
    Identifier,
    Item,
    Latitude,
    Longitude,
    Model,
    Party,
    Place,
    Quantity,
    Timestamp,
)

ZoneStatus = Literal["armed_group", "contested", "government"]
SiteKind = Literal["warehouse", "distribution_point", "camp"]
PartnerRole = Literal["transporter", "consignee", "vendor", "cooperating_partner"]
StopReason = Literal["checkpoint", "breakdown", "rest", "loading", "other"]
FeedbackCategory = Literal["not_received", "partial", "payment_demanded", "other"]
IncidentKind = Literal["looting", "attack", "checkpoint_extortion", "abduction", "other"]


Beneficiary = Annotated[
    str,
    Field(min_length=1, description="a pseudonymous token `tok_...`; any other value is hashed at ingest"),
]
"""A raw identifier is replaced by its token as the event is decoded (`schemas.decode`),
before anything keeps it."""


# --- reference data -------------------------------------------------------------------


class SiteData(Model):
    site_id: Identifier
    name: str
    kind: SiteKind
    lat: Latitude
    lon: Longitude
    caseload_households: Annotated[int, Field(ge=0)] | None = None


class ZoneData(Model):
    zone_id: Identifier
    name: str
    status: ZoneStatus
    controlled_by: str = ""
    geometry: Polygon | MultiPolygon = Field(discriminator="type")
    valid_from: Timestamp
    valid_to: Timestamp | None = None


class PartnerData(Model):
    partner_id: Identifier
    name: str
    role: PartnerRole
    aliases: list[str] = Field(default_factory=list)


# --- logistics ------------------------------------------------------------------------


class DispatchData(Model):
    shipment_id: Identifier
    waybill: str
    origin: Place
    destination: Place
    transporter: Party
    consignee: Party
    items: Annotated[list[Item], Field(min_length=1)]
    planned_route: Annotated[
        list[tuple[Longitude, Latitude]],
        Field(min_length=2, description="GeoJSON LineString coordinates, [[lon, lat], ...]"),
    ]
    expected_arrival: Timestamp


class PositionData(Model):
    shipment_id: Identifier
    lat: Latitude
    lon: Longitude
    speed_kmh: Annotated[float, Field(ge=0)] | None = None


class StopData(Model):
    shipment_id: Identifier
    lat: Latitude
    lon: Longitude
    started_at: Timestamp
    ended_at: Timestamp
    reason: StopReason
    reported_actor: str | None = None
    payment_demanded: bool = False


class ReceivedItem(Item):
    damaged: Annotated[float, Field(ge=0)] = 0.0


class ReceiptData(Model):
    shipment_id: Identifier
    site_id: Identifier
    receiver: Party
    items: list[ReceivedItem]


# --- distribution and feedback --------------------------------------------------------


class DistributionData(Model):
    site_id: Identifier
    round_id: Identifier
    beneficiary: Beneficiary
    household_size: Annotated[int, Field(ge=1)]
    items: list[Item]
    shipment_id: Identifier | None = None


class FeedbackData(Model):
    site_id: Identifier
    round_id: Identifier | None = None
    beneficiary: Beneficiary | None = None
    category: FeedbackCategory


# --- security -------------------------------------------------------------------------


class IncidentData(Model):
    incident_id: Identifier
    lat: Latitude
    lon: Longitude
    kind: IncidentKind
    actor: str | None = None
    shipment_id: Identifier | None = None


# --- envelopes ------------------------------------------------------------------------


class SiteRegistered(Envelope):
    SUBJECT_FIELD: ClassVar[str] = "site_id"
    type: Literal["site.registered"]
    data: SiteData


class ZoneDeclared(Envelope):
    SUBJECT_FIELD: ClassVar[str] = "zone_id"
    type: Literal["zone.declared"]
    data: ZoneData


class PartnerRegistered(Envelope):
    SUBJECT_FIELD: ClassVar[str] = "partner_id"
    type: Literal["partner.registered"]
    data: PartnerData


class ShipmentDispatched(Envelope):
    SUBJECT_FIELD: ClassVar[str] = "shipment_id"
    type: Literal["shipment.dispatched"]
    data: DispatchData


class ConvoyPosition(Envelope):
    SUBJECT_FIELD: ClassVar[str] = "shipment_id"
    type: Literal["convoy.position"]
    data: PositionData


class ConvoyStop(Envelope):
    SUBJECT_FIELD: ClassVar[str] = "shipment_id"
    type: Literal["convoy.stop"]
    data: StopData


class ShipmentReceived(Envelope):
    SUBJECT_FIELD: ClassVar[str] = "shipment_id"
    type: Literal["shipment.received"]
    data: ReceiptData


class DistributionRecorded(Envelope):
    SUBJECT_FIELD: ClassVar[str] = "site_id"
    type: Literal["distribution.recorded"]
    data: DistributionData


class FeedbackReceived(Envelope):
    SUBJECT_FIELD: ClassVar[str] = "site_id"
    type: Literal["feedback.received"]
    data: FeedbackData


class IncidentReported(Envelope):
    SUBJECT_FIELD: ClassVar[str] = "incident_id"
    type: Literal["incident.reported"]
    data: IncidentData


Event = (
    SiteRegistered
    | ZoneDeclared
    | PartnerRegistered
    | ShipmentDispatched
    | ConvoyPosition
    | ConvoyStop
    | ShipmentReceived
    | DistributionRecorded
    | FeedbackReceived
    | IncidentReported
)

EVENT_ADAPTER: Final[TypeAdapter[Event]] = TypeAdapter(Annotated[Event, Field(discriminator="type")])
"""Validates any event, choosing its model by `type`; its JSON Schema is the envelope union."""

EVENT_TYPES: Final[dict[str, type[Envelope]]] = {model.TYPE: model for model in get_args(Event)}
"""Type name -> envelope model, in the order of the `Event` union."""

REFERENCE_TYPES: Final = frozenset({SiteRegistered.TYPE, ZoneDeclared.TYPE, PartnerRegistered.TYPE})
"""Applied first among events with the same `time`."""

__all__ = [
    "EVENT_TYPES",
    "REFERENCE_TYPES",
    "Event",
    "Quantity",
]
