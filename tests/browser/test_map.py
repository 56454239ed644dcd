"""The console's map module (static/map.js) and its lists of the contract's words, run in the
browser on hand-made maps (tests/browser/fixtures.py): what is drawn for each role, the fit,
the legend, a site's rounds, an empty map."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.alerts import SEVERITIES, TYPOLOGIES
from schemas.lifecycle import STATUSES, TRANSITIONS
from tests.browser.console import Console, attribute
from tests.browser.fixtures import EMPTY_MAP, SHIPMENT_MAP, SITE_MAP

pytestmark = [pytest.mark.browser, pytest.mark.kafka]

DRAW = """const [collection, done] = arguments;
import('/console/map.js').then(({ drawMap }) => {
  const box = document.createElement('div');
  box.id = 'fixture-map';
  document.querySelector('main').replaceChildren(box);
  box.append(drawMap(collection));
  done(null);
}).catch(error => done(String(error)));"""


def draw(console: Console, collection: dict[str, Any]) -> None:
    """`collection` drawn by map.js into the console's page, alone."""
    error = console.driver.execute_async_script(DRAW, collection)
    assert error is None, error


def test_each_role_is_drawn_with_its_own_mark(console: Console) -> None:
    """Zones by status (a MultiPolygon with a hole as one even-odd path), the route, the positions'
    track and dots, a stop, an incident, and the origin and destination with their labels."""
    draw(console, SHIPMENT_MAP)
    svg = console.find("#fixture-map svg.map")
    assert attribute(svg, "role") == "img"
    label = attribute(svg, "aria-label")
    assert label == ("Map of alert fixture-shipment: 3 zones, 1 planned route, 4 positions, 1 stop, 1 incident, "
                     "origin WH-GAO, destination DP-MENAKA")
    zones = {attribute(z, "data-zone-id"): z for z in console.find_all("path.zone", svg)}
    assert set(zones) == {"ZN-KIDAL", "ZN-GAO", "ZN-SOUTH"}
    assert "zone-armed_group" in attribute(zones["ZN-KIDAL"], "class")
    assert "zone-contested" in attribute(zones["ZN-GAO"], "class")
    assert attribute(zones["ZN-GAO"], "d").count("Z") == 3  # two polygons, one with a hole
    assert attribute(zones["ZN-GAO"], "fill-rule") == "evenodd"
    assert len(console.find_all("path.route", svg)) == 1 and len(console.find_all("path.track", svg)) == 1
    assert len(console.find_all("g.marker.position circle", svg)) == 4
    assert len(console.find_all("g.marker.stop rect", svg)) == 1
    assert len(console.find_all("g.marker.incident path", svg)) == 1
    texts = [attribute(t, "textContent") for t in console.find_all("text.label", svg)]
    assert texts == ["Origin WH-GAO", "Destination DP-MENAKA"]
    titles = [attribute(t, "textContent") for t in console.find_all("title", svg)]
    assert "Kidal region: armed group, held by Ansar Dine" in titles
    assert "Stop at 2012-07-02 02:23 UTC: checkpoint; payment demanded; 95 min" in titles
    assert "Incident INC-7 (armed robbery) at 2012-07-01 18:00 UTC" in titles
    fills = {z: console.run("return getComputedStyle(arguments[0]).fill", zones[z]) for z in zones}
    assert len(set(fills.values())) == 3, fills


def test_the_view_fits_the_route_and_points_not_the_zones(console: Console) -> None:
    """Every point lies inside the view and together they span most of it, while the zones reach past it."""
    draw(console, SHIPMENT_MAP)
    boxes = console.run("""const svg = document.querySelector('#fixture-map svg.map');
        return {points: [...svg.querySelectorAll('g.marker')].map(g => g.transform.baseVal[0].matrix)
                  .map(m => [m.e, m.f, 0, 0]),
                zones: [...svg.querySelectorAll('path.zone')].map(z => z.getBBox())
                  .map(b => [b.x, b.y, b.width, b.height])}""")
    xs = [x + w / 2 for x, _, w, _ in boxes["points"]]
    ys = [y + h / 2 for _, y, _, h in boxes["points"]]
    assert all(0 <= x <= 800 for x in xs) and all(0 <= y <= 500 for y in ys), boxes["points"]
    assert max(xs) - min(xs) > 0.6 * 800 or max(ys) - min(ys) > 0.6 * 500
    assert any(x < 0 or y < 0 or x + w > 800 or y + h > 500 for x, y, w, h in boxes["zones"])


def test_the_legend_names_the_zones_and_the_marks(console: Console) -> None:
    """The legend lists each zone status with the zones of that status, and each kind of mark drawn."""
    draw(console, SHIPMENT_MAP)
    items = [li.text for li in console.find_all("#fixture-map .legend li")]
    assert items == ["Armed-group zone: Kidal region", "Contested zone: Gao region",
                     "Government zone: Southern regions", "Planned route", "Reported position", "Stop", "Incident",
                     "Origin or destination"]
    assert console.find("#fixture-map figcaption").text == "Zones in force at 2012-07-02 02:53 UTC."


def test_a_site_map_shows_the_site_and_its_rounds(console: Console) -> None:
    """A site alert's map labels the site and lists its rounds with the households served."""
    draw(console, SITE_MAP)
    svg = console.find("#fixture-map svg.map")
    assert [attribute(t, "textContent") for t in console.find_all("text.label", svg)] == [
        "Kidal distribution point"]
    table = console.find("#fixture-map table.rounds")
    assert "caseload 1200" in table.find_element("css selector", "caption").text
    rows = [[td.text for td in tr.find_elements("css selector", "td")]
            for tr in table.find_elements("css selector", "tbody tr")]
    assert rows == [["R-2012-06", "1180"], ["R-2012-07", "1530"]]


def test_an_empty_collection_shows_no_map(console: Console) -> None:
    """A collection without features draws nothing and says there is no map for this alert."""
    draw(console, EMPTY_MAP)
    assert console.find_all("#fixture-map svg") == []
    assert console.find("#fixture-map").text.lower().startswith("no map for this alert")


def test_the_consoles_words_are_the_contracts(console: Console) -> None:
    """The typologies, severities, statuses and lifecycle transitions the console offers are those of schemas/."""
    words = console.driver.execute_async_script("""const done = arguments[0];
        import('/console/vocabulary.js').then(v => done(JSON.parse(JSON.stringify(v))))""")
    assert words["TYPOLOGIES"] == list(TYPOLOGIES)
    assert words["SEVERITIES"] == list(SEVERITIES)
    assert words["STATUSES"] == list(STATUSES)
    assert {k: set(v) for k, v in words["TRANSITIONS"].items()} == {k: set(v) for k, v in TRANSITIONS.items()}
    assert set(words["ACTIONS"]) == set(STATUSES) - {"open"}
