"""Decoding raw events: the contract's bad-input cases and beneficiary pseudonymisation.

Contract (EVENTS.md, "Bad input"): a line that is not JSON, not a known `type`, or breaks
a rule (missing field, wrong type, coordinates out of range, quantity <= 0, `time`
without offset, `subject` not matching its field) is rejected with a reason.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from schemas.decode import REJECT_REASONS, decode_event
from schemas.events import DistributionRecorded, FeedbackReceived, ShipmentDispatched
from schemas.exceptions import InvalidEventError
from schemas.privacy import Pseudonymiser
from tests.support import PSEUDONYMISER

HEX_TOKEN = re.compile(r"^tok_[0-9a-f]{64}$")


def dispatch_raw() -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": "3f0c9a8e-0001",
        "source": "/agencies/wfp/mli",
        "type": "shipment.dispatched",
        "time": "2012-07-03T08:15:00Z",
        "subject": "SHP-000123",
        "datacontenttype": "application/json",
        "data": {
            "shipment_id": "SHP-000123",
            "waybill": "WB-77",
            "origin": {"site_id": "WH-1", "lat": 12.65, "lon": -8.0},
            "destination": {"site_id": "DP-1", "lat": 14.49, "lon": -4.19},
            "transporter": {"partner_id": "P-1", "name": "Transports du Fleuve SARL"},
            "consignee": {"partner_id": "P-2", "name": "Cooperative Espoir"},
            "items": [{"commodity": "maize", "unit": "mt", "quantity": 20}],
            "planned_route": [[-8.0, 12.65], [-6.0, 13.5], [-4.19, 14.49]],
            "expected_arrival": "2012-07-05T18:00:00+00:00",
        },
    }


def position_raw() -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": "pos-0001",
        "source": "/agencies/wfp/mli",
        "type": "convoy.position",
        "time": "2012-07-03T09:00:00+02:00",
        "subject": "SHP-000123",
        "data": {"shipment_id": "SHP-000123", "lat": 13.1, "lon": -7.2, "speed_kmh": 42.5},
    }


def distribution_raw(beneficiary: Any = "tok_AbCdEfGh0123456789_-") -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": "dist-0001",
        "source": "/agencies/wfp/mli",
        "type": "distribution.recorded",
        "time": "2012-07-10T10:00:00Z",
        "subject": "DP-1",
        "data": {
            "site_id": "DP-1",
            "round_id": "R1",
            "beneficiary": beneficiary,
            "household_size": 6,
            "items": [{"commodity": "maize", "unit": "kg", "quantity": 50}],
        },
    }


def feedback_raw(beneficiary: str) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": "fb-0001",
        "source": "/agencies/wfp/mli",
        "type": "feedback.received",
        "time": "2012-07-11T10:00:00Z",
        "subject": "DP-1",
        "data": {"site_id": "DP-1", "beneficiary": beneficiary, "category": "not_received"},
    }


def encode(raw: dict[str, Any]) -> bytes:
    return json.dumps(raw).encode("utf-8")


def decode(raw: dict[str, Any] | bytes | str) -> Any:
    return decode_event(encode(raw) if isinstance(raw, dict) else raw, PSEUDONYMISER)


def edited(base: Callable[[], dict[str, Any]], edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    raw = copy.deepcopy(base())
    edit(raw)
    return raw


def rejected(raw: dict[str, Any] | bytes | str) -> InvalidEventError:
    with pytest.raises(InvalidEventError) as caught:
        decode(raw)
    assert caught.value.reason in REJECT_REASONS
    return caught.value


# --- valid input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "make", [dispatch_raw, position_raw, distribution_raw], ids=["dispatch", "position", "distribution"]
)
def test_valid_events_decode(make: Callable[[], dict[str, Any]]) -> None:
    """The reference examples decode, as bytes and as text, to their type."""
    raw = make()
    event = decode(raw)
    assert event.type == raw["type"] and event.id == raw["id"] and event.subject == raw["subject"]
    assert decode(json.dumps(raw)).model_dump() == event.model_dump()


def test_extra_fields_are_tolerated() -> None:
    """Unknown fields in the envelope, the data and an item are tolerated (and change nothing)."""
    raw = dispatch_raw()
    raw["traceparent"] = "00-abc-def-01"
    raw["data"]["note"] = "convoy of 3 trucks"
    raw["data"]["items"][0]["batch"] = "B-9"
    raw["data"]["origin"]["name"] = "Bamako"
    event = decode(raw)
    assert isinstance(event, ShipmentDispatched)
    assert event.model_dump() == decode(dispatch_raw()).model_dump()


def test_optional_fields_may_be_omitted() -> None:
    """datacontenttype and speed_kmh are optional."""
    raw = position_raw()
    del raw["data"]["speed_kmh"]
    raw.pop("datacontenttype", None)
    assert decode(raw).data.speed_kmh is None


# --- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param(b"{not json", "not_json", id="broken-json"),
        pytest.param(b"", "not_json", id="empty"),
        pytest.param(b'{"specversion": "1.0", "id": "\xff\xfe"}', "not_json", id="invalid-utf8-in-string"),
        pytest.param(b"\xff\xfe\xfd", "not_json", id="invalid-utf8-bytes"),
        pytest.param(b"[]", "not_an_object", id="json-array"),
        pytest.param(json.dumps([dispatch_raw()]).encode(), "not_an_object", id="array-of-an-event"),
        pytest.param(b'"shipment.dispatched"', "not_an_object", id="json-string"),
        pytest.param(b"42", "not_an_object", id="json-number"),
        pytest.param(b"null", "not_an_object", id="json-null"),
    ],
)
def test_reject_not_json_or_not_an_object(raw: bytes, reason: str) -> None:
    """Input that is not JSON, or JSON that is not an object, is rejected with that reason."""
    assert rejected(raw).reason == reason


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        pytest.param(lambda r: r.update(type="shipment.teleported"), "unknown_type", id="unknown-type"),
        pytest.param(lambda r: r.update(type="Shipment.Dispatched"), "unknown_type", id="type-wrong-case"),
        pytest.param(lambda r: r.pop("type"), "missing_field", id="missing-type"),
        pytest.param(lambda r: r.pop("id"), "missing_field", id="missing-id"),
        pytest.param(lambda r: r.pop("time"), "missing_field", id="missing-time"),
        pytest.param(lambda r: r.pop("subject"), "missing_field", id="missing-subject"),
        pytest.param(lambda r: r.pop("source"), "missing_field", id="missing-source"),
        pytest.param(lambda r: r.pop("specversion"), "missing_field", id="missing-specversion"),
        pytest.param(lambda r: r.pop("data"), "missing_field", id="missing-data"),
        pytest.param(lambda r: r["data"].pop("waybill"), "missing_field", id="missing-waybill"),
        pytest.param(lambda r: r["data"]["items"][0].pop("quantity"), "missing_field", id="missing-item-quantity"),
        pytest.param(lambda r: r["data"]["origin"].pop("lat"), "missing_field", id="missing-origin-lat"),
        pytest.param(lambda r: r["data"].pop("expected_arrival"), "missing_field", id="missing-expected-arrival"),
        pytest.param(lambda r: r["data"]["items"][0].update(quantity=-5), "invalid_value", id="quantity-minus-5"),
        pytest.param(lambda r: r["data"]["items"][0].update(quantity=0), "invalid_value", id="quantity-0"),
        pytest.param(lambda r: r["data"]["items"][0].update(quantity="20"), "invalid_value", id="quantity-string"),
        pytest.param(lambda r: r["data"]["items"][0].update(unit="bags"), "invalid_value", id="unknown-unit"),
        pytest.param(lambda r: r["data"].update(items=[]), "invalid_value", id="no-items"),
        pytest.param(lambda r: r["data"].update(planned_route=[[-8.0, 12.65]]), "invalid_value", id="route-one-point"),
        pytest.param(lambda r: r["data"]["origin"].update(lat=91), "invalid_value", id="origin-lat-91"),
        pytest.param(lambda r: r["data"]["destination"].update(lon=-180.5), "invalid_value", id="destination-lon"),
        pytest.param(lambda r: r["data"]["planned_route"].append([200.0, 14.0]), "invalid_value", id="route-lon-200"),
        pytest.param(lambda r: r.update(time="2012-07-03T08:15:00"), "invalid_value", id="time-without-offset"),
        pytest.param(lambda r: r.update(time="yesterday"), "invalid_value", id="time-not-a-time"),
        pytest.param(
            lambda r: r["data"].update(expected_arrival="2012-07-05T18:00:00"), "invalid_value",
            id="expected-arrival-without-offset",
        ),
        pytest.param(lambda r: r.update(specversion="0.3"), "invalid_value", id="specversion-0.3"),
        pytest.param(lambda r: r.update(id=""), "invalid_value", id="empty-id"),
        pytest.param(lambda r: r.update(id="x" * 129), "invalid_value", id="id-129-chars"),
        pytest.param(lambda r: r.update(data=[]), "invalid_value", id="data-not-an-object"),
        pytest.param(lambda r: r.update(subject="SHP-000999"), "subject_mismatch", id="subject-mismatch"),
    ],
)
def test_reject_bad_dispatch(edit: Callable[[dict[str, Any]], None], reason: str) -> None:
    """A dispatch breaking one rule of the contract is rejected with the matching reason."""
    assert rejected(edited(dispatch_raw, edit)).reason == reason


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        pytest.param(lambda r: r["data"].update(lon="west"), "invalid_value", id="lon-west"),
        pytest.param(lambda r: r["data"].update(lat=123.4), "invalid_value", id="lat-123.4"),
        pytest.param(lambda r: r["data"].update(lat=-90.5), "invalid_value", id="lat-minus-90.5"),
        pytest.param(lambda r: r["data"].update(lon=180.5), "invalid_value", id="lon-180.5"),
        pytest.param(lambda r: r["data"].update(lat=None), "invalid_value", id="lat-null"),
        pytest.param(lambda r: r["data"].pop("lon"), "missing_field", id="missing-lon"),
        pytest.param(lambda r: r.update(time="2012-07-03 09:00"), "invalid_value", id="time-without-offset-spaced"),
        pytest.param(lambda r: r.update(subject="SHP-1"), "subject_mismatch", id="subject-mismatch"),
        pytest.param(lambda r: r["data"].update(shipment_id="SHP-2"), "subject_mismatch", id="data-mismatch"),
    ],
)
def test_reject_bad_position(edit: Callable[[dict[str, Any]], None], reason: str) -> None:
    """A position with a bad coordinate, time or subject is rejected with the matching reason."""
    assert rejected(edited(position_raw, edit)).reason == reason


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(90, 180), (-90, -180), (0, 0), (90.0, -180.0)],
)
def test_coordinate_bounds_are_inclusive(lat: float, lon: float) -> None:
    """lat in [-90, 90] and lon in [-180, 180] are valid, ends included."""
    raw = position_raw()
    raw["data"].update(lat=lat, lon=lon)
    event = decode(raw)
    assert (event.data.lat, event.data.lon) == (lat, lon)


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        pytest.param(lambda r: r["data"]["items"][0].update(quantity=0), "invalid_value", id="quantity-0"),
        pytest.param(lambda r: r["data"]["items"][0].update(quantity=-5), "invalid_value", id="quantity-minus-5"),
        pytest.param(lambda r: r["data"].update(household_size=0), "invalid_value", id="household-0"),
        pytest.param(lambda r: r["data"].pop("round_id"), "missing_field", id="missing-round"),
        pytest.param(lambda r: r["data"].pop("beneficiary"), "missing_field", id="missing-beneficiary"),
        pytest.param(lambda r: r.update(subject="DP-2"), "subject_mismatch", id="subject-mismatch"),
    ],
)
def test_reject_bad_distribution(edit: Callable[[dict[str, Any]], None], reason: str) -> None:
    """A distribution breaking a rule is rejected with the matching reason."""
    assert rejected(edited(distribution_raw, edit)).reason == reason


@pytest.mark.parametrize(
    ("event_type", "subject_field"),
    [
        ("site.registered", "site_id"),
        ("zone.declared", "zone_id"),
        ("partner.registered", "partner_id"),
        ("incident.reported", "incident_id"),
        ("feedback.received", "site_id"),
    ],
)
def test_subject_must_match_its_field_for_every_type(event_type: str, subject_field: str) -> None:
    """Each type's subject must equal its named field of data; the same event with it matching decodes."""
    bodies: dict[str, dict[str, Any]] = {
        "site.registered": {"site_id": "S-1", "name": "Gao", "kind": "camp", "lat": 16.27, "lon": -0.04,
                            "caseload_households": 300},
        "zone.declared": {"zone_id": "S-1", "name": "Z", "status": "contested", "controlled_by": "",
                          "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
                          "valid_from": "2012-07-01T00:00:00Z"},
        "partner.registered": {"partner_id": "S-1", "name": "Transports", "role": "transporter"},
        "incident.reported": {"incident_id": "S-1", "lat": 16.0, "lon": -1.0, "kind": "looting"},
        "feedback.received": {"site_id": "S-1", "category": "partial"},
    }
    data = bodies[event_type]
    raw = {"specversion": "1.0", "id": "e-1", "source": "/agencies/x", "type": event_type,
           "time": "2012-07-03T08:00:00Z", "subject": "S-1", "data": data}
    assert getattr(decode(raw).data, subject_field) == "S-1"
    raw["subject"] = "S-2"
    assert rejected(raw).reason == "subject_mismatch"


def test_rejection_detail_never_echoes_a_raw_beneficiary() -> None:
    """The reason's detail names the field without echoing the rejected value (it may be a raw identifier)."""
    raw_id = "Fatoumata Diallo 1984-03-02"
    bad = distribution_raw(raw_id)
    bad["data"]["household_size"] = 0
    error = rejected(bad)
    assert error.reason == "invalid_value"
    assert "Fatoumata" not in str(error) and "Fatoumata" not in error.detail
    wrong_type = rejected(distribution_raw(12345678987))
    assert wrong_type.reason == "invalid_value"
    assert "12345678987" not in str(wrong_type)


# --- pseudonymisation ------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw_id",
    [
        "ML-BEN-000123", "Fatoumata Diallo", "tok_short", "tok_" + "a" * 15,
        "tok_has spaces in it ok", "tok_ünïcödé-0123456789",
    ],
)
def test_raw_beneficiary_is_replaced_by_a_keyed_token(raw_id: str) -> None:
    """A beneficiary that is not a valid token becomes `tok_` + 64 hex, and the raw value appears nowhere."""
    event = decode(distribution_raw(raw_id))
    assert isinstance(event, DistributionRecorded)
    token = event.data.beneficiary
    assert HEX_TOKEN.match(token)
    assert token == PSEUDONYMISER(raw_id)
    assert raw_id not in event.model_dump_json()
    assert raw_id not in repr(event)
    assert raw_id not in str(event.model_dump())


def test_same_raw_identifier_gives_the_same_token_within_a_deployment() -> None:
    """The token is stable for one secret and differs under another."""
    first = decode(distribution_raw("ML-BEN-000123")).data.beneficiary
    second = decode(distribution_raw("ML-BEN-000123")).data.beneficiary
    other = decode(distribution_raw("ML-BEN-000124")).data.beneficiary
    elsewhere = decode_event(encode(distribution_raw("ML-BEN-000123")), Pseudonymiser(b"another-deployment-secret"))
    assert first == second != other
    assert isinstance(elsewhere, DistributionRecorded)
    assert elsewhere.data.beneficiary != first


@pytest.mark.parametrize(
    "valid_token",
    ["tok_AbCdEfGh0123456789_-", "tok_" + "a" * 16, "tok_" + "0" * 64, "tok_" + "Z_-9" * 10],
)
def test_valid_token_passes_through_unchanged(valid_token: str) -> None:
    """A value matching `tok_` + 16 or more of [A-Za-z0-9_-] is kept as is."""
    assert decode(distribution_raw(valid_token)).data.beneficiary == valid_token


def test_feedback_beneficiary_is_pseudonymised_too() -> None:
    """The optional beneficiary of a feedback report is pseudonymised like a distribution's."""
    event = decode(feedback_raw("ML-BEN-000123"))
    assert isinstance(event, FeedbackReceived)
    assert event.data.beneficiary == PSEUDONYMISER("ML-BEN-000123")
    assert "ML-BEN-000123" not in event.model_dump_json()


def test_pseudonymiser_output_shape() -> None:
    """The pseudonymiser gives `tok_` + HMAC-SHA256 hex, which is itself a valid token."""
    token = PSEUDONYMISER("x")
    assert HEX_TOKEN.match(token)
    assert decode(distribution_raw(token)).data.beneficiary == token
