"""The OpenAPI 3.1 document of the worker's HTTP API, served at /openapi.json.

Its limits come from where they are enforced: the worker's `ApiSettings` (page size, body
size), streams.api.ingest (events a body, bytes an event), streams.api.base (the default
page size), streams.api.alert_views (a status request's size) and streams.api.follow (the
keep-alive period).

Every operation lists the 4xx answers it can give: those its view raises (400 a bad
parameter or body, 401/403 the token, 404 an unknown alert, 409 the lifecycle, 413 a body
too large, 422 a body that breaks the contract) and the 400 the web server itself answers,
as plain text, before any view runs: a request line or header longer than 8190 bytes
(aiohttp's limit). No endpoint is rate-limited, so none answers 429.
"""

from __future__ import annotations

from typing import Any

from schemas.alerts import SEVERITIES, TYPOLOGIES, Alert
from schemas.envelope import BATCH_CONTENT_TYPE
from schemas.lifecycle import STATUSES, StatusChange, StatusRequest
from streams.api.alert_views import STATUS_BODY_BYTES
from streams.api.base import DEFAULT_LIMIT
from streams.api.follow import KEEPALIVE_SECONDS
from streams.api.ingest import MAX_EVENTS
from streams.kafka.topics import MAX_EVENT_BYTES
from streams.settings import ApiSettings

REF = "#/components/schemas/{model}"
LICENSE = "Apache-2.0"  # the project's licence (pyproject.toml), an SPDX identifier
LINE_LIMIT_BYTES = 8190  # aiohttp's longest request line or header: past it, a plain-text 400


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response = _json(_ref("Error"), description)
    if headers:
        response["headers"] = headers
    return response


def _bad_request(description: str | None = None) -> dict[str, Any]:
    """400: the view's own (JSON, when it has one: `description`), or the web server's (plain
    text) for a request line or header over its limit, which any operation can get."""
    too_long = f"a request line or header is longer than {LINE_LIMIT_BYTES} bytes (plain text, from the web server)"
    content: dict[str, Any] = {"application/json": {"schema": _ref("Error")}} if description else {}
    content["text/plain"] = {"schema": {"type": "string"}}
    return {"description": f"{description}; or {too_long}" if description else too_long, "content": content}


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}


RETRY_AFTER = {"Retry-After": _header("seconds to wait before trying again")}


def _model(model: Any, components: dict[str, Any]) -> None:
    schema = model.model_json_schema(ref_template=REF)
    components.update(schema.pop("$defs", {}))
    components[model.__name__] = schema


def _components() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in (Alert, StatusRequest, StatusChange):
        _model(model, schemas)
    schemas["Error"] = {
        "type": "object", "required": ["error", "detail"],
        "properties": {"error": {"type": "string"}, "detail": {}},
    }
    schemas["AlertView"] = {
        "description": "An alert as the contract gives it, with its lifecycle status (and, alone, its history)",
        "allOf": [_ref("Alert"), {
            "type": "object", "required": ["status"],
            "properties": {"status": {"enum": list(STATUSES)},
                           "history": {"type": "array", "items": _ref("StatusChange")}},
        }],
    }
    schemas["AlertPage"] = {
        "type": "object", "required": ["alerts", "next"],
        "properties": {"alerts": {"type": "array", "items": _ref("AlertView")},
                       "next": {"type": ["string", "null"], "description": "cursor of the next page; null: the last"}},
    }
    schemas["AlertContext"] = {
        "type": "object", "required": ["type", "features", "alert_id"],
        "description": "GeoJSON FeatureCollection (coordinates [lon, lat]); `properties.role` of a feature: "
                       "zone, route, origin, destination, position, stop, incident or site",
        "properties": {
            "type": {"const": "FeatureCollection"}, "alert_id": {"type": "string"},
            "at": {"type": "string", "format": "date-time", "description": "when the zones are taken"},
            "features": {"type": "array", "items": {
                "type": "object", "required": ["type", "geometry", "properties"],
                "properties": {"type": {"const": "Feature"},
                               "geometry": {"type": "object", "required": ["type", "coordinates"],
                                            "properties": {"type": {"enum": [
                                                "Point", "LineString", "Polygon", "MultiPolygon"]},
                                                "coordinates": {"type": "array"}}},
                               "properties": {"type": "object", "required": ["role"], "properties": {"role": {
                                   "enum": ["zone", "route", "origin", "destination", "position", "stop",
                                            "incident", "site"]}}}}}},
        },
    }
    schemas["CloudEvent"] = {
        "type": "object", "description": f"One event of the contract (CloudEvents 1.0, structured JSON, "
        f"at most {MAX_EVENT_BYTES} bytes); the JSON Schema of each type is in schemas/json/",
        "required": ["specversion", "id", "source", "type", "time", "subject", "data"],
        "properties": {"specversion": {"const": "1.0"}, "id": {"type": "string"}, "source": {"type": "string"},
                       "type": {"type": "string"}, "time": {"type": "string"}, "subject": {"type": "string"},
                       "data": {"type": "object"}},
    }
    schemas["EventData"] = {
        "type": "object", "properties": {"specversion": False},  # with one, the body is a structured event
        "description": "Binary content mode: the `data` of one event alone (its attributes are the `ce-` "
                       "headers); the JSON Schema of each type's data is in schemas/json/",
    }
    schemas["Accepted"] = {
        "type": "object", "required": ["accepted", "ids"],
        "properties": {"accepted": {"type": "integer"}, "ids": {"type": "array", "items": {"type": "string"}}},
    }
    schemas["Rejected"] = {
        "type": "object", "required": ["error", "detail", "accepted", "rejected"],
        "properties": {
            "error": {"type": "string"}, "detail": {"type": "string"}, "accepted": {"const": 0},
            "rejected": {"type": "array", "items": {
                "type": "object", "required": ["index", "reason", "detail"],
                "properties": {"index": {"type": "integer"}, "id": {"type": "string"}, "reason": {"type": "string"},
                               "detail": {"type": "string"}}}},
        },
    }
    schemas["Health"] = {
        "type": "object", "required": ["ready", "checks"],
        "properties": {"ready": {"type": "boolean"},
                       "checks": {"type": "object", "additionalProperties": {"type": "boolean"}}},
    }
    return schemas


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


ALERT_ID = {"name": "alert_id", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
UNAUTHORIZED = _error("no valid bearer token", {"WWW-Authenticate": _header('the challenge: Bearer realm="aidmon"')})
SECURED = {"401": UNAUTHORIZED, "403": _error("the token's role may not do this")}
FILTERS = [
    _query("typology", {"enum": list(TYPOLOGIES)}, "only this typology"),
    _query("severity", {"enum": list(SEVERITIES)}, "only this severity"),
    _query("status", {"enum": list(STATUSES)}, "only alerts in this lifecycle status"),
    _query("subject", {"type": "string", "minLength": 1}, "only alerts on this subject id"),
    _query("since", {"type": "string", "format": "date-time"},
           "only alerts raised or updated (event time) at or after this RFC 3339 time"),
]


MONITOR: list[dict[str, list[str]]] = [{"bearer": []}]


def _open_paths() -> dict[str, Any]:
    def open_get(operation_id: str, summary: str, responses: dict[str, Any]) -> dict[str, Any]:
        return {"get": {"operationId": operation_id, "summary": summary, "security": [],
                        "responses": {**responses, "400": _bad_request()}}}

    text = {"description": "the text exposition format", "content": {"text/plain": {"schema": {"type": "string"}}}}
    return {
        "/healthz": open_get("getHealth", "the worker process answers", {"200": _json(_ref("Health"), "alive")}),
        "/readyz": open_get("getReadiness", "ready: partitions assigned, tables recovered, alert view loaded",
                            {"200": _json(_ref("Health"), "ready"), "503": _json(_ref("Health"), "not ready yet")}),
        "/metrics": open_get("getMetrics", "Prometheus metrics", {"200": text}),
        "/openapi.json": open_get("getOpenApiDocument", "this document",
                                  {"200": _json({"type": "object"}, "OpenAPI 3.1")}),
    }


def _alert_paths(page_limit: int) -> dict[str, Any]:
    return {
        "/alerts": {"get": {
            "operationId": "listAlerts", "summary": "alerts, newest first (raised_at, then alert_id)",
            "security": MONITOR,
            "parameters": [
                *FILTERS,
                _query("limit", {"type": "integer", "minimum": 1, "maximum": page_limit},
                       f"page size (default {min(DEFAULT_LIMIT, page_limit)})"),
                _query("cursor", {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}, "the `next` of the previous page"),
            ],
            "responses": {"200": _json(_ref("AlertPage"), "a page of alerts"),
                          "400": _bad_request("a filter, limit or cursor is not valid"), **SECURED},
        }},
        "/alerts/stream": {"get": {
            "operationId": "followAlerts",
            "summary": "Server-Sent Events: each new or changed alert (event `alert`, id = alert_id), "
                       f"a comment every {KEEPALIVE_SECONDS:g} s", "security": MONITOR, "parameters": FILTERS,
            "responses": {"200": {"description": "an endless event stream",
                                  "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                          "400": _bad_request("a filter is not valid"), **SECURED},
        }},
        "/alerts/{alert_id}": {"get": {
            "operationId": "getAlert", "summary": "one alert with its lifecycle history", "security": MONITOR,
            "parameters": [ALERT_ID],
            "responses": {"200": _json(_ref("AlertView"), "the alert"), "400": _bad_request(),
                          "404": _error("no such alert"), **SECURED},
        }},
        "/alerts/{alert_id}/context": {"get": {
            "operationId": "getAlertContext",
            "summary": "the alert's map: a GeoJSON FeatureCollection of the zones in force when it was raised and "
                       "what the monitor's state holds of its subject (route, positions, stops, incidents, sites); "
                       "each feature's `properties.role` says what it is; never a beneficiary token",
            "security": MONITOR, "parameters": [ALERT_ID],
            "responses": {"200": {"description": "the map (empty until this worker detects on a partition)",
                                  "content": {"application/geo+json": {"schema": _ref("AlertContext")}}},
                          "400": _bad_request(), "404": _error("no such alert"), **SECURED},
        }},
        "/alerts/{alert_id}/status": {"post": {
            "operationId": "changeAlertStatus",
            "summary": "change an alert's lifecycle status; the change is kept as an audit record",
            "security": MONITOR, "parameters": [ALERT_ID],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("StatusRequest")}}},
            "responses": {"200": _json(_ref("AlertView"), "the alert, changed, with its history"),
                          "400": _bad_request("the body is not JSON"), "404": _error("no such alert"),
                          "409": _error("the alert cannot go from its status to that one"),
                          "413": _error(f"the body is larger than {STATUS_BODY_BYTES} bytes"),
                          "422": _error("the body is not a status request"),
                          "503": _error("the change could not be recorded; try again", RETRY_AFTER), **SECURED},
        }},
    }


# CloudEvents binary content mode over HTTP (contract 1.1): the attributes as headers
BINARY_HEADERS = {
    "ce-specversion": "1.0: with this header the request is in binary content mode, one event whose "
                      "attributes are the ce- headers and whose body is its `data` alone",
    "ce-id": "binary mode: the event's `id`",
    "ce-source": "binary mode: the event's `source`",
    "ce-type": "binary mode: the event's `type`",
    "ce-time": "binary mode: the event's `time` (RFC 3339)",
    "ce-subject": "binary mode: the event's `subject`",
}
BINARY_MODE = (
    "CloudEvents binary content mode (contract 1.1, the HTTP binding): the attributes in `ce-` headers "
    "(`ce-specversion: 1.0`, `ce-id`, `ce-source`, `ce-type`, `ce-time`, `ce-subject`; values "
    "percent-encoded UTF-8), `Content-Type: application/json` as its `datacontenttype`, and the event's "
    "`data` alone as the body (`EventData`). It is one event, judged and answered as the same event in "
    "structured mode; a rejected one is kept with its `ce-` and `Content-Type` headers."
)


def _binary_parameters() -> list[dict[str, Any]]:
    parameters = []
    for name, description in BINARY_HEADERS.items():
        schema: dict[str, Any] = {"const": "1.0"} if name == "ce-specversion" else {"type": "string"}
        parameters.append({"name": name, "in": "header", "required": False, "description": description,
                           "schema": schema})
    return parameters


def _event_paths(max_body_bytes: int) -> dict[str, Any]:
    array = {"type": "array", "items": _ref("CloudEvent"), "minItems": 1, "maxItems": MAX_EVENTS}
    return {
        "/events": {"post": {
            "operationId": "publishEvents",
            "summary": f"publish events: one JSON object, a JSON array, a CloudEvents batch ({BATCH_CONTENT_TYPE}: "
                       "a JSON array), or NDJSON (application/x-ndjson); all or nothing",
            "description": "Structured mode: the body is the events themselves (`CloudEvent`, an array of "
                           f"them, a batch, NDJSON). {BINARY_MODE}",
            "security": [{"bearer": []}],
            "parameters": _binary_parameters(),
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": {"oneOf": [_ref("CloudEvent"), array, _ref("EventData")]}},
                BATCH_CONTENT_TYPE: {"schema": array},
                "application/x-ndjson": {"schema": {"type": "string"}},
            }},
            "responses": {"202": _json(_ref("Accepted"), "every event is valid and published"),
                          "400": _bad_request("the body cannot be read"),
                          "401": UNAUTHORIZED,
                          "403": _error("the token may not publish, or not under that source (then `rejected` "
                                        "names the events)"),
                          "413": _error(f"the body is larger than {max_body_bytes} bytes"),
                          "422": _json(_ref("Rejected"), "events break the contract; nothing was published"),
                          "503": _error("Kafka did not take the events; try again", RETRY_AFTER)},
        }},
    }


def openapi_document(settings: ApiSettings) -> dict[str, Any]:
    """The document for a worker with these API settings (its page and body limits)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "aidmon worker API", "version": "1",
                 "description": "Alerts of possible aid diversion to monitors, events from agencies. "
                                "Bearer tokens (`aidmon token create`): publisher, monitor, admin.",
                 "license": {"name": LICENSE, "identifier": LICENSE}},
        "servers": [{"url": "/", "description": "the worker that serves this document (by default "
                                               "http://127.0.0.1:6066: its `[api] host` and `port`)"}],
        "paths": {**_open_paths(), **_alert_paths(settings.page_limit), **_event_paths(settings.max_body_bytes)},
        "components": {"schemas": _components(),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
