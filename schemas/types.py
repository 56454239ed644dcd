"""Field types shared by every model of the contract (../shared/contract/EVENTS.md)."""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Latitude = Annotated[float, Field(ge=-90, le=90, description="WGS 84 decimal degrees")]
Longitude = Annotated[float, Field(ge=-180, le=180, description="WGS 84 decimal degrees")]
Timestamp = Annotated[AwareDatetime, Field(description="RFC 3339 with an offset")]
Identifier = Annotated[str, Field(min_length=1, max_length=128)]
Quantity = Annotated[float, Field(gt=0, le=1e15, description="at most 10^15: a finite amount in any unit")]
Unit = Literal["kg", "mt", "l"]

KG_PER_UNIT: Final[dict[Unit, float]] = {"kg": 1.0, "mt": 1000.0, "l": 1.0}
"""Quantities are compared in kilograms: `mt` is 1000 kg and `l` (oil) counts as kg.
`Item.kilograms` is the conversion; a raw JSON item converts with this table."""


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
