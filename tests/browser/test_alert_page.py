"""An alert's page in a real browser against a real worker: its evidence, its map from
GET /alerts/{alert_id}/context, and its lifecycle changed through the page."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.browser.console import Console, attribute, png_size
from tests.integration.stack import Stack

pytestmark = [pytest.mark.browser, pytest.mark.kafka]

UPDATE_DOCS = os.environ.get("AIDMON_UPDATE_DOCS") == "1"


def route_alert(stack: Stack, index: int) -> dict[str, Any]:
    """The `index`-th route_deviation alert the API lists, with its history."""
    listed = stack.all_alerts(typology="route_deviation")
    assert len(listed) > index, "the shared sample should raise route_deviation alerts"
    one = stack.get(f"/alerts/{listed[index]['alert_id']}")
    assert one.status_code == 200
    alert: dict[str, Any] = one.json()
    return alert


def open_page(console: Console, stack: Stack, alert_id: str) -> None:
    console.signed_in(stack.tokens["monitor"])
    console.driver.get(f"{stack.url}/#/alerts/{alert_id}")
    console.wait(lambda: console.find("#alert-view").is_displayed() and console.find_all("#alert-view h1"),
                 "no alert page")
    console.wait(lambda: console.find_all("#alert-view .map, #alert-view .no-map"), "no map shown")


def test_an_alert_shows_its_evidence_as_a_timeline(console: Console, stack: Stack) -> None:
    """The page shows the alert's summary, severity, score and subject, and one timeline entry per
    evidence event, with its time, type and detail."""
    alert = route_alert(stack, 0)
    open_page(console, stack, alert["alert_id"])
    page = console.find("#alert-view").text
    assert alert["summary"] in page and alert["subject"]["id"] in page
    assert alert["severity"] in console.find("#alert-view .facts").text
    assert f"{alert['score']:.2f}" in console.find("#alert-view .facts").text
    timeline = sorted(alert["evidence"], key=lambda e: e["time"])
    entries = console.find_all("#alert-view .timeline li")
    assert [attribute(e, "data-event-id") for e in entries] == [e["event_id"] for e in timeline]
    for entry, evidence in zip(entries, timeline, strict=True):
        assert evidence["type"] in entry.text and evidence["detail"] in entry.text
        assert attribute(entry.find_element("css selector", "time"), "datetime") == evidence["time"]


def test_a_route_alert_has_a_map_of_zones_and_its_route(console: Console, stack: Stack) -> None:
    """The map is an SVG image with a label, zones filled by status, the planned route as a path and
    the convoy's positions, as GET /alerts/{alert_id}/context gives them."""
    alert = route_alert(stack, 0)
    context = stack.get(f"/alerts/{alert['alert_id']}/context")
    assert context.status_code == 200, "GET /alerts/{alert_id}/context is needed for the map"
    features = context.json()["features"]
    roles = [f["properties"]["role"] for f in features]
    open_page(console, stack, alert["alert_id"])
    svg = console.find("#alert-view svg.map")
    assert attribute(svg, "role") == "img" and attribute(svg, "aria-label").startswith("Map of alert")
    zones = console.find_all("path.zone", svg)
    assert len(zones) == roles.count("zone") > 0
    assert {attribute(z, "data-zone-id") for z in zones} == {
        f["properties"]["zone_id"] for f in features if f["properties"]["role"] == "zone"}
    assert len(console.find_all("path.route", svg)) == roles.count("route") == 1
    assert attribute(console.find_all("path.route", svg)[0], "d").count("L") >= 1
    assert len(console.find_all("g.marker.position", svg)) == roles.count("position") > 0
    assert console.find_all("title", svg), "no tooltips"
    console.run("arguments[0].scrollIntoView({block: 'center'})", svg)
    data = console.screenshot("alert-map.png", "alert-map.png", UPDATE_DOCS)
    assert png_size(data) == (1280, 800)


def test_acknowledge_then_confirm_with_a_note(console: Console, stack: Stack) -> None:
    """Acknowledge, then confirm: confirming needs a note (refused in the form without one), and
    each change shows in the page's status and history as the API records it."""
    alert = route_alert(stack, 1)
    assert alert["status"] == "open"
    open_page(console, stack, alert["alert_id"])
    actions = [attribute(b, "data-status") for b in console.find_all("#alert-view .status-form button")]
    assert actions == ["acknowledged", "confirmed", "dismissed", "resolved"]

    console.find('#alert-view button[data-status="acknowledged"]').click()
    console.wait(lambda: console.find("#current-status").text == "acknowledged", "not acknowledged")
    assert [attribute(b, "data-status") for b in console.find_all("#alert-view .status-form button")] == [
        "confirmed", "dismissed", "resolved"]

    console.find('#alert-view button[data-status="confirmed"]').click()
    console.wait(lambda: console.find("#status-message").text, "no message for a missing note")
    assert attribute(console.find("#status-note"), "aria-invalid") == "true"
    assert stack.get(f"/alerts/{alert['alert_id']}").json()["status"] == "acknowledged"

    console.find("#status-note").send_keys("driver confirmed a detour through MUJAO checkpoints")
    console.find('#alert-view button[data-status="confirmed"]').click()
    console.wait(lambda: console.find("#current-status").text == "confirmed", "not confirmed")
    history = stack.get(f"/alerts/{alert['alert_id']}").json()["history"]
    assert [(h["previous"], h["status"]) for h in history] == [("open", "acknowledged"),
                                                              ("acknowledged", "confirmed")]
    shown = console.find_all("#alert-view .history li")
    assert [attribute(li, "data-status") for li in shown] == ["acknowledged", "confirmed"]
    assert "driver confirmed a detour through MUJAO checkpoints" in shown[1].text
    assert "monitor (monitor)" in shown[0].text
    assert console.find_all("#alert-view .notice") == [], "the page's own change was shown as news"


def test_a_change_made_elsewhere_updates_the_open_page(console: Console, stack: Stack) -> None:
    """A status change made through the API while the alert's page is open shows there, marked
    updated, with the new status and history, and the note being typed is kept."""
    alert = route_alert(stack, 2)
    open_page(console, stack, alert["alert_id"])
    console.find("#status-note").send_keys("half-written")
    changed = stack.post(f"/alerts/{alert['alert_id']}/status", "admin", json={"status": "acknowledged"})
    assert changed.status_code == 200, changed.text
    console.wait(lambda: console.find("#current-status").text == "acknowledged", "the page did not update")
    assert "updated" in console.find("#alert-view .notice").text
    assert [attribute(li, "data-status") for li in console.find_all("#alert-view .history li")] == ["acknowledged"]
    assert "admin (admin)" in console.find("#alert-view .history li").text
    assert attribute(console.find("#status-note"), "value") == "half-written"
