"""The committed JSON Schemas are standard 2020-12, and an independent validator (`jsonschema`)
judges the shared sample as the project's own decoder does.

One rule is not in the schemas because JSON Schema cannot say it: `subject` equal to a field
of `data` (one value of the instance compared with another). The schemas state it in their
`description`; the decoder rejects a mismatch as `subject_mismatch`, and these tests compare
verdicts on the other reasons only.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match

from schemas.decode import Decoder
from schemas.events import EVENT_ADAPTER, EVENT_TYPES
from schemas.exceptions import InvalidEventError
from tests.paths import ROOT, SAMPLE, require
from tests.support import PSEUDONYMISER
from tests.unit.schemas.node_tools import NODE_TOOLS, run_node_tool

COMMITTED = sorted((ROOT / "schemas" / "json").glob("*.json"))

# The keywords of JSON Schema 2020-12's vocabularies (core, applicator, unevaluated,
# validation, meta-data, format-annotation, content), as the specification lists them.
KEYWORDS_2020_12 = frozenset({
    "$schema", "$id", "$ref", "$anchor", "$dynamicRef", "$dynamicAnchor", "$vocabulary", "$comment", "$defs",
    "prefixItems", "items", "contains", "additionalProperties", "properties", "patternProperties",
    "dependentSchemas", "propertyNames", "if", "then", "else", "allOf", "anyOf", "oneOf", "not",
    "unevaluatedItems", "unevaluatedProperties",
    "type", "const", "enum", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
    "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "maxContains", "minContains",
    "maxProperties", "minProperties", "required", "dependentRequired",
    "title", "description", "default", "deprecated", "readOnly", "writeOnly", "examples",
    "format", "contentEncoding", "contentMediaType", "contentSchema",
})
SCHEMA_MAPS = {"$defs", "properties", "patternProperties", "dependentSchemas"}  # name -> subschema
SCHEMA_LISTS = {"prefixItems", "allOf", "anyOf", "oneOf"}
SCHEMA_VALUES = {"items", "contains", "additionalProperties", "propertyNames", "if", "then", "else", "not",
                 "unevaluatedItems", "unevaluatedProperties", "contentSchema"}

SCHEMA_REASONS = {"missing_field", "invalid_value", "unknown_type", "not_an_object"}
"""What the decoder rejects that a JSON Schema can express (`not_json` is before any schema,
`subject_mismatch` beyond what JSON Schema can say)."""


def unknown_keywords(schema: Any, where: str = "#") -> Iterator[str]:
    """`where/keyword` for every keyword of `schema` and its subschemas outside 2020-12's vocabulary."""
    if isinstance(schema, bool):
        return
    assert isinstance(schema, dict), f"{where}: a schema is an object or a boolean"
    for keyword, value in schema.items():
        if keyword not in KEYWORDS_2020_12:
            yield f"{where}/{keyword}"
        elif keyword in SCHEMA_MAPS:
            for name, subschema in value.items():
                yield from unknown_keywords(subschema, f"{where}/{keyword}/{name}")
        elif keyword in SCHEMA_LISTS:
            for i, subschema in enumerate(value):
                yield from unknown_keywords(subschema, f"{where}/{keyword}/{i}")
        elif keyword in SCHEMA_VALUES:
            yield from unknown_keywords(value, f"{where}/{keyword}")


def references(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "$ref":
                yield value
            else:
                yield from references(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from references(value)


def committed(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((ROOT / "schemas" / "json" / name).read_text(encoding="utf-8"))
    return document


@functools.cache
def validator(name: str) -> Draft202012Validator:
    """A validator of the committed schema `name`, checking formats (`date-time`: RFC 3339)."""
    return Draft202012Validator(committed(name), format_checker=Draft202012Validator.FORMAT_CHECKER)


@functools.cache
def sample() -> list[tuple[int, Any, str | None, str]]:
    """(line number, parsed JSON, the decoder's reject reason or None, its detail) for every
    line of the shared sample that is JSON."""
    decode = Decoder(PSEUDONYMISER)
    judged = []
    lines = require(SAMPLE / "events.jsonl").read_bytes().splitlines()
    for number, line in enumerate(lines, start=1):
        try:
            instance = json.loads(line)
        except ValueError:
            continue  # not JSON: no schema is asked
        try:
            decode(line)
        except InvalidEventError as exc:
            judged.append((number, instance, exc.reason, exc.detail))
        else:
            judged.append((number, instance, None, ""))
    return judged


# --- the schemas themselves ---

def test_there_are_committed_schemas() -> None:
    """The files the checks below read are there: one per type, the union and the alert."""
    assert {p.name for p in COMMITTED} == {f"{t}.json" for t in EVENT_TYPES} | {"event.json", "alert.json"}


@pytest.mark.parametrize("path", COMMITTED, ids=lambda path: path.name)
def test_schema_is_valid_under_the_2020_12_meta_schema(path: Any) -> None:
    """Each file declares 2020-12 and passes its meta-schema."""
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(document)


@pytest.mark.parametrize("path", COMMITTED, ids=lambda path: path.name)
def test_schema_uses_only_standard_keywords(path: Any) -> None:
    """No keyword outside 2020-12's vocabularies (OpenAPI's `discriminator` among them), which a
    strict validator refuses and a lax one ignores."""
    assert list(unknown_keywords(json.loads(path.read_text(encoding="utf-8")))) == []


@pytest.mark.parametrize("path", COMMITTED, ids=lambda path: path.name)
def test_every_reference_points_into_the_file(path: Any) -> None:
    """Each `$ref` is a `#/$defs/...` of the same file: a file is whole on its own."""
    document = json.loads(path.read_text(encoding="utf-8"))
    for ref in references(document):
        assert ref.startswith("#/$defs/") and ref.removeprefix("#/$defs/") in document.get("$defs", {}), ref


def test_ajv_in_strict_mode_compiles_every_schema(tmp_path: Path) -> None:
    """Ajv (JavaScript), strict and 2020-12, compiles every committed file; it refuses a schema
    with OpenAPI's `discriminator` (pydantic's own schema of the event union)."""
    check = ["node", str(NODE_TOOLS / "check-json-schemas.cjs")]
    run = run_node_tool([*check, *map(str, COMMITTED)], tmp_path)
    assert run.returncode == 0 and json.loads(run.stdout) == dict.fromkeys(p.name for p in COMMITTED), (
        run.stdout + run.stderr)
    pydantic = tmp_path / "pydantic-event.json"
    pydantic.write_text(json.dumps(EVENT_ADAPTER.json_schema()), encoding="utf-8")
    refused = run_node_tool([*check, str(pydantic)], tmp_path)
    assert refused.returncode == 1 and "discriminator" in json.loads(refused.stdout)[pydantic.name]


def test_the_keyword_walk_finds_what_pydantic_adds() -> None:
    """The walk above does fail: pydantic's own schema of the event union carries `discriminator`."""
    assert "#/discriminator" in list(unknown_keywords(EVENT_ADAPTER.json_schema()))
    assert list(unknown_keywords({"properties": {"discriminator": {"x-name": 1}}})) == [
        "#/properties/discriminator/x-name"]


def members(document: dict[str, Any], union: dict[str, Any]) -> list[tuple[str, str]]:
    """(tag value, member name) of each member of a tagged union's `oneOf`, checking its form:
    `if` the tag is the member's `const`, `then` the member's schema, `else` false."""
    found = []
    for member in union["oneOf"]:
        assert set(member) == {"if", "then", "else"} and member["else"] is False
        tag = member["if"]["properties"]["type"]["const"]
        assert member["if"]["required"] == ["type"]
        name = member["then"]["$ref"].removeprefix("#/$defs/")
        assert document["$defs"][name]["properties"]["type"]["const"] == tag
        found.append((tag, name))
    return found


def test_unions_are_one_of_per_type_schemas_with_a_const_tag() -> None:
    """The event is a `oneOf` of the per-type schemas, each fixing `type` with `const`; a zone's
    geometry a `oneOf` of Polygon and MultiPolygon, each fixing its `type` the same way."""
    event = committed("event.json")
    assert members(event, event) == [(t, model.__name__) for t, model in EVENT_TYPES.items()]
    assert event["properties"]["type"]["enum"] == list(EVENT_TYPES)
    for name in ("event.json", "zone.declared.json"):
        document = committed(name)
        geometry = document["$defs"]["ZoneData"]["properties"]["geometry"]
        assert members(document, geometry) == [("Polygon", "Polygon"), ("MultiPolygon", "MultiPolygon")]


def test_the_subject_rule_is_documented_where_it_cannot_be_checked() -> None:
    """Every event schema says that `subject` must equal its field of `data` and why the schema
    does not check it."""
    event = committed("event.json")
    assert "subject_mismatch" in event["description"]
    for event_type, model in EVENT_TYPES.items():
        for schema in (committed(f"{event_type}.json"), event["$defs"][model.__name__]):
            assert f"`subject` must equal `data.{model.SUBJECT_FIELD}`" in schema["description"]
            assert "subject_mismatch" in schema["description"]
            assert f"data.{model.SUBJECT_FIELD}" in schema["properties"]["subject"]["description"]


def test_the_format_checker_checks_rfc_3339_times() -> None:
    """`date-time` is checked (jsonschema checks it only with rfc3339-validator installed): a time
    without an offset is refused, as the contract says."""
    checker: FormatChecker = Draft202012Validator.FORMAT_CHECKER
    assert checker.conforms("2012-07-03T08:15:00Z", "date-time")
    assert not checker.conforms("2012-07-03T08:15:00", "date-time")


# --- the shared sample, judged by jsonschema and by the decoder ---

def test_the_sample_has_a_line_for_every_schema_reason() -> None:
    """The comparison below is worth something: the sample holds valid events and a reject of
    each reason a schema can express."""
    reasons = Counter(reason for _, _, reason, _ in sample())
    assert reasons[None] > 1000
    assert set(reasons) >= SCHEMA_REASONS


@pytest.mark.slow  # jsonschema takes ~2 ms an event: half a minute for the sample
def test_jsonschema_rejects_exactly_what_the_decoder_rejects() -> None:
    """Every JSON line of the sample: event.json refuses it if and only if the decoder rejects it
    for a reason a schema can express; a line the decoder rejects only for `subject_mismatch`
    passes the schema (the one rule it cannot say)."""
    event = validator("event.json")
    disagreements = []
    for number, instance, reason, detail in sample():
        expected_valid = reason is None or reason == "subject_mismatch"
        assert reason is None or reason in SCHEMA_REASONS | {"subject_mismatch"}, (number, reason)
        if event.is_valid(instance) != expected_valid:
            disagreements.append((number, reason, detail))
    assert disagreements == []


@pytest.mark.slow
def test_each_type_schema_judges_its_lines_as_the_union_does() -> None:
    """A line whose `type` is known gets the same verdict from that type's own file as from
    event.json (publishers of one type use that file alone)."""
    checked = 0
    for number, instance, reason, _ in sample():
        if isinstance(instance, dict) and instance.get("type") in EVENT_TYPES and reason != "subject_mismatch":
            assert validator(f"{instance['type']}.json").is_valid(instance) == (reason is None), number
            checked += 1
    assert checked > 1000


def test_the_subject_rule_is_the_only_one_left_to_the_decoder() -> None:
    """A valid sample event with `subject` changed: the decoder rejects it as `subject_mismatch`,
    the schema (which cannot compare the two values) accepts it."""
    number, instance, _, _ = next(line for line in sample() if line[2] is None)
    changed = {**instance, "subject": f"{instance['subject']}-other"}
    with pytest.raises(InvalidEventError) as info:
        Decoder(PSEUDONYMISER)(json.dumps(changed))
    assert info.value.reason == "subject_mismatch"
    assert validator("event.json").is_valid(changed), number


def _names_the_decoders_field(error: ValidationError, reason: str, detail: str) -> bool:
    path = ".".join(str(part) for part in error.absolute_path)
    field = detail.split(":", 1)[0]
    if reason == "not_an_object":
        return error.validator == "type" and path == ""
    if reason == "unknown_type":
        return error.validator == "enum" and path == "type"
    if reason == "missing_field":
        parent, _, name = field.rpartition(".")
        return error.validator == "required" and path == parent and repr(name) in error.message
    return path == field  # invalid_value: the decoder names the field as "data.items.0.quantity"


def test_errors_name_the_field_of_the_events_own_type() -> None:
    """For each rejected line, the validator reports an error on the very field the decoder
    names, and no error on any other type's fields: the union's members other than the event's
    own `type` refuse it on its `type` alone (their `else: false`)."""
    event = validator("event.json")
    own = {event_type: index for index, event_type in enumerate(EVENT_TYPES)}
    for number, instance, reason, detail in sample():
        if reason not in SCHEMA_REASONS:
            continue
        reported = []
        for error in event.iter_errors(instance):
            if error.validator != "oneOf":
                reported.append(error)
                continue
            if not isinstance(instance, dict):
                continue  # every member applies (its `if` holds for a non-object); the root says `type`
            for inner in error.context or []:
                if inner.relative_schema_path[0] == own.get(instance.get("type")):
                    reported.append(inner)
                else:
                    assert inner.validator is None and not inner.path, (number, inner.message)  # `else: false`
        assert any(_names_the_decoders_field(e, reason, detail) for e in reported), (number, reason, detail)


def test_the_best_error_is_the_decoders() -> None:
    """jsonschema's `best_match` (what most tools print) names the decoder's field for an event
    of a known type with a bad or missing field."""
    event = validator("event.json")
    for number, instance, reason, detail in sample():
        if reason in {"missing_field", "invalid_value"}:
            best = best_match(event.iter_errors(instance))
            assert best is not None and _names_the_decoders_field(best, reason, detail), (number, best)
