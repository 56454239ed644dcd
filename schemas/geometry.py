"""GeoJSON Polygon and MultiPolygon (RFC 7946), as zone declarations carry them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from schemas.types import Latitude, Longitude, Model

Position = tuple[Longitude, Latitude]
Ring = Annotated[list[Position], Field(min_length=4, description="closed ring: first = last")]
PolygonRings = Annotated[list[Ring], Field(min_length=1, description="exterior ring, then holes")]


class Polygon(Model):
    type: Literal["Polygon"]
    coordinates: PolygonRings


class MultiPolygon(Model):
    type: Literal["MultiPolygon"]
    coordinates: Annotated[list[PolygonRings], Field(min_length=1)]
