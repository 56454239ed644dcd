// An alert's map, drawn as SVG by this module from the GeoJSON FeatureCollection of
// GET /alerts/{alert_id}/context: no tiles, no library, so it works offline.
//
// The projection is equirectangular, x scaled by cos(latitude) at the middle of the view,
// which keeps shapes true enough at the scale of a convoy's route. The view fits the route
// and the points; only a map with none of them shows its zones whole.

import { el, formatTime, svg, words } from "./dom.js";

const WIDTH = 800;
const HEIGHT = 500;
const MARGIN = 0.12; // of the fitted span, around the route and points
const MIN_SPAN_DEGREES = 0.2; // about 20 km: a single point still shows its surroundings
const KM_PER_DEGREE = 111.32;

export const ZONE_STATUSES = {
  armed_group: "Armed-group zone",
  contested: "Contested zone",
  government: "Government zone",
};

// The map of `collection` as a <figure>; a paragraph when it has nothing to draw.
export function drawMap(collection, alertId = collection?.alert_id ?? "") {
  const features = (collection?.features ?? []).filter((f) => f?.geometry && f?.properties?.role);
  if (features.length === 0) return el("p", { class: "no-map", text: "No map for this alert." });
  const byRole = (role) => features.filter((f) => f.properties.role === role);
  const project = projection(features);
  const map = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", class: "map",
    "aria-label": describe(features, alertId) });
  map.append(svg("rect", { class: "ground", x: 0, y: 0, width: WIDTH, height: HEIGHT }));
  for (const zone of byRole("zone")) map.append(drawZone(zone, project));
  for (const route of byRole("route")) map.append(drawRoute(route, project));
  const positions = byRole("position").sort((a, b) => String(a.properties.time).localeCompare(b.properties.time));
  if (positions.length > 1) {
    map.append(svg("path", { class: "track", d: line(positions.map((p) => project(p.geometry.coordinates))) },
      svg("title", { text: "The convoy's reported positions, in time order" })));
  }
  for (const position of positions) map.append(marker(position, project));
  for (const role of ["stop", "incident", "site", "origin", "destination"]) {
    for (const feature of byRole(role)) map.append(marker(feature, project));
  }
  map.append(scaleBar(project.pixelsPerKm));
  return el("figure", { class: "map-figure" }, map, legend(features), rounds(byRole("site")),
    el("figcaption", { text: collection.at ? `Zones in force at ${formatTime(collection.at)}.` : "" }));
}

// [lon, lat] -> [x, y] in the view box, fitted to the route and points (else the zones).
export function projection(features) {
  const focus = features.filter((f) => f.properties.role !== "zone");
  const points = (focus.length ? focus : features).flatMap((f) => positionsOf(f.geometry));
  let [west, east, south, north] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const [lon, lat] of points) {
    west = Math.min(west, lon); east = Math.max(east, lon);
    south = Math.min(south, lat); north = Math.max(north, lat);
  }
  const middle = (south + north) / 2;
  const cos = Math.max(Math.cos((middle * Math.PI) / 180), 0.01);
  const spanX = Math.max((east - west) * cos, MIN_SPAN_DEGREES) * (1 + 2 * MARGIN);
  const spanY = Math.max(north - south, MIN_SPAN_DEGREES) * (1 + 2 * MARGIN);
  const scale = Math.min(WIDTH / spanX, HEIGHT / spanY); // pixels per degree of latitude
  const centreX = ((west + east) / 2) * cos;
  const centreY = middle;
  const project = ([lon, lat]) => [WIDTH / 2 + (lon * cos - centreX) * scale, HEIGHT / 2 - (lat - centreY) * scale];
  project.pixelsPerKm = scale / KM_PER_DEGREE;
  return project;
}

function positionsOf(geometry) {
  const { type, coordinates } = geometry;
  if (type === "Point") return [coordinates];
  if (type === "LineString") return coordinates;
  if (type === "Polygon") return coordinates.flat();
  if (type === "MultiPolygon") return coordinates.flat(2);
  return [];
}

const round = (n) => Math.round(n * 10) / 10;

function line(points, close = false) {
  return points.map(([x, y], i) => `${i ? "L" : "M"}${round(x)},${round(y)}`).join("") + (close ? "Z" : "");
}

function drawZone(zone, project) {
  const { geometry, properties: p } = zone;
  const polygons = geometry.type === "MultiPolygon" ? geometry.coordinates : [geometry.coordinates];
  const d = polygons.flatMap((rings) => rings.map((ring) => line(ring.map(project), true))).join("");
  const status = ZONE_STATUSES[p.status] ? p.status : "unknown";
  const by = p.controlled_by ? `, held by ${p.controlled_by}` : "";
  return svg("path", { class: `zone zone-${status}`, d, "fill-rule": "evenodd", "data-zone-id": p.zone_id },
    svg("title", { text: `${p.name ?? p.zone_id}: ${words(p.status)}${by}` }));
}

function drawRoute(route, project) {
  return svg("path", { class: "route", d: line(route.geometry.coordinates.map(project)) },
    svg("title", { text: `Planned route${route.properties.shipment_id ? ` of ${route.properties.shipment_id}` : ""}` }));
}

// A point feature: a shape by role, its <title>, and a label for the named places.
function marker(feature, project) {
  const p = feature.properties;
  const [x, y] = project(feature.geometry.coordinates);
  const group = svg("g", { class: `marker ${p.role}`, transform: `translate(${round(x)},${round(y)})` },
    svg("title", { text: tooltip(p) }), shape(p.role));
  const label = { origin: `Origin ${p.site_id ?? ""}`, destination: `Destination ${p.site_id ?? ""}`,
    site: p.name ?? p.site_id }[p.role];
  if (label) {
    const left = x > WIDTH / 2; // in the right half, the label goes to the left of its place
    group.append(svg("text", { x: left ? -10 : 10, y: -8, "text-anchor": left ? "end" : "start", class: "label",
      text: label.trim() }));
  }
  return group;
}

function shape(role) {
  if (role === "position") return svg("circle", { r: 3.5 });
  if (role === "stop") return svg("rect", { x: -6, y: -6, width: 12, height: 12 });
  if (role === "incident") return svg("path", { d: "M0,-9L8,6L-8,6Z" });
  if (role === "site") return svg("path", { d: "M0,-8L8,0L0,8L-8,0Z" });
  return svg("circle", { r: 7 }); // origin, destination
}

function tooltip(p) {
  const at = p.time ? ` at ${formatTime(p.time)}` : "";
  switch (p.role) {
    case "position": return `Position${at}`;
    case "stop": return `Stop${at}${p.reason ? `: ${p.reason}` : ""}` +
      (p.payment_demanded ? "; payment demanded" : "") + (p.minutes ? `; ${p.minutes} min` : "");
    case "incident": return `Incident ${p.incident_id ?? ""}${p.kind ? ` (${words(p.kind)})` : ""}${at}`;
    case "site": return `${p.name ?? p.site_id} (${words(p.kind)}, ${p.site_id})` +
      (p.caseload_households != null ? `: caseload ${p.caseload_households} households` : "");
    default: return `${p.role === "origin" ? "Origin" : "Destination"}${p.site_id ? ` ${p.site_id}` : ""}`;
  }
}

function scaleBar(pixelsPerKm) {
  const wanted = 120 / pixelsPerKm;
  const step = 10 ** Math.floor(Math.log10(wanted));
  const km = [5, 2, 1].map((m) => m * step).find((k) => k <= wanted) ?? step;
  const width = km * pixelsPerKm;
  return svg("g", { class: "scale", transform: `translate(16,${HEIGHT - 18})` },
    svg("path", { d: `M0,-6V0H${round(width)}V-6` }),
    svg("text", { x: round(width) + 6, y: 0, text: `${km} km` }));
}

function describe(features, alertId) {
  const count = (role, one, many) => {
    const n = features.filter((f) => f.properties.role === role).length;
    return n === 0 ? null : n === 1 ? `1 ${one}` : `${n} ${many}`;
  };
  const named = features.filter((f) => ["origin", "destination"].includes(f.properties.role) && f.properties.site_id)
    .map((f) => `${f.properties.role} ${f.properties.site_id}`);
  const parts = [count("zone", "zone", "zones"), count("route", "planned route", "planned routes"),
    count("position", "position", "positions"), count("stop", "stop", "stops"),
    count("incident", "incident", "incidents"), count("site", "site", "sites"), ...named].filter(Boolean);
  return `Map of alert ${alertId}: ${parts.join(", ")}`;
}

function legend(features) {
  const roles = new Set(features.map((f) => f.properties.role));
  const zones = (status) => features.filter((f) => f.properties.role === "zone" && f.properties.status === status)
    .map((f) => f.properties.name ?? f.properties.zone_id).sort();
  const swatch = (...shapes) => svg("svg", { viewBox: "-10 -10 20 20", class: "swatch", "aria-hidden": "true" },
    ...shapes);
  const items = Object.entries(ZONE_STATUSES).map(([status, label]) => el("li", {},
    swatch(svg("rect", { x: -9, y: -9, width: 18, height: 18, class: `zone zone-${status}` })),
    zones(status).length ? `${label}: ${zones(status).join(", ")}` : label));
  const marks = [["route", "Planned route", svg("path", { class: "route", d: "M-9,0H9" })],
    ["position", "Reported position", svg("g", { class: "marker position" }, shape("position"))],
    ["stop", "Stop", svg("g", { class: "marker stop" }, shape("stop"))],
    ["incident", "Incident", svg("g", { class: "marker incident" }, shape("incident"))],
    ["site", "Site", svg("g", { class: "marker site" }, shape("site"))],
    ["origin", "Origin or destination", svg("g", { class: "marker origin" }, shape("origin"))]];
  for (const [role, label, drawing] of marks) {
    if (roles.has(role) || (role === "origin" && roles.has("destination"))) items.push(el("li", {}, swatch(drawing), label));
  }
  return el("ul", { class: "legend", "aria-label": "Legend" }, items);
}

// A site alert's rounds, as a table beside the map.
function rounds(sites) {
  return sites.filter((s) => Array.isArray(s.properties.rounds) && s.properties.rounds.length).map((site) => {
    const p = site.properties;
    return el("table", { class: "rounds" },
      el("caption", { text: `Rounds at ${p.name ?? p.site_id} (caseload ${p.caseload_households ?? "unknown"})` }),
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Round" }),
        el("th", { scope: "col", text: "Households served" }))),
      el("tbody", {}, p.rounds.map((r) => el("tr", {}, el("td", { text: r.round_id }),
        el("td", { text: r.households_served })))));
  });
}
