"""JSON Schema export: one file per event type, plus the envelope union and the alert.

The files are standard JSON Schema 2020-12, for validators in any language. Pydantic writes a
tagged union (the event union, a zone's Polygon | MultiPolygon) as a `oneOf` with OpenAPI's
`discriminator`, which is not a JSON Schema keyword: `_tagged_union` writes the union in
2020-12's own keywords (a `oneOf` whose members each select by the tag's `const`, so that a
validator's errors name the member the instance claims to be).
What JSON Schema cannot say (`subject` equal to a field of `data`) is written in descriptions.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from schemas.alerts import Alert
from schemas.envelope import Envelope
from schemas.events import EVENT_ADAPTER, EVENT_TYPES

SCHEMA_ID_BASE = "https://aidmon.invalid/schemas/v1/"

SUBJECT_RULE = (
    "`subject` must equal `data.{field}`. JSON Schema cannot compare two values of one instance, so "
    "this rule is not in the schema: the monitor rejects a mismatch with reason `subject_mismatch`."
)
EVENT_DESCRIPTION = (
    "One event of the contract (CloudEvents 1.0, structured JSON mode): exactly one of the per-type "
    "schemas (`oneOf`; each fixes `type` with `const`, and each member applies its schema only to an "
    "event of its `type`, so that a validator's errors name the fields of the event's own type). Not "
    "expressible in JSON Schema, so not checked by it: `subject` must equal the field of `data` its "
    "type names ({fields}); the monitor rejects a mismatch with reason `subject_mismatch`."
)


def schema_documents() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema document, for every type of the contract."""
    documents: dict[str, dict[str, Any]] = {}
    for event_type, model in EVENT_TYPES.items():
        schema = _standard(model.model_json_schema())
        _note_subject_rule(schema, model)
        documents[f"{event_type}.json"] = _document(schema, event_type)
    union = _standard(EVENT_ADAPTER.json_schema())
    for model in EVENT_TYPES.values():
        _note_subject_rule(union["$defs"][model.__name__], model)
    fields = ", ".join(f"`{t}`: `data.{m.SUBJECT_FIELD}`" for t, m in EVENT_TYPES.items())
    union["description"] = EVENT_DESCRIPTION.format(fields=fields)
    documents["event.json"] = _document(union, "event")
    documents["alert.json"] = _document(_standard(Alert.model_json_schema()), "alert")
    return documents


def _document(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_ID_BASE}{name}.json",
        **schema,
    }


def _standard(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of a pydantic JSON Schema with every tagged union written in 2020-12 keywords."""
    standard = copy.deepcopy(schema)
    _rewrite_unions(standard)
    return standard


def _rewrite_unions(node: Any) -> None:
    if isinstance(node, dict):
        if "discriminator" in node and "oneOf" in node:
            _tagged_union(node)
        for value in node.values():
            _rewrite_unions(value)
    elif isinstance(node, list):
        for value in node:
            _rewrite_unions(value)


def _tagged_union(node: dict[str, Any]) -> None:
    """`oneOf` of `$ref`s + OpenAPI `discriminator` -> `oneOf` of members that each select by tag.

    Each member is `if` the tag is its `const`, `then` its schema, `else` false: it holds for
    exactly the instances its schema holds for, so the `oneOf` is the same union; but a
    validator rejects the other members on the tag alone, and reports a bad instance against
    the fields of the member its tag names (not against every member's), quickly. The tag's
    `enum` makes an unknown or missing tag an error on the tag itself.
    """
    discriminator = node.pop("discriminator")
    tag: str = discriminator["propertyName"]
    refs = [member["$ref"] for member in node["oneOf"]]
    value_of = {ref: value for value, ref in discriminator["mapping"].items()}
    node["type"] = "object"
    node["required"] = [tag]
    node["properties"] = {tag: {"enum": [value_of[ref] for ref in refs]}}
    node["oneOf"] = [
        {"if": {"properties": {tag: {"const": value_of[ref]}}, "required": [tag]}, "then": {"$ref": ref}, "else": False}
        for ref in refs
    ]


def _note_subject_rule(schema: dict[str, Any], model: type[Envelope]) -> None:
    rule = SUBJECT_RULE.format(field=model.SUBJECT_FIELD)
    schema["description"] = f"A `{model.TYPE}` event (CloudEvents 1.0, structured JSON mode). {rule}"
    subject = schema["properties"]["subject"]
    subject["description"] = f"the partition key: equal to `data.{model.SUBJECT_FIELD}` (not checked by this schema)"


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
