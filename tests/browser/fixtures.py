"""Hand-made maps in the shape of GET /alerts/{alert_id}/context (streams.api.alert_views,
agents.context), to draw with the console's map.js without a worker's state: a shipment's
(zones of every status, one a MultiPolygon with a hole, the route, positions, a stop, an
incident, origin and destination) and a site's (its rounds)."""

from __future__ import annotations

from typing import Any


def feature(role: str, geometry_type: str, coordinates: Any, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": geometry_type, "coordinates": coordinates},
            "properties": {"role": role, **properties}}


def point(role: str, lon: float, lat: float, **properties: Any) -> dict[str, Any]:
    return feature(role, "Point", [lon, lat], **properties)


ZONES = [
    feature("zone", "Polygon", [[[-0.2, 17.4], [1.3, 17.2], [3.4, 17.8], [4.3, 19.2], [4.3, 21.2], [1.2, 21.9],
                                 [-0.2, 20.6], [-0.2, 17.4]]],
            zone_id="ZN-KIDAL", name="Kidal region", status="armed_group", controlled_by="Ansar Dine"),
    feature("zone", "MultiPolygon", [
        [[[-1.5, 14.6], [1.2, 14.6], [1.2, 17.2], [-1.5, 17.2], [-1.5, 14.6]],
         [[0.1, 15.0], [0.6, 15.0], [0.6, 15.4], [0.1, 15.4], [0.1, 15.0]]],  # a hole
        [[[2.0, 14.8], [4.0, 14.8], [4.0, 16.5], [2.0, 16.5], [2.0, 14.8]]],
    ], zone_id="ZN-GAO", name="Gao region", status="contested", controlled_by="MUJAO"),
    feature("zone", "Polygon", [[[-12.2, 10.2], [-4.0, 10.2], [-4.0, 15.0], [-12.2, 15.0], [-12.2, 10.2]]],
            zone_id="ZN-SOUTH", name="Southern regions", status="government", controlled_by="Government of Mali"),
]

ROUTE = [[-0.044, 16.272], [0.502, 15.659], [2.402, 15.918]]
POSITIONS = [(-0.042, 16.271, "2012-07-02T00:23:39Z"), (0.35, 16.02, "2012-07-02T01:23:39Z"),
             (0.62, 16.1, "2012-07-02T02:23:39Z"), (0.64, 16.12, "2012-07-02T02:53:39Z")]

SHIPMENT_MAP: dict[str, Any] = {
    "type": "FeatureCollection", "alert_id": "fixture-shipment", "at": "2012-07-02T02:53:39Z",
    "features": [
        *ZONES,
        feature("route", "LineString", ROUTE, shipment_id="SHP-FIXTURE"),
        point("origin", -0.044, 16.272, site_id="WH-GAO"),
        point("destination", 2.402, 15.918, site_id="DP-MENAKA"),
        *[point("position", lon, lat, time=time, event_id=f"pos-{i}") for i, (lon, lat, time) in enumerate(POSITIONS)],
        point("stop", 0.62, 16.1, time="2012-07-02T02:23:39Z", event_id="stop-1", reason="checkpoint",
              payment_demanded=True, minutes=95),
        point("incident", 0.7, 16.15, time="2012-07-01T18:00:00Z", event_id="inc-1", incident_id="INC-7",
              kind="armed_robbery"),
    ],
}

SITE_MAP: dict[str, Any] = {
    "type": "FeatureCollection", "alert_id": "fixture-site", "at": "2012-07-10T06:00:00Z",
    "features": [
        ZONES[1],
        point("site", 1.408, 18.441, site_id="DP-KIDAL", name="Kidal distribution point", kind="distribution_point",
              caseload_households=1200,
              rounds=[{"round_id": "R-2012-06", "households_served": 1180},
                      {"round_id": "R-2012-07", "households_served": 1530}]),
    ],
}

EMPTY_MAP: dict[str, Any] = {"type": "FeatureCollection", "alert_id": "fixture-empty", "features": []}
