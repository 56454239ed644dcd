"""The CloudEvents 1.0 envelope (structured JSON mode) shared by every event type."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar, Literal, get_args

from pydantic import Field

from schemas.types import Identifier, Model, Timestamp

BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"
"""The CloudEvents JSON batch format: a JSON array of structured events, as one HTTP body
(Content-Type) or one Kafka message (its `content-type` header)."""


def batch_items(batch: list[Any]) -> list[bytes]:
    """The items of a parsed batch, each as the JSON of one event, to be judged alone. A
    lone surrogate ("\ud800" parses) is written as it came, not as an encoding error that
    would take the whole batch down: its item alone is then rejected as not JSON."""
    return [json.dumps(item, ensure_ascii=False).encode("utf-8", "surrogatepass") for item in batch]


class Envelope(Model):
    """Fields every event carries; subclasses fix `type` and `data`."""

    SUBJECT_FIELD: ClassVar[str] = ""
    """The field of `data` that `subject` must equal (`schemas.decode` rejects a mismatch)."""
    TYPE: ClassVar[str] = ""
    """The subclass's `type`, e.g. "site.registered": set from its `Literal`."""

    specversion: Literal["1.0"]
    id: Identifier
    source: str = Field(min_length=1, pattern=r"^\S+$", description="URI-reference of the publisher")
    type: str
    time: Timestamp
    subject: Identifier
    datacontenttype: str | None = None
    data: Any

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        values = get_args(cls.model_fields["type"].annotation)
        cls.TYPE = values[0] if len(values) == 1 else ""

    if TYPE_CHECKING:  # not a field: kept beside them, out of the schema and of every dump
        at: float
        """`time` as epoch seconds: what the detectors compare (computed once, at decode,
        `schemas.decode`; a plain attribute, not a property: it is read several times for
        every event)."""
