"""Zones over time: which declarations can change the zone that applies somewhere."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from agents.geo import ZoneMap, ZoneVersion

SQUARE: dict[str, Any] = {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]]}
DAY = 86400.0


def _version(event_id: str, valid_from: float, declared_at: float, **changes: Any) -> ZoneVersion:
    base = ZoneVersion("Z-1", "Zone 1", "contested", "", valid_from, None, declared_at, event_id, SQUARE)
    return replace(base, **changes)


def test_a_zone_declared_again_as_it_was_changes_nothing() -> None:
    """The first declaration changes the map; the same zone sent again from a later day (or
    the same event again) does not, and every answer stays; another status does change it."""
    zones = ZoneMap()
    assert zones.declare(_version("e1", 0.0, 0.0))
    before = zones.zone_at(1.0, 1.0, 10 * DAY)
    assert not zones.declare(_version("e2", 5 * DAY, 6 * DAY))
    assert not zones.declare(_version("e2", 5 * DAY, 6 * DAY))
    assert zones.zone_at(1.0, 1.0, 10 * DAY) == before
    assert zones.declare(_version("e3", 8 * DAY, 9 * DAY, status="armed_group", controlled_by="MUJAO"))
    assert zones.zone_at(1.0, 1.0, 10 * DAY).status == "armed_group"  # type: ignore[union-attr]
    assert zones.declare(_version("e4", 9 * DAY, 10 * DAY))  # back as it was before e3: a change


def test_a_declaration_another_one_of_the_same_day_overrides_changes_nothing() -> None:
    """Of two versions from the same `valid_from`, the one declared later is in force: one
    that arrives late but was declared earlier never applies."""
    zones = ZoneMap()
    zones.declare(_version("e1", 0.0, 0.0))
    assert zones.declare(_version("e2", 5 * DAY, 6 * DAY, status="armed_group"))
    assert not zones.declare(_version("e3", 5 * DAY, 5.5 * DAY, status="government"))
    assert zones.zone_at(1.0, 1.0, 5 * DAY).status == "armed_group"  # type: ignore[union-attr]
