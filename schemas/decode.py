"""Decode one raw event (a JSONL line, a Kafka value, an HTTP body item) or say why not.

Every failure is an `InvalidEventError` whose `reason` is one of `REJECT_REASONS` and whose
`detail` names the offending field without echoing its value (a rejected value may be a
beneficiary's raw identifier, and reasons are logged and counted).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Literal, get_args

from pydantic import ValidationError

from schemas.events import EVENT_ADAPTER, EVENT_TYPES, Event
from schemas.exceptions import InvalidEventError
from schemas.privacy import TOKEN_PATTERN

RejectReason = Literal[
    "not_json", "not_an_object", "unknown_type", "missing_field", "invalid_value", "subject_mismatch"
]
REJECT_REASONS: Final[tuple[RejectReason, ...]] = get_args(RejectReason)


class Decoder:
    """Decodes events for one deployment: its pseudonymiser turns raw ids into tokens."""

    def __init__(self, pseudonymiser: Callable[[str], str]) -> None:
        self._pseudonymiser = pseudonymiser
        self._validate_json = EVENT_ADAPTER.validator.validate_json  # the adapter's core, without its wrapper

    def __call__(self, raw: bytes | str) -> Event:
        """Validate `raw` against the contract; raw beneficiary ids come back as tokens.

        The checks pydantic cannot make in its core are made here, after it, in plain Python
        (as validators called from the core they took a quarter of the decoding's time):
        `subject` against its field of `data`, and `beneficiary` tokens. The event's time
        as epoch seconds is kept beside its fields (`Envelope.at`)."""
        try:
            event: Event = self._validate_json(raw)
        except ValidationError as exc:
            reason, detail = _explain(exc)
            raise InvalidEventError(reason, detail) from None
        data = event.data
        expected = getattr(data, event.SUBJECT_FIELD)
        if event.subject != expected:
            raise InvalidEventError("subject_mismatch", (
                f"subject {event.subject!r} does not match data.{event.SUBJECT_FIELD} {expected!r}"))
        fields = data.__dict__
        beneficiary = fields.get("beneficiary")
        if beneficiary is not None and not TOKEN_PATTERN.match(beneficiary):
            try:
                fields["beneficiary"] = self._pseudonymiser(beneficiary)  # the models are frozen to their users
            except ValueError as exc:
                raise InvalidEventError("invalid_value", f"data.beneficiary: {exc}") from None
        event.__dict__["at"] = event.time.timestamp()
        return event


def decode_event(raw: bytes | str, pseudonymiser: Callable[[str], str]) -> Event:
    """Validate `raw` against the contract; raw beneficiary ids come back as tokens."""
    return Decoder(pseudonymiser)(raw)


def _explain(exc: ValidationError) -> tuple[RejectReason, str]:
    errors = exc.errors(include_input=False, include_url=False)
    first = errors[0]
    kind = first["type"]
    loc = [str(part) for part in first["loc"]]
    if loc and loc[0] in EVENT_TYPES:
        loc = loc[1:]  # the union tag pydantic puts first
    where = ".".join(loc) or "event"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    if kind == "json_invalid":
        return "not_json", f"not valid JSON: {first['msg']}"
    if kind in ("model_attributes_type", "model_type", "dict_type") and not loc:
        return "not_an_object", "an event must be a JSON object"
    if kind == "union_tag_invalid":
        tag = (first.get("ctx") or {}).get("tag", "?")
        return "unknown_type", f"unknown type {str(tag)[:64]!r}"
    if kind in ("union_tag_not_found", "missing"):
        field = "type" if kind == "union_tag_not_found" else where
        return "missing_field", f"{field}: field required{more}"
    return "invalid_value", f"{where}: {first['msg']}{more}"
