"""Black-box tests of the nine detectors at their thresholds, through the public Monitor API.

Thresholds are the contract's defaults (../shared/contract/EVENTS.md, "Typologies").
Scenarios use tests.support: a shipment along the equator from (0, 0) to (0, 2), where a
point `km / KM_PER_DEGREE` degrees north of the route is exactly `km` from it.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from agents.config import DetectorConfig, SanctionedPartyConfig
from agents.monitor import Monitor
from agents.names import ListedName
from schemas.alerts import Alert
from schemas.events import Event
from schemas.privacy import Pseudonymiser
from tests.support import (
    DESTINATION,
    ON_ROUTE,
    ORIGIN,
    PSEUDONYMISER,
    around,
    at,
    box,
    dispatch,
    distribution,
    emitted,
    evidence_ids,
    feedback,
    findings,
    incident,
    north,
    of,
    position,
    receipt,
    run,
    site,
    stop,
    tick,
    token,
    zone,
)


def expect(severity: str | None, kind: str = "shipment", subject: str = "SHP-1") -> list[tuple[str, str, str]]:
    """What `findings` returns for one alert of that severity, or for none."""
    return [] if severity is None else [(kind, subject, severity)]


# --- transit_loss ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received_kg", "severity"),
    [
        pytest.param(1000, None, id="0%"),
        pytest.param(981, None, id="1.9%"),
        pytest.param(980, None, id="2.0%-not-strictly-greater"),
        pytest.param(979, "medium", id="2.1%"),
        pytest.param(901, "medium", id="9.9%"),
        pytest.param(900, "medium", id="10.0%-still-medium"),
        pytest.param(899, "high", id="10.1%"),
        pytest.param(1, "high", id="99.9%"),
    ],
)
def test_transit_loss_ratio_thresholds(received_kg: float, severity: str | None) -> None:
    """A commodity losing strictly more than 2 % in transit is medium, strictly more than 10 % high."""
    alerts = run([
        dispatch(items=[("maize", "kg", 1000)]),
        receipt(items=[("maize", "kg", received_kg)], time=at(hours=20)),
    ])
    assert findings(alerts, "transit_loss") == expect(severity)


def test_transit_loss_commodity_missing_from_receipt_counts_as_zero_received() -> None:
    """A dispatched commodity absent from the receipt counts as entirely lost (high)."""
    alerts = run([
        dispatch(items=[("maize", "kg", 1000), ("oil", "l", 100)]),
        receipt(items=[("maize", "kg", 1000)], time=at(hours=20)),
    ])
    assert findings(alerts, "transit_loss") == expect("high")
    assert "oil" in of(alerts, "transit_loss")[0].summary


@pytest.mark.parametrize(
    ("dispatched", "received", "severity"),
    [
        pytest.param(("maize", "mt", 2), ("maize", "kg", 1960), None, id="2mt-vs-1960kg-2.0%"),
        pytest.param(("maize", "mt", 2), ("maize", "kg", 1958), "medium", id="2mt-vs-1958kg-2.1%"),
        pytest.param(("maize", "kg", 50000), ("maize", "mt", 49), None, id="50000kg-vs-49mt-2.0%"),
        pytest.param(("maize", "kg", 50000), ("maize", "mt", 48.9), "medium", id="50000kg-vs-48.9mt-2.2%"),
        pytest.param(("maize", "kg", 1000), ("maize", "mt", 1), None, id="1000kg-vs-1mt-no-loss"),
        pytest.param(("maize", "mt", 1), ("maize", "kg", 1000), None, id="1mt-vs-1000kg-no-loss"),
        pytest.param(("maize", "mt", 1), ("maize", "kg", 850), "high", id="1mt-vs-850kg-15%"),
        pytest.param(("oil", "l", 1000), ("oil", "kg", 980), None, id="oil-l-counts-as-kg-2.0%"),
        pytest.param(("oil", "l", 1000), ("oil", "kg", 979), "medium", id="oil-l-counts-as-kg-2.1%"),
    ],
)
def test_transit_loss_compares_kilograms_across_units(
    dispatched: tuple[str, str, float], received: tuple[str, str, float], severity: str | None
) -> None:
    """Quantities are compared in kilograms: `mt` is 1000 kg and `l` counts as kg."""
    alerts = run([dispatch(items=[dispatched]), receipt(items=[received], time=at(hours=20))])
    assert findings(alerts, "transit_loss") == expect(severity)


@pytest.mark.parametrize(
    ("quantity", "damaged", "severity"),
    [
        pytest.param(1000, 0, None, id="all-arrived"),
        pytest.param(1000, 500, None, id="half-damaged"),
        pytest.param(1000, 1000, None, id="all-damaged"),
        pytest.param(979, 979, "medium", id="short-and-damaged"),
    ],
)
def test_transit_loss_counts_damaged_as_received(quantity: float, damaged: float, severity: str | None) -> None:
    """The receipt's `quantity` is what arrived, damaged included: damage is not a transit loss."""
    alerts = run([
        dispatch(items=[("maize", "kg", 1000)]),
        receipt(items=[("maize", "kg", quantity, damaged)], time=at(hours=20)),
    ])
    assert findings(alerts, "transit_loss") == expect(severity)


def test_transit_loss_is_the_same_when_the_receipt_arrives_before_the_dispatch() -> None:
    """A receipt arriving before its dispatch gives the same alert, id and content, as in order."""
    sent = dispatch(items=[("maize", "kg", 1000), ("beans", "kg", 200)])
    got = receipt(items=[("maize", "kg", 950), ("beans", "kg", 150)], time=at(hours=20))
    in_order = of(run([sent, got]), "transit_loss")
    reversed_order = of(run([got, sent]), "transit_loss")
    assert [(a.subject.id, a.severity) for a in in_order] == [("SHP-1", "high")]
    assert [a.model_dump() for a in reversed_order] == [a.model_dump() for a in in_order]
    assert evidence_ids(in_order[0]) == {sent.id, got.id}


def test_transit_loss_without_receipt_is_not_judged() -> None:
    """A shipment with no receipt yet has no transit loss (only, later, an overdue alert)."""
    assert findings(run([dispatch(), tick(at(hours=5))]), "transit_loss") == []


# --- route_deviation -------------------------------------------------------------------


def off_route(lon: float, km: float) -> tuple[float, float]:
    """A point `km` north of the route at longitude `lon`."""
    return north((0.0, lon), km)


@pytest.mark.parametrize(
    ("km", "severity"),
    [
        pytest.param(4.9, None, id="4.9km"),
        pytest.param(5.0, None, id="5.0km-not-farther"),
        pytest.param(5.1, "medium", id="5.1km"),
        pytest.param(50.0, "medium", id="50km"),
    ],
)
def test_route_deviation_corridor(km: float, severity: str | None) -> None:
    """Two consecutive positions strictly farther than 5 km from the planned route raise a medium alert."""
    alerts = run([
        dispatch(),
        position(point=(0.0, 0.2), time=at(minutes=10)),
        position(point=off_route(0.4, km), time=at(minutes=20)),
        position(point=off_route(0.6, km), time=at(minutes=30)),
        position(point=(0.0, 0.8), time=at(minutes=40)),
    ])
    assert findings(alerts, "route_deviation") == expect(severity)


def test_route_deviation_distance_is_to_the_polyline_not_to_its_vertices() -> None:
    """A position 3 km beside the middle of a segment is on route, though far from every vertex."""
    alerts = run([
        dispatch(route=[[0.0, 0.0], [2.0, 0.0]]),
        position(point=off_route(0.9, 3.0), time=at(minutes=10)),
        position(point=off_route(1.1, 3.0), time=at(minutes=20)),
    ])
    assert findings(alerts, "route_deviation") == []


@pytest.mark.parametrize(
    "where",
    [
        pytest.param("middle", id="between-on-route"),
        pytest.param("first", id="first-position"),
        pytest.param("last", id="last-position"),
    ],
)
def test_route_deviation_single_off_route_position_is_not_enough(where: str) -> None:
    """One off-route position alone, wherever it falls in the track, raises nothing."""
    lons = {"first": 0.2, "middle": 0.4, "last": 0.6}
    events = [dispatch()]
    for minute, lon in ((10, 0.2), (20, 0.4), (30, 0.6)):
        point = off_route(lon, 20.0) if lon == lons[where] else (0.0, lon)
        events.append(position(point=point, time=at(minutes=minute)))
    assert findings(run(events), "route_deviation") == []


def test_route_deviation_two_consecutive_positions_raise_with_them_as_evidence() -> None:
    """Two consecutive off-route positions raise one medium alert whose evidence is those positions."""
    first = position(point=off_route(0.4, 8.0), time=at(minutes=20))
    second = position(point=off_route(0.6, 8.0), time=at(minutes=30))
    alerts = run([
        dispatch(),
        position(point=(0.0, 0.2), time=at(minutes=10)),
        first,
        second,
        position(point=(0.0, 0.8), time=at(minutes=40)),
    ])
    assert findings(alerts, "route_deviation") == expect("medium")
    assert {first.id, second.id} <= evidence_ids(of(alerts, "route_deviation")[0])


@pytest.mark.parametrize("arrival", ["in-order", "on-route-first", "on-route-last"])
def test_route_deviation_on_route_position_between_breaks_the_run(arrival: str) -> None:
    """An on-route position between two off-route ones in event time breaks the run, whatever its arrival."""
    off1 = position(point=off_route(0.4, 8.0), time=at(minutes=10))
    on = position(point=(0.0, 0.5), time=at(minutes=20))
    off2 = position(point=off_route(0.6, 8.0), time=at(minutes=30))
    order = {
        "in-order": [off1, on, off2],
        "on-route-first": [on, off1, off2],
        "on-route-last": [off1, off2, on],  # within reorder_minutes of the clock
    }[arrival]
    assert findings(run([dispatch(), *order]), "route_deviation") == []


@pytest.mark.parametrize("arrival", ["in-order", "reversed", "interleaved"])
def test_route_deviation_consecutive_means_consecutive_in_event_time(arrival: str) -> None:
    """Off-route positions adjacent in event time form a run even when they arrive apart."""
    on = position(point=(0.0, 0.2), time=at(minutes=0))
    off1 = position(point=off_route(0.4, 8.0), time=at(minutes=10))
    off2 = position(point=off_route(0.6, 8.0), time=at(minutes=20))
    order = {
        "in-order": [on, off1, off2],
        "reversed": [off2, off1, on],
        "interleaved": [off2, on, off1],
    }[arrival]
    assert findings(run([dispatch(), *order]), "route_deviation") == expect("medium")


def test_route_deviation_positions_arriving_before_the_dispatch_wait_for_it() -> None:
    """Positions received before their dispatch are judged once the dispatch (the route) arrives."""
    events = [
        position(point=off_route(0.4, 8.0), time=at(minutes=10)),
        position(point=off_route(0.6, 8.0), time=at(minutes=20)),
        dispatch(),
    ]
    assert findings(run(events), "route_deviation") == expect("medium")


@pytest.mark.parametrize(
    ("status", "cover", "severity"),
    [
        pytest.param("armed_group", "both", "high", id="armed-both"),
        pytest.param("armed_group", "first", "high", id="armed-one-of-them"),
        pytest.param("armed_group", "elsewhere", "medium", id="armed-elsewhere"),
        pytest.param("contested", "both", "medium", id="contested"),
        pytest.param("government", "both", "medium", id="government"),
    ],
)
def test_route_deviation_severity_by_zone(status: str, cover: str, severity: str) -> None:
    """The deviation is high if any off-route position of the run lies in an armed_group zone, else medium."""
    p1, p2 = off_route(0.4, 8.0), off_route(0.6, 8.0)
    geometry = {
        "both": box(0.3, 0.0, 0.7, 0.2),
        "first": around(p1, 0.05),
        "elsewhere": around((0.5, 1.8), 0.1),
    }[cover]
    alerts = run([
        zone("Z-1", status=status, geometry=geometry),
        dispatch(),
        position(point=p1, time=at(minutes=20)),
        position(point=p2, time=at(minutes=30)),
    ])
    assert findings(alerts, "route_deviation") == expect(severity)


def test_route_deviation_is_judged_before_flush_once_the_clock_is_reorder_minutes_past() -> None:
    """Without flush, a run is reported once the clock passes it by reorder_minutes (and not before)."""
    events = [
        dispatch(),
        position(point=off_route(0.4, 8.0), time=at(minutes=10)),
        position(point=off_route(0.6, 8.0), time=at(minutes=20)),
    ]
    assert findings(run([*events, tick(at(minutes=50))], flush=False), "route_deviation") == []
    assert findings(run([*events, tick(at(minutes=90))], flush=False), "route_deviation") == expect("medium")


def test_route_deviation_at_flush_with_positions_off_the_whole_minute() -> None:
    """flush() judges a run ending at the clock even when its GPS fixes (15 s apart) are not on whole minutes."""
    alerts = run([
        dispatch(),
        position(point=off_route(0.4, 8.0), time=at(minutes=10, seconds=15)),
        position(point=off_route(0.41, 8.0), time=at(minutes=10, seconds=30)),
    ])
    assert findings(alerts, "route_deviation") == expect("medium")


# --- unscheduled_stop ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "zone_status"),
    [
        pytest.param(ORIGIN, None, id="at-origin"),
        pytest.param(DESTINATION, None, id="at-destination"),
        pytest.param(ON_ROUTE, None, id="en-route-no-zone"),
        pytest.param(ON_ROUTE, "government", id="government-zone"),
        pytest.param(ON_ROUTE, "armed_group", id="armed-zone"),
    ],
)
def test_unscheduled_stop_payment_demanded_anywhere_is_high(
    where: tuple[float, float], zone_status: str | None
) -> None:
    """A stop where payment was demanded is high wherever it is and however short."""
    events = [dispatch(), stop(point=where, started_at=at(hours=1), minutes=5, payment_demanded=True)]
    if zone_status:
        events.insert(0, zone(status=zone_status))
    assert findings(run(events), "unscheduled_stop") == expect("high")


@pytest.mark.parametrize(
    ("minutes", "severity"),
    [
        pytest.param(44, None, id="44min"),
        pytest.param(44.99, None, id="44min59s"),
        pytest.param(45, "medium", id="45min-inclusive"),
        pytest.param(46, "medium", id="46min"),
    ],
)
def test_unscheduled_stop_duration_in_armed_zone(minutes: float, severity: str | None) -> None:
    """A stop of 45 minutes or more in an armed_group zone far from both ends is medium."""
    long_stop = stop(point=ON_ROUTE, started_at=at(hours=1), minutes=minutes)
    alerts = run([zone(status="armed_group"), dispatch(), long_stop])
    assert findings(alerts, "unscheduled_stop") == expect(severity)


@pytest.mark.parametrize(
    ("end", "km", "severity"),
    [
        pytest.param(ORIGIN, 0.0, None, id="origin-0km"),
        pytest.param(ORIGIN, 1.9, None, id="origin-1.9km"),
        pytest.param(ORIGIN, 2.0, None, id="origin-2.0km-not-farther"),
        pytest.param(ORIGIN, 2.1, "medium", id="origin-2.1km"),
        pytest.param(DESTINATION, 1.9, None, id="destination-1.9km"),
        pytest.param(DESTINATION, 2.0, None, id="destination-2.0km-not-farther"),
        pytest.param(DESTINATION, 2.1, "medium", id="destination-2.1km"),
    ],
)
def test_unscheduled_stop_near_origin_or_destination(end: tuple[float, float], km: float, severity: str | None) -> None:
    """A long stop in an armed zone counts only when strictly farther than 2 km from both origin and destination."""
    long_stop = stop(point=north(end, km), started_at=at(hours=1), minutes=90)
    alerts = run([zone(status="armed_group"), dispatch(), long_stop])
    assert findings(alerts, "unscheduled_stop") == expect(severity)


@pytest.mark.parametrize(
    ("statuses", "severity"),
    [
        pytest.param((), None, id="no-zone"),
        pytest.param(("government",), None, id="government"),
        pytest.param(("contested",), "medium", id="contested"),
        pytest.param(("armed_group",), "medium", id="armed-group"),
        pytest.param(("government", "armed_group"), "medium", id="government-overlapping-armed"),
        pytest.param(("government", "contested"), "medium", id="government-overlapping-contested"),
    ],
)
def test_unscheduled_stop_long_stop_by_zone_status(statuses: tuple[str, ...], severity: str | None) -> None:
    """A long stop counts only in an armed_group or contested zone (the most severe overlapping status applies)."""
    zones = [zone(f"Z-{i}", status=status) for i, status in enumerate(statuses)]
    alerts = run([*zones, dispatch(), stop(point=ON_ROUTE, started_at=at(hours=1), minutes=90)])
    assert findings(alerts, "unscheduled_stop") == expect(severity)


def test_unscheduled_stop_long_stop_outside_the_zone_polygon() -> None:
    """A long stop just outside an armed_group zone's polygon raises nothing."""
    geometry = box(0.5, 0.05, 1.5, 1.0)  # north of the route
    alerts = run([zone(status="armed_group", geometry=geometry), dispatch(),
                  stop(point=ON_ROUTE, started_at=at(hours=1), minutes=90)])
    assert findings(alerts, "unscheduled_stop") == []


def test_unscheduled_stop_in_a_hole_of_the_zone() -> None:
    """A long stop inside a hole of an armed_group polygon is outside the zone."""
    outer = [[-1.0, -1.0], [3.0, -1.0], [3.0, 1.0], [-1.0, 1.0], [-1.0, -1.0]]
    hole = [[0.9, -0.1], [0.9, 0.1], [1.1, 0.1], [1.1, -0.1], [0.9, -0.1]]
    geometry = {"type": "Polygon", "coordinates": [outer, hole]}
    events = [zone(status="armed_group", geometry=geometry), dispatch()]
    inside_hole = stop(point=ON_ROUTE, started_at=at(hours=1), minutes=90)
    outside_hole = stop(point=(0.0, 1.5), started_at=at(hours=3), minutes=90)
    assert findings(run([*events, inside_hole]), "unscheduled_stop") == []
    assert findings(run([*events, outside_hole]), "unscheduled_stop") == expect("medium")


def test_unscheduled_stop_arriving_before_its_dispatch_waits_for_it() -> None:
    """A long stop received before its dispatch is judged once the dispatch gives origin and destination."""
    events = [zone(status="armed_group"), stop(point=ON_ROUTE, started_at=at(hours=1), minutes=90), dispatch()]
    assert findings(run(events), "unscheduled_stop") == expect("medium")


@pytest.mark.parametrize(
    ("stop_hour", "severity"),
    [pytest.param(1, "medium", id="before-redeclaration"), pytest.param(5, None, id="after-redeclaration")],
)
def test_unscheduled_stop_zone_status_at_the_time_of_the_stop(stop_hour: int, severity: str | None) -> None:
    """A zone re-declared government from a `valid_from` applies from then on only."""
    events = [
        zone("Z-1", status="armed_group"),
        zone("Z-1", status="government", valid_from=at(hours=3)),
        dispatch(),
        stop(point=ON_ROUTE, started_at=at(hours=stop_hour), minutes=90),
    ]
    assert findings(run(events), "unscheduled_stop") == expect(severity)


def test_unscheduled_stop_payment_makes_the_whole_finding_high() -> None:
    """A long stop in a contested zone and a payment stop on one shipment give one high alert."""
    alerts = run([
        zone(status="contested"),
        dispatch(),
        stop(point=ON_ROUTE, started_at=at(hours=1), minutes=60),
        stop(point=ORIGIN, started_at=at(hours=3), minutes=5, payment_demanded=True),
    ])
    assert findings(alerts, "unscheduled_stop") == expect("high")
    assert len(of(alerts, "unscheduled_stop")[0].evidence) == 2


# --- overdue_shipment ------------------------------------------------------------------

DEADLINE = at(days=2)  # dispatch at T0, expected_arrival T0 + 1 day, plus 24 h of grace


@pytest.mark.parametrize(
    ("clock", "severity"),
    [
        pytest.param(at(days=2, seconds=-1), None, id="1s-before"),
        pytest.param(DEADLINE, None, id="exactly-at-deadline"),
        pytest.param(at(days=2, seconds=1), "medium", id="1s-past"),
        pytest.param(at(days=2, seconds=59), "medium", id="59s-past"),
        pytest.param(at(days=2, minutes=1), "medium", id="1min-past"),
        pytest.param(at(days=2, hours=2), "medium", id="2h-past"),
    ],
)
def test_overdue_shipment_judged_on_the_clock(clock: datetime, severity: str | None) -> None:
    """With no receipt, a shipment is overdue once the clock is strictly past expected_arrival + 24 h."""
    alerts = run([dispatch(expected_arrival=at(days=1)), tick(clock)])
    assert findings(alerts, "overdue_shipment") == expect(severity)


@pytest.mark.parametrize(
    ("received", "severity"),
    [
        pytest.param(at(days=2, hours=-1), None, id="1h-early"),
        pytest.param(DEADLINE, None, id="exactly-at-deadline"),
        pytest.param(at(days=2, seconds=1), "medium", id="1s-late"),
        pytest.param(at(days=2, minutes=30), "medium", id="30min-late"),
    ],
)
def test_overdue_shipment_receipt_at_the_deadline(received: datetime, severity: str | None) -> None:
    """A receipt at expected_arrival + 24 h is in time; one second later it is overdue."""
    alerts = run([
        dispatch(expected_arrival=at(days=1)),
        receipt(time=received),
        tick(at(days=2, hours=3)),
    ])
    assert findings(alerts, "overdue_shipment") == expect(severity)


def test_overdue_shipment_no_alert_while_the_clock_is_before_the_deadline() -> None:
    """Nothing is overdue, even after flush, while the clock has not passed the deadline."""
    events = [dispatch(expected_arrival=at(days=1)), tick(at(days=1, hours=23, minutes=59))]
    assert of(emitted(events), "overdue_shipment") == []


def test_overdue_shipment_waits_reorder_minutes_without_flush() -> None:
    """Without flush, the deadline is judged only once the clock is reorder_minutes past it."""
    monitor = Monitor()
    out = emitted([dispatch(expected_arrival=at(days=1)), tick(at(days=2, minutes=30))], monitor=monitor, flush=False)
    assert of(out, "overdue_shipment") == []
    out = emitted([tick(at(days=2, hours=1, minutes=2))], monitor=monitor, flush=False)
    assert findings(out, "overdue_shipment") == expect("medium")


def test_overdue_shipment_late_arriving_receipt_in_time_cancels() -> None:
    """A receipt dated before the deadline that arrives after the clock passed it (within reorder_minutes) counts."""
    alerts = run([
        dispatch(expected_arrival=at(days=1)),
        tick(at(days=2, minutes=30)),
        receipt(time=at(days=1, hours=20)),
    ])
    assert findings(alerts, "overdue_shipment") == []


def test_overdue_shipment_receipt_before_dispatch_in_arrival_order() -> None:
    """A receipt arriving before its dispatch still counts for the deadline."""
    alerts = run([
        receipt(time=at(days=1, hours=20)),
        dispatch(expected_arrival=at(days=1)),
        tick(at(days=3)),
    ])
    assert findings(alerts, "overdue_shipment") == []


# --- incident_nearby -------------------------------------------------------------------

POSITION_TIME = at(hours=2)


def exposure(incident_event: Event, *, incident_first: bool = False) -> list[Event]:
    """Dispatch at T0, one position at ON_ROUTE at T0 + 2 h, receipt at T0 + 20 h, and the incident."""
    fix = position(point=ON_ROUTE, time=POSITION_TIME)
    middle = [incident_event, fix] if incident_first else [fix, incident_event]
    return [dispatch(), *middle, receipt(time=at(hours=20))]


@pytest.mark.parametrize("incident_first", [False, True], ids=["position-first", "incident-first"])
@pytest.mark.parametrize(
    ("km", "severity"),
    [
        pytest.param(0.0, "high", id="0km"),
        pytest.param(9.9, "high", id="9.9km"),
        pytest.param(10.0, "high", id="10.0km-inclusive"),
        pytest.param(10.1, None, id="10.1km"),
        pytest.param(30.0, None, id="30km"),
    ],
)
def test_incident_nearby_distance(km: float, severity: str | None, incident_first: bool) -> None:
    """A looting within 10 km (inclusive) of a position in transit, at the same time, is high."""
    event = incident(point=north(ON_ROUTE, km), time=POSITION_TIME)
    alerts = run(exposure(event, incident_first=incident_first))
    assert findings(alerts, "incident_nearby") == expect(severity)


@pytest.mark.parametrize("sign", [1, -1], ids=["after", "before"])
@pytest.mark.parametrize(
    ("hours", "severity"),
    [
        pytest.param(5.9, "high", id="5.9h"),
        pytest.param(6.0, "high", id="6.0h-inclusive"),
        pytest.param(6.1, None, id="6.1h"),
    ],
)
def test_incident_nearby_time_window(hours: float, severity: str | None, sign: int) -> None:
    """A looting at a position's place within 6 h (inclusive) before or after it is high."""
    event = incident(point=ON_ROUTE, time=at(hours=2 + sign * hours))
    assert findings(run(exposure(event)), "incident_nearby") == expect(severity)


@pytest.mark.parametrize(
    ("kind", "severity"),
    [
        pytest.param("looting", "high"),
        pytest.param("attack", "high"),
        pytest.param("checkpoint_extortion", "high"),
        pytest.param("abduction", None),
        pytest.param("other", None),
    ],
)
def test_incident_nearby_kinds(kind: str, severity: str | None) -> None:
    """Only looting, attack and checkpoint_extortion count; abduction and other are ignored."""
    event = incident(point=ON_ROUTE, time=POSITION_TIME, kind=kind)
    assert findings(run(exposure(event)), "incident_nearby") == expect(severity)


@pytest.mark.parametrize(
    ("kind", "when", "severity"),
    [
        pytest.param("looting", at(hours=2), "high", id="looting-in-transit"),
        pytest.param("attack", at(days=5), "high", id="attack-days-after-receipt"),
        pytest.param("checkpoint_extortion", at(days=-3), "high", id="extortion-before-dispatch"),
        pytest.param("abduction", at(hours=2), None, id="abduction-ignored"),
        pytest.param("other", at(hours=2), None, id="other-ignored"),
    ],
)
def test_incident_nearby_naming_the_shipment_fires_regardless_of_distance(
    kind: str, when: datetime, severity: str | None
) -> None:
    """An incident of a counted kind naming the shipment is high, at any distance and time."""
    far = (5.0, 5.0)  # hundreds of km from every position
    event = incident(point=far, time=when, kind=kind, shipment_id="SHP-1")
    assert findings(run(exposure(event)), "incident_nearby") == expect(severity)


def test_incident_nearby_naming_an_unknown_shipment_waits_for_it() -> None:
    """An incident naming a shipment not yet dispatched raises once it is (or at once: either way, one alert)."""
    events = [incident(point=(5.0, 5.0), time=at(hours=-1), shipment_id="SHP-1"), dispatch(), tick(at(hours=3))]
    assert findings(run(events), "incident_nearby") == expect("high")


@pytest.mark.parametrize(
    ("position_time", "severity"),
    [
        pytest.param(at(hours=-1), None, id="before-dispatch"),
        pytest.param(at(hours=1), "high", id="in-transit"),
        pytest.param(at(hours=4), None, id="after-receipt"),
    ],
)
def test_incident_nearby_only_positions_in_transit_count(position_time: datetime, severity: str | None) -> None:
    """A position before the dispatch or after the receipt does not expose the shipment."""
    events = [
        dispatch(),
        receipt(time=at(hours=3)),
        position(point=ON_ROUTE, time=position_time),
        incident(point=ON_ROUTE, time=position_time),
    ]
    assert findings(run(events), "incident_nearby") == expect(severity)


@pytest.mark.parametrize("closer", ["after-receipt", "before-dispatch"])
def test_incident_nearby_a_closer_position_out_of_transit_does_not_hide_one_in_transit(closer: str) -> None:
    """A position in transit within 10 km and 6 h counts even if another, out-of-transit position is closer."""
    spot = (0.0, 1.0)
    closer_time = at(hours=4) if closer == "after-receipt" else at(hours=-1)
    events = [
        dispatch(),
        receipt(time=at(hours=3)),
        position(point=north(spot, 9.0), time=at(hours=1)),  # in transit, 9 km, 1 h from the incident
        position(point=spot, time=closer_time),  # 0 km, but not in transit
        incident(point=spot, time=at(hours=2)),
    ]
    assert findings(run(events), "incident_nearby") == expect("high")


def test_incident_nearby_other_shipment_unaffected() -> None:
    """An incident near one shipment's convoy does not alert another shipment far away."""
    events = [
        dispatch("SHP-1"),
        dispatch("SHP-2"),
        position("SHP-1", ON_ROUTE, time=POSITION_TIME),
        position("SHP-2", DESTINATION, time=POSITION_TIME),
        incident(point=ON_ROUTE, time=POSITION_TIME),
    ]
    assert findings(run(events), "incident_nearby") == expect("high", subject="SHP-1")


# --- sanctioned_party ------------------------------------------------------------------

SANCTIONS = [
    ListedName("QDi.901", "Hamadou Ag Khallini", "Hamadou Ag Khallini", "individual"),
    ListedName("QDi.901", "Hamadou Ag Khallini", "Abou Moustapha", "individual"),
    ListedName("QDi.902", "Sidi Kader", "Sidi Kader", "individual"),
]


@pytest.mark.parametrize(
    ("name", "severity"),
    [
        pytest.param("Hamadou Ag Khallini", "critical", id="exact"),
        pytest.param("HAMADOU AG KHALLINI", "critical", id="upper-case"),
        pytest.param("Hàmadou Ag Khallìni", "critical", id="accents"),
        pytest.param("Khallini Hamadou Ag", "critical", id="token-order"),
        pytest.param("Ag-Khallini, Hamadou.", "critical", id="punctuation"),
        pytest.param("  hamadou   ag  khallini ", "critical", id="spacing"),
        pytest.param("Abou Moustapha", "critical", id="alias"),
        pytest.param("Hamadou Ag Khalini", "critical", id="one-letter-typo"),
        pytest.param("Sidi Kadir", "critical", id="similarity-exactly-0.90"),
        pytest.param("Sidu Kadir", None, id="similarity-0.80"),
        pytest.param("Hamadou Traore", None, id="clearly-different"),
        pytest.param("Transports du Fleuve SARL", None, id="unrelated"),
    ],
)
def test_sanctioned_party_name_matching(name: str, severity: str | None) -> None:
    """A transporter name matching a listed name or alias at >= 0.90 similarity after normalising is critical."""
    alerts = run([dispatch(transporter=name)], sanctions=SANCTIONS)
    assert findings(alerts, "sanctioned_party") == expect(severity)


@pytest.mark.parametrize("role", ["transporter", "consignee", "receiver"])
def test_sanctioned_party_every_role_is_screened(role: str) -> None:
    """Transporter and consignee on the dispatch, and the receiver on the receipt, are all screened."""
    listed = "Abou Moustapha"
    events = [
        dispatch(
            transporter=listed if role == "transporter" else "Transports du Fleuve SARL",
            consignee=listed if role == "consignee" else "Cooperative Espoir",
        ),
        receipt(time=at(hours=20), receiver=listed if role == "receiver" else "Cooperative Espoir"),
    ]
    alerts = run(events, sanctions=SANCTIONS)
    assert findings(alerts, "sanctioned_party") == expect("critical")


@pytest.mark.parametrize("sanctions", [None, []], ids=["no-list", "empty-list"])
def test_sanctioned_party_without_a_list_raises_nothing(sanctions: list[ListedName] | None) -> None:
    """Without a sanctions list (or with an empty one) no name can match."""
    alerts = run([dispatch(transporter="Hamadou Ag Khallini")], sanctions=sanctions)
    assert findings(alerts, "sanctioned_party") == []


def test_sanctioned_party_threshold_is_configurable() -> None:
    """A stricter similarity threshold rejects a near match the default accepts."""
    config = DetectorConfig(sanctioned_party=SanctionedPartyConfig(similarity=0.95))
    alerts = run([dispatch(transporter="Sidi Kadir")], config=config, sanctions=SANCTIONS)
    assert findings(alerts, "sanctioned_party") == []


# --- over_distribution -----------------------------------------------------------------


def stock(kilograms: float = 100_000, *, time: datetime | None = None, unit: str = "kg", damaged: float = 0) -> Event:
    """A receipt of maize at DP-1 (by default an hour before T0)."""
    return receipt(
        "SHP-STOCK", items=[("maize", unit, kilograms, damaged)], site_id="DP-1",
        time=time if time is not None else at(hours=-1),
    )


def served(count: int, *, round_id: str = "R1", start: int = 0, kg_each: float = 10) -> list[Event]:
    """`count` distinct beneficiaries served at DP-1 in one round, a minute apart."""
    return [
        distribution("DP-1", token(start + i), round_id=round_id, items=[("maize", "kg", kg_each)],
                     time=at(minutes=start + i))
        for i in range(count)
    ]


@pytest.mark.parametrize(
    ("caseload", "count", "severity"),
    [
        pytest.param(10, 10, None, id="10-of-10"),
        pytest.param(10, 11, None, id="11-of-10-is-110%"),
        pytest.param(10, 12, "medium", id="12-of-10"),
        pytest.param(100, 110, None, id="110-of-100"),
        pytest.param(100, 111, "medium", id="111-of-100"),
        pytest.param(7, 7, None, id="7-of-7"),
        pytest.param(7, 8, "medium", id="8-of-7-is-114%"),
        pytest.param(0, 1, "medium", id="1-of-0"),
    ],
)
def test_over_distribution_caseload(caseload: int, count: int, severity: str | None) -> None:
    """Distinct beneficiaries in one round strictly above 110 % of the caseload is medium."""
    alerts = run([site("DP-1", caseload=caseload), stock(), *served(count)])
    assert findings(alerts, "over_distribution") == expect(severity, "site", "DP-1")


def test_over_distribution_caseload_counts_distinct_beneficiaries() -> None:
    """A beneficiary served twice in a round counts once towards the caseload."""
    repeat = distribution("DP-1", token(0), time=at(minutes=30))
    alerts = run([site("DP-1", caseload=10), stock(), *served(11), repeat])
    assert findings(alerts, "over_distribution") == []


def test_over_distribution_caseload_is_per_round() -> None:
    """Two rounds each within the caseload do not add up."""
    rounds = [*served(11, round_id="R1"), *served(11, round_id="R2", start=100)]
    alerts = run([site("DP-1", caseload=10), stock(), *rounds])
    assert findings(alerts, "over_distribution") == []


def test_over_distribution_site_registered_late() -> None:
    """Distributions recorded before their site is registered are judged once it is."""
    alerts = run([stock(), *served(12), site("DP-1", caseload=10, time=at(minutes=30))])
    assert findings(alerts, "over_distribution") == expect("medium", "site", "DP-1")


@pytest.mark.parametrize(
    ("received", "distributed", "severity"),
    [
        pytest.param(("kg", 1000), [1000], None, id="100%"),
        pytest.param(("kg", 1000), [1000, 20], None, id="102%"),
        pytest.param(("kg", 1000), [1000, 21], "medium", id="102.1%"),
        pytest.param(("kg", 1000), [1020.5], "medium", id="102.05%"),
        pytest.param(("mt", 1), [1020], None, id="1mt-vs-1020kg"),
        pytest.param(("mt", 1), [1021], "medium", id="1mt-vs-1021kg"),
    ],
)
def test_over_distribution_stock(received: tuple[str, float], distributed: list[float], severity: str | None) -> None:
    """Cumulative distribution of a commodity strictly above 102 % of what the site received is medium."""
    unit, quantity = received
    events = [stock(quantity, unit=unit)]
    events += [
        distribution("DP-1", token(i), items=[("maize", "kg", kilos)], time=at(minutes=i))
        for i, kilos in enumerate(distributed)
    ]
    assert findings(run(events), "over_distribution") == expect(severity, "site", "DP-1")


def test_over_distribution_damaged_counts_as_received() -> None:
    """Stock counts the receipt's quantity, damaged included."""
    events = [stock(1000, damaged=1000), distribution("DP-1", token(1), items=[("maize", "kg", 1000)], time=at())]
    assert findings(run(events), "over_distribution") == []


@pytest.mark.parametrize("with_site", [True, False], ids=["registered-site", "unknown-site"])
def test_over_distribution_without_any_receipt(with_site: bool) -> None:
    """Distributing what was never received exceeds the stock."""
    events = [site("DP-1")] if with_site else []
    events += [distribution("DP-1", token(1), items=[("maize", "kg", 1)], time=at())]
    assert findings(run(events), "over_distribution") == expect("medium", "site", "DP-1")


def test_over_distribution_at_flush_with_a_distribution_off_the_whole_minute() -> None:
    """flush() judges the stock at the clock even when the last distribution is not on a whole minute."""
    events = [distribution("DP-1", token(1), items=[("maize", "kg", 1)], time=at(seconds=30))]
    assert findings(run(events), "over_distribution") == expect("medium", "site", "DP-1")


def test_over_distribution_stock_is_per_commodity() -> None:
    """A receipt of maize does not cover a distribution of oil."""
    events = [stock(1000), distribution("DP-1", token(1), items=[("oil", "l", 5)], time=at())]
    assert findings(run(events), "over_distribution") == expect("medium", "site", "DP-1")


def test_over_distribution_receipts_at_another_site_do_not_count() -> None:
    """Only receipts at the distributing site count as its stock."""
    events = [
        receipt("SHP-X", items=[("maize", "kg", 1000)], site_id="DP-2", time=at(hours=-1)),
        distribution("DP-1", token(1), items=[("maize", "kg", 100)], time=at()),
    ]
    assert findings(run(events), "over_distribution") == expect("medium", "site", "DP-1")


@pytest.mark.parametrize(
    ("receipt_hour", "arrival", "severity"),
    [
        pytest.param(-1, "receipt-first", None, id="receipt-earlier"),
        pytest.param(-1, "distribution-first", None, id="receipt-earlier-arriving-late"),
        pytest.param(1, "receipt-first", "medium", id="receipt-later-arriving-first"),
        pytest.param(1, "distribution-first", "medium", id="receipt-later"),
    ],
)
def test_over_distribution_receipts_count_from_their_own_time(
    receipt_hour: int, arrival: str, severity: str | None
) -> None:
    """A receipt dated after a distribution does not cover it, whatever the arrival order."""
    got = stock(1000, time=at(hours=receipt_hour))
    handed = distribution("DP-1", token(1), items=[("maize", "kg", 500)], time=at())
    order = [got, handed] if arrival == "receipt-first" else [handed, got]
    assert findings(run(order), "over_distribution") == expect(severity, "site", "DP-1")


def test_over_distribution_high_when_both_hold() -> None:
    """Over the caseload and over the stock at one site is one high alert."""
    alerts = run([site("DP-1", caseload=10), stock(100), *served(12, kg_each=10)])
    assert findings(alerts, "over_distribution") == expect("high", "site", "DP-1")


# --- duplicate_collection --------------------------------------------------------------


def test_duplicate_collection_same_token_twice_in_one_round() -> None:
    """The same token served twice in one round is a medium alert on that beneficiary."""
    first = distribution("DP-1", token(7), round_id="R1", time=at())
    second = distribution("DP-1", token(7), round_id="R1", time=at(hours=1))
    alerts = run([first, second])
    assert findings(alerts, "duplicate_collection") == expect("medium", "beneficiary", token(7))
    assert evidence_ids(of(alerts, "duplicate_collection")[0]) == {first.id, second.id}


def test_duplicate_collection_two_rounds_is_not_a_duplicate() -> None:
    """Collecting once in each of two rounds is normal."""
    alerts = run([
        distribution("DP-1", token(7), round_id="R1", time=at()),
        distribution("DP-1", token(7), round_id="R2", time=at(days=30)),
    ])
    assert findings(alerts, "duplicate_collection") == []


def test_duplicate_collection_resent_event_is_not_a_second_collection() -> None:
    """The same event id received twice is one collection, not two."""
    once = distribution("DP-1", token(7), round_id="R1", time=at())
    assert findings(run([once, once]), "duplicate_collection") == []


def test_duplicate_collection_at_two_sites() -> None:
    """The same token served in one round at two different sites is a duplicate."""
    a = distribution("DP-1", token(7), round_id="R1", time=at())
    b = distribution("DP-2", token(7), round_id="R1", time=at(hours=2))
    alerts = run([a, b])
    assert findings(alerts, "duplicate_collection") == expect("medium", "beneficiary", token(7))
    assert evidence_ids(of(alerts, "duplicate_collection")[0]) == {a.id, b.id}


def test_duplicate_collection_different_tokens_same_round() -> None:
    """Two beneficiaries each served once in a round are not duplicates."""
    alerts = run([distribution("DP-1", token(1), time=at()), distribution("DP-1", token(2), time=at())])
    assert findings(alerts, "duplicate_collection") == []


def test_duplicate_collection_raw_identifier_is_reported_by_its_token_only() -> None:
    """A raw beneficiary id collected twice is reported under its token; the raw id appears nowhere."""
    raw = "ML-BEN-000042"
    alerts = run([distribution("DP-1", raw, time=at()), distribution("DP-2", raw, time=at(hours=1))])
    assert findings(alerts, "duplicate_collection") == expect("medium", "beneficiary", PSEUDONYMISER(raw))
    assert all(raw not in alert.model_dump_json() for alert in alerts.values())


# --- non_receipt_feedback --------------------------------------------------------------


def reports(count: int, *, every_hours: float = 12, site_id: str = "DP-1") -> list[Event]:
    """`count` not_received reports at a site, `every_hours` apart from T0."""
    return [feedback(site_id, time=at(hours=i * every_hours)) for i in range(count)]


@pytest.mark.parametrize(
    ("count", "severity"),
    [
        pytest.param(4, None, id="4"),
        pytest.param(5, "medium", id="5"),
        pytest.param(9, "medium", id="9"),
        pytest.param(10, "high", id="10"),
        pytest.param(12, "high", id="12"),
    ],
)
def test_non_receipt_feedback_counts(count: int, severity: str | None) -> None:
    """5 or more not_received reports at a site within 7 days are medium, 10 or more high."""
    assert findings(run(reports(count)), "non_receipt_feedback") == expect(severity, "site", "DP-1")


@pytest.mark.parametrize(
    ("last", "severity"),
    [
        pytest.param(at(days=6, hours=23), "medium", id="5-within-6d23h"),
        pytest.param(at(days=7), "medium", id="5-over-exactly-7d-not-more"),
        pytest.param(at(days=7, seconds=1), None, id="5-over-7d-plus-1s"),
        pytest.param(at(days=8), None, id="5-over-8d"),
    ],
)
def test_non_receipt_feedback_seven_day_window(last: datetime, severity: str | None) -> None:
    """Five reports count only when they fall within some 7 days."""
    events = [feedback("DP-1", time=at(days=d)) for d in (0, 2, 4, 6)]
    events.append(feedback("DP-1", time=last))
    assert findings(run(events), "non_receipt_feedback") == expect(severity, "site", "DP-1")


@pytest.mark.parametrize(
    ("categories", "severity"),
    [
        pytest.param(["not_received"] * 4 + ["partial"], None, id="partial-ignored"),
        pytest.param(["not_received"] * 4 + ["other"], None, id="other-ignored"),
        pytest.param(["partial"] * 10, None, id="only-partial"),
        pytest.param(["not_received"] * 3 + ["payment_demanded"] * 2, "medium", id="payment-demanded-counts"),
        pytest.param(["payment_demanded"] * 10, "high", id="payment-demanded-high"),
    ],
)
def test_non_receipt_feedback_categories(categories: list[str], severity: str | None) -> None:
    """Only not_received and payment_demanded reports count."""
    events = [feedback("DP-1", time=at(hours=i), category=c) for i, c in enumerate(categories)]
    assert findings(run(events), "non_receipt_feedback") == expect(severity, "site", "DP-1")


def test_non_receipt_feedback_is_per_site() -> None:
    """Reports at two sites do not add up."""
    events = reports(3, site_id="DP-1") + reports(2, site_id="DP-2")
    assert findings(run(events), "non_receipt_feedback") == []


# --- identity --------------------------------------------------------------------------


def test_identity_growing_evidence_keeps_one_alert_id() -> None:
    """Each further report updates the same alert (same alert_id) with more evidence."""
    out = emitted(reports(7))
    versions = of(out, "non_receipt_feedback")
    assert len({a.alert_id for a in versions}) == 1
    assert [len(a.evidence) for a in versions] == [5, 6, 7]


def test_identity_duplicate_collection_third_visit_updates_the_same_alert() -> None:
    """A third collection in the round updates the open duplicate_collection alert."""
    visits = [distribution("DP-1", token(7), time=at(hours=h)) for h in (0, 1, 2)]
    versions = of(emitted(visits), "duplicate_collection")
    assert len({a.alert_id for a in versions}) == 1
    assert evidence_ids(versions[-1]) == {v.id for v in visits}


def scenario() -> list[Event]:
    """One shipment and one site that together trip all nine typologies."""
    return [
        zone("Z-ARMED", status="armed_group"),
        site("DP-1", caseload=2),
        dispatch("SHP-1", items=[("maize", "kg", 1000)], transporter="Hamadou Ag Khallini",
                 expected_arrival=at(days=1)),
        position("SHP-1", north((0.0, 0.4), 8.0), time=at(minutes=20)),
        position("SHP-1", north((0.0, 0.6), 8.0), time=at(minutes=30)),
        stop("SHP-1", ON_ROUTE, started_at=at(hours=1), minutes=10, payment_demanded=True),
        incident("INC-1", (5.0, 5.0), time=at(hours=2), shipment_id="SHP-1"),
        receipt("SHP-1", items=[("maize", "kg", 900)], time=at(days=2, hours=3)),
        *[distribution("DP-1", token(i), time=at(days=2, hours=4, minutes=i)) for i in (1, 1, 2, 3)],
        *[feedback("DP-1", time=at(days=2, hours=5 + i)) for i in range(5)],
        distribution("DP-1", token(9), items=[("oil", "l", 5)], time=at(days=2, hours=12)),
    ]


ALL_NINE = {
    "transit_loss", "route_deviation", "unscheduled_stop", "overdue_shipment", "incident_nearby",
    "sanctioned_party", "over_distribution", "duplicate_collection", "non_receipt_feedback",
}


def test_identity_scenario_raises_all_nine_typologies_once_each() -> None:
    """The combined scenario raises exactly one alert per typology."""
    alerts = run(scenario(), sanctions=SANCTIONS)
    assert sorted(a.typology for a in alerts.values()) == sorted(ALL_NINE)


def test_identity_alert_ids_identical_across_runs() -> None:
    """Two runs over the same events give the same alerts, ids included; rebuilt events keep the ids."""
    events = scenario()
    first = run(events, sanctions=SANCTIONS)
    second = run(events, sanctions=SANCTIONS)
    assert len(first) == 9
    assert {k: v.model_dump() for k, v in first.items()} == {k: v.model_dump() for k, v in second.items()}
    rebuilt = run(scenario(), sanctions=SANCTIONS)  # new event ids
    assert {(a.typology, a.alert_id) for a in rebuilt.values()} == {(a.typology, a.alert_id) for a in first.values()}


def test_identity_alert_ids_differ_between_subjects() -> None:
    """Two shipments with the same finding get two distinct alert ids."""
    events = [
        dispatch("SHP-1"), dispatch("SHP-2"),
        receipt("SHP-1", items=[("maize", "kg", 500)], time=at(hours=5)),
        receipt("SHP-2", items=[("maize", "kg", 500)], time=at(hours=5)),
    ]
    alerts = of(run(events), "transit_loss")
    assert [a.subject.id for a in alerts] == ["SHP-1", "SHP-2"]
    assert alerts[0].alert_id != alerts[1].alert_id


def test_identity_duplicate_events_change_nothing() -> None:
    """Re-sending every event (same ids) yields nothing new and the same final alerts."""
    events = scenario()
    once = run(events, sanctions=SANCTIONS)
    monitor = Monitor(sanctions=SANCTIONS)
    twice: dict[str, Alert] = {}
    for event in events:
        for alert in monitor.process(event):
            twice[alert.alert_id] = alert
        assert monitor.process(event) == []
    for alert in monitor.flush():
        twice[alert.alert_id] = alert
    assert {k: v.model_dump() for k, v in twice.items()} == {k: v.model_dump() for k, v in once.items()}


def test_identity_same_id_with_different_body_is_still_a_duplicate() -> None:
    """An event re-sent under the same id, even with a different body, is ignored."""
    first = distribution("DP-1", token(7), round_id="R1", time=at())
    altered = distribution("DP-1", token(7), round_id="R1", time=at(hours=1), id=first.id)
    monitor = Monitor()
    monitor.process(first)
    assert monitor.process(altered) == []
    assert of(monitor.flush(), "duplicate_collection") == []


def test_identity_pseudonymiser_secret_changes_tokens_not_alert_structure() -> None:
    """Within a deployment the same raw id gives the same token, so two collections are linked."""
    other = Pseudonymiser(b"another-secret-0123456789")
    assert other("ML-BEN-1") != PSEUDONYMISER("ML-BEN-1")
    alerts = run([distribution("DP-1", "ML-BEN-1", time=at()), distribution("DP-1", "ML-BEN-1", time=at(hours=1))])
    assert findings(alerts, "duplicate_collection") == expect("medium", "beneficiary", PSEUDONYMISER("ML-BEN-1"))


def test_a_zone_declared_from_a_time_judges_again_only_the_convoys_active_since(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A declaration changes no zone before its `valid_from`: convoys whose stops all started
    before it are not judged again; one stopped after it is, and raises its finding."""
    from agents.movement import UnscheduledStopDetector

    judged: list[str] = []
    original = UnscheduledStopDetector.judge
    monkeypatch.setattr(UnscheduledStopDetector, "judge",
                        lambda self, key, record, ctx: judged.append(key) or original(self, key, record, ctx))
    events = [dispatch("SHP-1"), stop("SHP-1", started_at=at(hours=1), minutes=60),
              dispatch("SHP-2", time=at(days=3)), stop("SHP-2", started_at=at(days=3, hours=1), minutes=60)]
    monitor = Monitor()
    for event in events:
        monitor.process(event)
    judged.clear()
    alerts = monitor.process(zone(status="armed_group", valid_from=at(days=2), time=at(days=3, hours=2)))
    assert judged == ["SHP-2"]
    assert [(a.typology, a.subject.id) for a in alerts] == [("unscheduled_stop", "SHP-2")]


def test_a_site_registered_again_as_it_was_judges_nothing_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Agencies re-send their site lists: a registration equal to the one in force changes
    nothing and re-judges nothing; one with another caseload re-judges the site."""
    from agents.distribution import OverDistributionDetector

    changed: list[str] = []
    original = OverDistributionDetector.on_site_changed
    monkeypatch.setattr(OverDistributionDetector, "on_site_changed",
                        lambda self, key, state, ctx: changed.append(key) or original(self, key, state, ctx))
    monitor = Monitor()
    monitor.process(site("DP-1", caseload=100))
    monitor.process(site("DP-1", caseload=100, time=at(days=1)))
    assert changed == ["DP-1"]
    monitor.process(site("DP-1", caseload=120, time=at(days=2)))
    assert changed == ["DP-1", "DP-1"]
