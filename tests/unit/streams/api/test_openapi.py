"""The OpenAPI document: what other tools need of it (servers, operation ids, client errors,
the licence), a real linter's recommended rules, and answers of the API that it documents.

The linter is Redocly's CLI, pinned in scripts/node-tools/ and installed with npm
(tests/unit/schemas/node_tools.py): without npm the lint tests fail when CI is set, and skip
elsewhere with a message saying what to install.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.formats.json import JSONFormat
from jsonschema import Draft202012Validator

from streams.api.openapi import openapi_document
from streams.settings import ApiSettings
from tests.paths import ROOT
from tests.unit.schemas.node_tools import run_node_tool
from tests.unit.schemas.test_binary import STRUCTURED, cloud_event
from tests.unit.streams.api.test_alert_book import alert
from tests.unit.streams.api.test_events_binary import binary
from tests.unit.streams.api.test_views import RECORDS, Worker, bearer

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def document() -> dict[str, Any]:
    return openapi_document(ApiSettings(tokens=RECORDS))


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op)
            for path, item in doc["paths"].items() for method, op in item.items() if method in METHODS]


def test_every_operation_has_a_unique_operation_id() -> None:
    """Code generators name their functions after `operationId`: one on each operation, no two alike."""
    ids = [op.get("operationId") for _, _, op in operations(document())]
    assert all(ids) and len(ids) == len(set(ids)), ids


def test_every_operation_documents_its_client_errors() -> None:
    """Each operation has a 4xx answer (at least the web server's 400 for a request line or header
    over its limit); a secured one 401 and 403; one that reads a body 413."""
    for path, method, op in operations(document()):
        responses = op["responses"]
        assert any(code.startswith("4") for code in responses), (method, path)
        if op["security"]:
            assert {"401", "403"} <= set(responses), (method, path)
            assert "WWW-Authenticate" in responses["401"]["headers"], (method, path)
        if "requestBody" in op:
            assert {"400", "413"} <= set(responses), (method, path)
        assert "429" not in responses  # nothing is rate-limited


def test_servers_and_licence() -> None:
    """A relative server (the worker that serves the document) and the project's licence, with
    its SPDX identifier, as pyproject.toml declares it."""
    doc = document()
    [server] = doc["servers"]
    assert server["url"] == "/" and server["description"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    licence = project["license"] if isinstance(project["license"], str) else project["license"]["text"]
    assert doc["info"]["license"] == {"name": licence, "identifier": licence}


def lint(doc: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """Redocly's `lint --extends recommended` of `doc`, as its JSON report."""
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    run = run_node_tool(["redocly", "lint", "--extends", "recommended", "--format", "json", str(path)], tmp_path)
    assert run.stdout.strip(), run.stderr
    report: dict[str, Any] = json.loads(run.stdout)
    return report


def test_redocly_finds_nothing_under_its_recommended_rules(tmp_path: Path) -> None:
    """`redocly lint --extends recommended`: no error and no warning."""
    report = lint(document(), tmp_path)
    problems = [(p["severity"], p["ruleId"], p["location"][0]["pointer"], p["message"]) for p in report["problems"]]
    assert problems == []
    assert report["totals"]["errors"] == 0


def test_redocly_does_find_what_it_should(tmp_path: Path) -> None:
    """The lint above can fail: without servers, an operation id and the licence it errs and warns."""
    doc = document()
    del doc["servers"], doc["info"]["license"], doc["paths"]["/healthz"]["get"]["operationId"]
    rules = {(p["severity"], p["ruleId"]) for p in lint(doc, tmp_path)["problems"]}
    assert {("error", "no-empty-servers"), ("warn", "info-license"), ("warn", "operation-operationId")} <= rules


def test_binary_content_mode_is_described() -> None:
    """POST /events documents CloudEvents binary mode: each `ce-` header the official SDK sends
    is a header parameter, and the SDK's binary body (the data alone) fits the JSON body's
    schema only as `EventData`, its structured body only as `CloudEvent`."""
    doc = document()
    operation = doc["paths"]["/events"]["post"]
    documented = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    headers, body = binary()
    assert {name.lower() for name in headers if name.lower().startswith("ce-")} == documented
    assert "binary content mode" in operation["description"]
    schema = {**operation["requestBody"]["content"]["application/json"]["schema"], "components": doc["components"]}
    validator = Draft202012Validator(schema)
    structured = ce_http.to_structured(cloud_event(STRUCTURED), JSONFormat()).body

    def branches(instance: bytes) -> list[str]:
        return [branch.get("$ref", "array").rsplit("/", 1)[-1] for branch in schema["oneOf"]
                if Draft202012Validator({**branch, "components": doc["components"]}).is_valid(json.loads(instance))]

    assert branches(body) == ["EventData"] and branches(structured) == ["CloudEvent"]
    validator.validate(json.loads(body))
    validator.validate(json.loads(structured))


# --- the API answers what the document says ---

CASES: list[tuple[str, str, str, dict[str, str], bytes | None, int]] = [
    # (method, request path, documented path, headers, body, expected status)
    ("GET", "/healthz", "/healthz", {"X-Long": "x" * 9000}, None, 400),
    ("GET", "/metrics?" + "q" * 9000, "/metrics", {}, None, 400),
    ("GET", "/alerts?severity=none", "/alerts", bearer("monitor"), None, 400),
    ("GET", "/alerts", "/alerts", {}, None, 401),
    ("GET", "/alerts", "/alerts", bearer("publisher"), None, 403),
    ("GET", "/alerts/stream?since=yesterday", "/alerts/stream", bearer("monitor"), None, 400),
    ("GET", "/alerts/" + "a" * 9000, "/alerts/{alert_id}", bearer("monitor"), None, 400),
    ("GET", "/alerts/unknown", "/alerts/{alert_id}", bearer("monitor"), None, 404),
    ("POST", "/alerts/id-001/status", "/alerts/{alert_id}/status", bearer("monitor"), b"{", 400),
    ("POST", "/alerts/id-001/status", "/alerts/{alert_id}/status", bearer("monitor"), b" " * 70_000, 413),
    ("POST", "/alerts/unknown/status", "/alerts/{alert_id}/status", bearer("monitor"), b'{"status": "resolved"}', 404),
    ("POST", "/alerts/id-001/status", "/alerts/{alert_id}/status", bearer("monitor"), b'{"status": 1}', 422),
    ("POST", "/events", "/events", bearer("publisher"), b"[1, ", 400),
    ("POST", "/events", "/events", bearer("monitor"), b"{}", 403),
    # binary content mode without ce-type: the event is judged (422), the request is fine
    ("POST", "/events", "/events", {**binary(**{"ce-type": None})[0], **bearer("publisher")},
     binary()[1], 422),
]


@pytest.mark.parametrize(("method", "path", "documented", "headers", "body", "status"), CASES,
                         ids=[f"{c[0]} {c[2]} {c[5]}" for c in CASES])
def test_client_errors_are_documented(method: str, path: str, documented: str, headers: dict[str, str],
                                      body: bytes | None, status: int) -> None:
    """Each of these requests gets the status expected, and the document lists that status for
    the operation, with the content type the answer has."""
    worker = Worker()
    worker.book.add_alert(alert(1))
    response_doc = document()["paths"][documented][method.lower()]["responses"][str(status)]

    async def scenario(client: TestClient[Any, Any]) -> None:
        response = await client.request(method, path, headers=headers, data=body)
        assert response.status == status, await response.text()
        assert response.content_type in response_doc["content"]

    worker.served(scenario)


def integer_query_parameters() -> list[tuple[str, str, str]]:
    return [(path, method, parameter["name"]) for path, method, op in operations(document())
            for parameter in op.get("parameters", [])
            if parameter["in"] == "query" and parameter["schema"].get("type") == "integer"]


def test_limit_is_the_integer_query_parameter() -> None:
    """The check below covers something: `limit` of GET /alerts is an integer query parameter."""
    assert ("/alerts", "get", "limit") in integer_query_parameters()


@pytest.mark.parametrize(("path", "method", "name"), integer_query_parameters())
@pytest.mark.parametrize("raw", ["²", "١٢", "１２", "1²", "⁵"])
def test_integer_query_parameters_take_ascii_digits_only(path: str, method: str, name: str, raw: str) -> None:
    """`?limit=²` and other Unicode digits (which str.isdigit accepts) are a 400 `bad_request`
    in JSON, never a 500, on every integer query parameter of the document."""
    worker = Worker()

    async def scenario(client: TestClient[Any, Any]) -> None:
        response = await client.request(method.upper(), path, params={name: raw}, headers=bearer("admin"))
        assert response.status == 400
        assert (await response.json())["error"] == "bad_request"

    worker.served(scenario)
