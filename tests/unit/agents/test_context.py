"""An alert's map from the monitor's state: zones in force, the route, positions, stops,
incidents and sites, as GeoJSON; never a beneficiary token."""

from __future__ import annotations

import json
from typing import Any

from agents.monitor import Monitor
from tests import support as s


def _roles(collection: dict[str, Any]) -> list[str]:
    return [feature["properties"]["role"] for feature in collection["features"]]


def _monitor(*events: Any) -> Monitor:
    monitor = Monitor()
    s.emitted(events, monitor=monitor)
    return monitor


def test_a_shipments_map_has_its_zones_route_ends_positions_stops_and_incidents() -> None:
    monitor = _monitor(
        s.zone("Z-1", status="armed_group"), s.site("WH-1", kind="warehouse", point=s.ORIGIN),
        s.site("DP-1", point=s.DESTINATION, caseload=100),
        s.dispatch("SHP-1", time=s.at()), s.position("SHP-1", time=s.at(hours=1)),
        s.stop("SHP-1", started_at=s.at(hours=2), minutes=60, payment_demanded=True),
        s.incident("INC-1", time=s.at(hours=2), kind="looting"),
    )
    collection = monitor.context("shipment", "SHP-1", s.at(hours=3).timestamp())
    assert collection["type"] == "FeatureCollection" and collection["at"] == "2012-07-03T11:00:00Z"
    assert sorted(_roles(collection)) == ["destination", "incident", "origin", "position", "route", "stop", "zone"]
    by_role = {f["properties"]["role"]: f for f in collection["features"]}
    assert by_role["route"]["geometry"] == {"type": "LineString", "coordinates": s.ROUTE}
    assert by_role["zone"]["properties"]["status"] == "armed_group"
    assert by_role["position"]["geometry"]["coordinates"] == [s.ON_ROUTE[1], s.ON_ROUTE[0]]
    assert by_role["origin"]["properties"]["site_id"] == "WH-1"
    assert by_role["stop"]["properties"]["payment_demanded"] is True
    assert by_role["stop"]["properties"]["minutes"] == 60
    assert by_role["incident"]["properties"]["incident_id"] == "INC-1"


def test_zones_are_those_in_force_at_the_given_time() -> None:
    monitor = _monitor(s.zone("Z-1", valid_from=s.at(days=1)), s.dispatch("SHP-1", time=s.at()))
    assert "zone" not in _roles(monitor.context("shipment", "SHP-1", s.at(hours=1).timestamp()))
    assert "zone" in _roles(monitor.context("shipment", "SHP-1", s.at(days=2).timestamp()))


def test_a_sites_map_has_the_site_and_its_rounds_and_no_token() -> None:
    tokens = [s.token(n) for n in range(3)]
    monitor = _monitor(s.site("DP-1", caseload=2),
                       *(s.distribution("DP-1", t, time=s.at(hours=n)) for n, t in enumerate(tokens)))
    collection = monitor.context("site", "DP-1", s.at(hours=4).timestamp())
    [site] = collection["features"]
    assert site["properties"]["rounds"] == [{"round_id": "R1", "households_served": 3}]
    assert not any(t in json.dumps(collection) for t in tokens)


def test_a_beneficiarys_map_shows_the_sites_without_its_token() -> None:
    token = s.token(7)
    monitor = _monitor(s.site("DP-1"), s.site("DP-2", point=s.ORIGIN),
                       s.distribution("DP-1", token, time=s.at()), s.distribution("DP-2", token, time=s.at(hours=1)))
    collection = monitor.context("beneficiary", token, s.at(hours=2).timestamp())
    assert [f["properties"]["site_id"] for f in collection["features"]] == ["DP-1", "DP-2"]
    assert token not in json.dumps(collection)


def test_a_subject_the_state_no_longer_holds_has_only_its_zones() -> None:
    monitor = _monitor(s.zone("Z-1"))
    assert _roles(monitor.context("shipment", "SHP-404", s.at().timestamp())) == ["zone"]
