"""JSON Schema export: one file per event type, plus the envelope union and the alert."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas.alerts import Alert
from schemas.events import EVENT_ADAPTER, EVENT_TYPES

SCHEMA_ID_BASE = "https://aidmon.invalid/schemas/v1/"


def schema_documents() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema document, for every type of the contract."""
    documents: dict[str, dict[str, Any]] = {}
    for event_type, model in EVENT_TYPES.items():
        documents[f"{event_type}.json"] = _document(model.model_json_schema(), event_type)
    documents["event.json"] = _document(EVENT_ADAPTER.json_schema(), "event")
    documents["alert.json"] = _document(Alert.model_json_schema(), "alert")
    return documents


def _document(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_ID_BASE}{name}.json",
        **schema,
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def export_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in sorted(schema_documents().items()):
        path = directory / name
        path.write_text(render(document), encoding="utf-8")
        written.append(path)
    return written
