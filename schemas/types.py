"""Field types shared by every model of the contract (../shared/contract/EVENTS.md)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic_core import TzInfo

Latitude = Annotated[float, Field(ge=-90, le=90, description="WGS 84 decimal degrees")]
Longitude = Annotated[float, Field(ge=-180, le=180, description="WGS 84 decimal degrees")]
Timestamp = Annotated[AwareDatetime, Field(description="RFC 3339 with an offset")]
Identifier = Annotated[str, Field(min_length=1, max_length=128)]
Quantity = Annotated[float, Field(gt=0)]
Unit = Literal["kg", "mt", "l"]

KG_PER_UNIT: Final[dict[Unit, float]] = {"kg": 1.0, "mt": 1000.0, "l": 1.0}
"""Quantities are compared in kilograms: `mt` is 1000 kg and `l` (oil) counts as kg.
`Item.kilograms` is the conversion; a raw JSON item converts with this table."""


EPOCH_ORDINAL: Final = 719163  # date(1970, 1, 1).toordinal()
_OFFSETS: dict[tzinfo, int] = {}  # pydantic's fixed offsets, in seconds (at most one per offset)


def epoch_seconds(t: datetime) -> float:
    """`t.timestamp()` of an aware datetime, the same float, without asking its tzinfo for
    the offset every time: pydantic's `TzInfo` answers that slowly, and every event's `time`
    is converted once at decode."""
    zone = t.tzinfo
    offset = _OFFSETS.get(zone)  # type: ignore[arg-type]
    if offset is None:
        delta = t.utcoffset()
        if type(zone) is not TzInfo or delta is None:
            return t.timestamp()
        offset = _OFFSETS[zone] = delta.days * 86400 + delta.seconds
    seconds = (t.toordinal() - EPOCH_ORDINAL) * 86400 + t.hour * 3600 + t.minute * 60 + t.second - offset
    return (seconds * 1_000_000 + t.microsecond) / 1_000_000  # as timestamp(): microseconds / 10**6


class Model(BaseModel):
    """Base of every contract model: strict types, extra fields tolerated and dropped."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, cache_strings="none")


class Item(Model):
    commodity: Identifier
    unit: Unit
    quantity: Quantity

    @property
    def kilograms(self) -> float:
        """`quantity` in kilograms (see `KG_PER_UNIT`)."""
        return self.quantity * KG_PER_UNIT[self.unit]


class Party(Model):
    partner_id: Identifier
    name: Annotated[str, Field(min_length=1)]


class Place(Model):
    site_id: Identifier
    lat: Latitude
    lon: Longitude
