"""The reference tables (sanctions entries, sites, partners, zones, actors) and their events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

from streams.dev.synthetic.records import Builder

BASE = datetime(2012, 6, 29, 6, tzinfo=UTC)  # reference data
REFERENCE = ("site.registered", "zone.declared", "partner.registered")
ACTORS = ["MUJAO", "MNLA", "Ansar Dine", "unidentified armed men", "local militia"]


@dataclass(frozen=True)
class Listed:
    """One fictitious sanctions-list entry: name parts (joined = listed name) and aliases."""

    kind: str  # "individual" | "entity"
    parts: tuple[str, ...]
    aliases: tuple[str, ...]
    reference: str

    @property
    def name(self) -> str:
        return " ".join(self.parts)


SANCTIONED: list[Listed] = [
    Listed("individual", ("Ousmane", "Ag", "Kelmoudane"), ("Abou Kelmoud", "Ousmane Kelmoudani"), "QDi.F01"),
    Listed("individual", ("Sidi", "Mohamed", "Ould Tawfrek"), ("Abu Tawfrek",), "QDi.F02"),
    Listed("individual", ("Hamma", "Boulkassoum", "Ezzaouak"), ("Hamma Zaouak",), "QDi.F03"),
    Listed("entity", ("Adrar Sahel Express Transit",), ("ASET Logistique",), "QDe.F01"),
]
NEAR_MISSES = ["Ousmane Ag Bilal", "Sidi Mohamed Ould Cheikhna", "Hamma Boulkassoum Traoré", "Adrar Nord Transport"]


@dataclass(frozen=True)
class Site:
    site_id: str
    name: str
    kind: str
    lat: float
    lon: float
    caseload: int = 0
    weight: float = 0.0  # share of shipments sent here
    origins: tuple[str, ...] = ()
    consignee: str = ""


WAREHOUSES = [
    Site("WH-MOP", "Mopti warehouse", "warehouse", 14.4936, -4.1978),
    Site("WH-GAO", "Gao warehouse", "warehouse", 16.2717, -0.0447),
    Site("WH-TBT", "Tombouctou warehouse", "warehouse", 16.7735, -3.0074),
    Site("WH-NIM", "Niamey logistics hub", "warehouse", 13.5116, 2.1254),
    Site("WH-NEM", "Nema warehouse", "warehouse", 16.6167, -7.2500),
    Site("WH-DJB", "Djibo warehouse", "warehouse", 14.1022, -1.6306),
]
POINTS = [
    Site("DP-KID", "Kidal", "distribution_point", 18.4411, 1.4078, 2000, 0.6, ("WH-GAO",), "PRT-C01"),
    Site("DP-MEN", "Menaka", "distribution_point", 15.9182, 2.4022, 4000, 1.0, ("WH-GAO", "WH-NIM"), "PRT-C02"),
    Site("DP-ANS", "Ansongo", "distribution_point", 15.6597, 0.5022, 160, 0.15, ("WH-GAO", "WH-NIM"), "PRT-C03"),
    Site("DP-BRM", "Bourem", "distribution_point", 16.9536, -0.3497, 200, 0.2, ("WH-GAO", "WH-TBT"), "PRT-C04"),
    Site("DP-DTZ", "Douentza", "distribution_point", 15.0019, -2.9497, 5000, 1.2, ("WH-MOP", "WH-DJB"), "PRT-C05"),
    Site("DP-NFK", "Niafunke", "distribution_point", 15.9322, -3.9906, 4000, 1.0, ("WH-MOP", "WH-TBT"), "PRT-C06"),
    Site("DP-GDM", "Goundam", "distribution_point", 16.4145, -3.6708, 3000, 0.9, ("WH-TBT", "WH-MOP"), "PRT-C07"),
    Site("CMP-MBR", "Mbera camp", "camp", 15.6400, -5.7600, 16000, 3.5, ("WH-NEM",), "PRT-C08"),
]
SITES = {s.site_id: s for s in WAREHOUSES + POINTS}
PARTNERS = [  # (partner_id, name, role, aliases)
    ("PRT-T01", "Transports Maïga et Frères", "transporter", ["TMF Gao"]),
    ("PRT-T02", "Société Diarra Transit", "transporter", []),
    ("PRT-T03", "Niger Bend Haulage", "transporter", ["NBH Niamey"]),
    ("PRT-T04", "Hombori Roulage", "transporter", []),
    ("PRT-T05", "Coulibaly & Fils Logistique", "transporter", ["Coulibaly Logistique"]),
    ("PRT-T06", "Trans-Sahel Convoyage", "transporter", []),
    ("PRT-C01", "Association Tamasna Secours", "consignee", []),
    ("PRT-C02", "ONG Aïr Solidarité", "consignee", ["Air Solidarite Menaka"]),
    ("PRT-C03", "Fatoumata Maïga", "consignee", []),
    ("PRT-C04", "Boubacar Cissé", "consignee", []),
    ("PRT-C05", "Association Kisal Douentza", "consignee", []),
    ("PRT-C06", "Mariam Traoré", "consignee", []),
    ("PRT-C07", "ONG Faguibine Avenir", "consignee", []),
    ("PRT-C08", "Mbera Camp Management Unit", "consignee", ["MCMU"]),
    ("PRT-P01", "Croix Solidaire Mali", "cooperating_partner", []),
    ("PRT-V01", "Marché Central Fournitures", "vendor", []),
]
PARTNER_NAMES = {pid: name for pid, name, _, _ in PARTNERS}
ZONES = [  # (zone_id, name, status, controlled_by, polygons as [(lon, lat), ...] exterior rings)
    ("ZN-KID", "Kidal region", "armed_group", "MNLA / Ansar Dine",
     [[(-1.0, 17.3), (4.3, 17.3), (4.3, 21.0), (-1.0, 21.0)]]),
    ("ZN-GAO", "Gao region", "armed_group", "MUJAO", [[(-1.5, 14.9), (4.3, 14.9), (4.3, 17.3), (-1.0, 17.3)]]),
    ("ZN-TBT", "Tombouctou region", "armed_group", "Ansar Dine / AQIM",
     [[(-5.4, 15.5), (-1.5, 15.5), (-1.0, 17.3), (-1.0, 21.0), (-5.4, 21.0)]]),
    ("ZN-DTZ", "Douentza cercle", "contested", "", [[(-3.9, 14.6), (-1.5, 14.6), (-1.5, 15.5), (-3.9, 15.5)]]),
    ("ZN-SOUTH", "Southern Mali", "government", "Government of Mali",
     [[(-8.5, 12.0), (-2.0, 12.0), (-2.0, 14.7), (-8.5, 14.7)]]),
]
SEVERITY = {"armed_group": 3, "contested": 2, "government": 1}


def emit_reference(b: Builder, points: Sequence[Site] = POINTS) -> None:
    for s in [*WAREHOUSES, *points]:
        data: dict[str, Any] = {"site_id": s.site_id, "name": s.name, "kind": s.kind, "lat": s.lat, "lon": s.lon}
        if s.kind != "warehouse":
            data["caseload_households"] = s.caseload
        b.emit("site.registered", BASE, s.site_id, data)
    for pid, name, role, aliases in PARTNERS:
        data = {"partner_id": pid, "name": name, "role": role} | ({"aliases": aliases} if aliases else {})
        b.emit("partner.registered", BASE, pid, data)
    for zid, name, status, by, polygons in ZONES:
        b.emit("zone.declared", BASE, zid, _zone(zid, name, status, by, polygons, "2012-06-01T00:00:00Z"))
    # Douentza falls to MUJAO on 1 September: contested -> armed_group (no truth changes).
    zid, name, _, _, polygons = ZONES[3]
    b.emit("zone.declared", datetime(2012, 9, 1, tzinfo=UTC), zid,
           _zone(zid, name, "armed_group", "MUJAO", polygons, "2012-09-01T00:00:00Z"))


def _zone(zid: str, name: str, status: str, by: str, polygons: list[Any], valid_from: str) -> dict[str, Any]:
    rings = [[[list(p) for p in ring + ring[:1]]] for ring in polygons]
    geometry = {"type": "MultiPolygon", "coordinates": rings} if zid == "ZN-KID" else {
        "type": "Polygon", "coordinates": rings[0]}
    return {"zone_id": zid, "name": name, "status": status, "controlled_by": by,
            "geometry": geometry, "valid_from": valid_from}


def sanctions_xml() -> str:
    """`SANCTIONED` as a UN consolidated-list XML document."""
    root = ET.Element("CONSOLIDATED_LIST", dateGenerated="2012-06-28T00:00:00.000Z")
    groups = {"individual": ET.SubElement(root, "INDIVIDUALS"), "entity": ET.SubElement(root, "ENTITIES")}
    for n, listed in enumerate(SANCTIONED, 1):
        tag = listed.kind.upper()
        entry = ET.SubElement(groups[listed.kind], tag)
        fields = [("DATAID", str(9900000 + n)), ("VERSIONNUM", "1")]
        fields += list(zip(("FIRST_NAME", "SECOND_NAME", "THIRD_NAME"), listed.parts, strict=False))
        fields += [("UN_LIST_TYPE", "Al-Qaida"), ("REFERENCE_NUMBER", listed.reference), ("LISTED_ON", "2011-11-30")]
        for name, text in fields:
            ET.SubElement(entry, name).text = text
        for alias in listed.aliases:
            node = ET.SubElement(entry, f"{tag}_ALIAS")
            ET.SubElement(node, "QUALITY").text = "Good"
            ET.SubElement(node, "ALIAS_NAME").text = alias
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
