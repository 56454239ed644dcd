"""The committed JSON Schemas are exactly what the models generate."""

from __future__ import annotations

import json
from pathlib import Path

from schemas.events import EVENT_TYPES
from schemas.export import export_schemas, render, schema_documents
from streams.cli.main import main
from tests.paths import ROOT

COMMITTED = ROOT / "schemas" / "json"


def test_committed_schemas_match_the_models() -> None:
    """A model change without `aidmon schemas export schemas/json` fails here."""
    documents = schema_documents()
    committed = {p.name for p in COMMITTED.glob("*.json")}
    assert committed == set(documents), "schema files added or missing: run aidmon schemas export schemas/json"
    for name, document in documents.items():
        assert (COMMITTED / name).read_text(encoding="utf-8") == render(document), f"{name} drifted"


def test_one_schema_per_event_type_plus_union_and_alert() -> None:
    """Every contract type has its own file, as publishers in other languages need."""
    names = set(schema_documents())
    assert {f"{t}.json" for t in EVENT_TYPES} <= names
    assert {"event.json", "alert.json"} <= names


def test_export_command_writes_valid_json(tmp_path: Path) -> None:
    """`aidmon schemas export DIR` writes parseable schemas naming their type."""
    assert main(["schemas", "export", str(tmp_path / "out")]) == 0
    position = json.loads((tmp_path / "out" / "convoy.position.json").read_text(encoding="utf-8"))
    assert position["properties"]["type"]["const"] == "convoy.position"
    assert set(position["required"]) >= {"specversion", "id", "source", "type", "time", "subject", "data"}
    assert len(export_schemas(tmp_path / "again")) == len(schema_documents())
