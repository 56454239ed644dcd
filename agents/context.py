"""An alert's map: what a monitor's state knows about its subject and surroundings, as a
GeoJSON FeatureCollection (coordinates `[lon, lat]`).

Every feature has `properties.role`:

    zone         Polygon | MultiPolygon   zone_id, name, status, controlled_by (in force at `at`)
    route        LineString               shipment_id: the planned route
    origin, destination   Point           site_id (when a registered site lies there)
    position     Point                    time, event_id
    stop         Point                    time, event_id, reason, payment_demanded, minutes
    incident     Point                    time, event_id, incident_id, kind
    site         Point                    site_id, name, kind, caseload_households[, rounds]

A site alert's site carries its rounds (`round_id`, `households_served`). A beneficiary's
map shows the sites it was served at; its token appears nowhere in the collection.
Only what the state still holds is drawn: past the retention, a subject's map is the zones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from agents.collection import CollectionRecord
from agents.detector import Site
from agents.geo import ZoneMap
from agents.movement import RouteRecord, StopRecord
from agents.security import ExposureRecord
from agents.site_record import SiteRecord

Feature = dict[str, Any]


def subject_context(
    records: Mapping[str, Any], zones: ZoneMap, sites: Mapping[str, Site], kind: str, subject_id: str, at: float
) -> dict[str, Any]:
    """The FeatureCollection of a subject: `records` are its state, by typology (those the
    monitor holds); `at` (epoch seconds) picks the zones in force."""
    features = [_zone(version) for version in zones.active(at)]
    if kind == "shipment":
        features += _shipment(records, sites, subject_id)
    elif kind == "site":
        site = sites.get(subject_id)
        if site is not None:
            features.append(_site(site, records.get("over_distribution")))
    elif kind == "beneficiary":
        collected: CollectionRecord = records.get("duplicate_collection") or {}
        served = {site_id for visits in collected.values() for _, _, site_id in visits}
        features += [_site(sites[s]) for s in sorted(served) if s in sites]
    return {"type": "FeatureCollection", "at": _iso(at), "features": features}


def _shipment(records: Mapping[str, Any], sites: Mapping[str, Site], shipment_id: str) -> list[Feature]:
    features: list[Feature] = []
    route: RouteRecord | None = records.get("route_deviation")
    if route is not None and route.route:
        features.append(_feature("route", "LineString", [list(p) for p in route.route], shipment_id=shipment_id))
    stops: StopRecord | None = records.get("unscheduled_stop")
    if stops is not None:
        for role, place in (("origin", stops.origin), ("destination", stops.destination)):
            if place is not None:
                features.append(_point(role, place[0], place[1], site_id=_site_at(sites.values(), *place)))
        for stop in stops.stops:
            features.append(_point("stop", stop.lat, stop.lon, time=_iso(stop.time), event_id=stop.event_id,
                                   reason=stop.reason, payment_demanded=stop.payment_demanded,
                                   minutes=round((stop.ended - stop.started) / 60)))
    if route is not None:
        for t, event_id, lat, lon, _ in route.positions:
            features.append(_point("position", lat, lon, time=_iso(t), event_id=event_id))
    exposure: ExposureRecord | None = records.get("incident_nearby")
    if exposure is not None:
        incidents = {**exposure.incidents, **exposure.named}
        for event_id, incident in sorted(incidents.items(), key=lambda kv: kv[1].time):
            features.append(_point("incident", incident.lat, incident.lon, time=_iso(incident.time),
                                   event_id=event_id, incident_id=incident.incident_id, kind=incident.kind))
    return features


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _zone(version: Any) -> Feature:
    return {"type": "Feature", "geometry": version.geometry,
            "properties": {"role": "zone", "zone_id": version.zone_id, "name": version.name,
                           "status": version.status, "controlled_by": version.controlled_by}}


def _site(site: Site, record: SiteRecord | None = None) -> Feature:
    properties: dict[str, Any] = {"site_id": site.site_id, "name": site.name, "kind": site.kind,
                                  "caseload_households": site.caseload_households}
    if record is not None:
        properties["rounds"] = [{"round_id": round_id, "households_served": households}
                                for round_id, (households, _) in sorted(record.rounds.items())]
    return _point("site", site.lat, site.lon, **properties)


def _site_at(sites: Iterable[Site], lat: float, lon: float) -> str | None:
    """The registered site at exactly this place, if one is."""
    return next((s.site_id for s in sites if s.lat == lat and s.lon == lon), None)


def _point(role: str, lat: float, lon: float, **properties: Any) -> Feature:
    return _feature(role, "Point", [lon, lat], **properties)


def _feature(role: str, geometry_type: str, coordinates: Any, **properties: Any) -> Feature:
    return {"type": "Feature", "geometry": {"type": geometry_type, "coordinates": coordinates},
            "properties": {"role": role, **properties}}
