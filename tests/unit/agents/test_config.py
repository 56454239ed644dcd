"""Detector settings name only what the contract defines."""

from __future__ import annotations

from typing import get_args

import pytest

from agents.config import IncidentNearbyConfig, UnscheduledStopConfig
from schemas.events import IncidentKind, ZoneStatus


def test_every_zone_status_of_the_contract_may_be_watched() -> None:
    """Stops may be judged in any zone status the contract defines."""
    assert UnscheduledStopConfig(zone_statuses=get_args(ZoneStatus)).zone_statuses == get_args(ZoneStatus)


def test_an_unknown_zone_status_is_refused() -> None:
    """A misspelt zone status is an error, not a status no zone ever has."""
    with pytest.raises(ValueError, match="unknown zone status"):
        UnscheduledStopConfig(zone_statuses=("armed-group",))


def test_every_incident_kind_of_the_contract_may_be_watched() -> None:
    """Any incident kind the contract defines may count as nearby danger."""
    assert IncidentNearbyConfig(kinds=get_args(IncidentKind)).kinds == get_args(IncidentKind)


def test_an_unknown_incident_kind_is_refused() -> None:
    """A misspelt incident kind is an error, not a kind no incident ever has."""
    with pytest.raises(ValueError, match="unknown incident kind"):
        IncidentNearbyConfig(kinds=("lootings",))
