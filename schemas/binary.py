"""CloudEvents binary content mode (contract 1.1): the attributes in headers, the data alone as
the message value or body. `structured_from_binary` turns such a message into the event's
structured JSON, which is then judged as any structured event, by the same rules and with
the same reasons (a missing `ce_type` is `missing_field`, a bad `ce_time` `invalid_value`).

    Kafka  ce_specversion: 1.0   ce_id ...   content-type: application/json   value: {data}
    HTTP   ce-specversion: 1.0   ce-id ...   Content-Type: application/json   body:  {data}
       ──► {"specversion": "1.0", "id": ..., "datacontenttype": "application/json", "data": {data}}

On Kafka the attribute values are UTF-8; over HTTP they are also percent-encoded (the HTTP
binding, section 3.1.3.2), and decoded here. Header names are read whatever their case.
`content-type` is `datacontenttype` and must name JSON (`application/json`, or a `+json`
type; no header means JSON); its parameters (`; charset=utf-8`) are kept. Other `ce`
headers are extension attributes, kept as strings (the envelope tolerates and drops them).

A message is in binary mode when it has a `specversion` attribute header and its content
type does not start with `application/cloudevents` (that one is structured, or a batch).
Nothing here echoes a value in an error: a rejected value may be a raw beneficiary id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Final, Literal
from urllib.parse import unquote

from schemas.exceptions import InvalidEventError

Binding = Literal["kafka", "http"]
HeaderList = tuple[tuple[str, bytes], ...]
"""Headers as sent, in order: (name, raw value)."""

PREFIXES: Final[dict[Binding, str]] = {"kafka": "ce_", "http": "ce-"}
CONTENT_TYPE: Final = "content-type"
STRUCTURED_PREFIX: Final = "application/cloudevents"

_ATTRIBUTE_NAME = re.compile(r"[a-z0-9]+")  # CloudEvents 1.0: attribute names are lower-case letters and digits
_NOT_FROM_HEADERS = frozenset({"data", "datacontenttype"})  # the value and `content-type` carry them
_JSON_TYPE = re.compile(r"(application|text)/([a-z0-9.+-]+\+)?json")


def binding_headers(
    headers: Iterable[tuple[str | bytes, bytes | str | None]] | Mapping[str, bytes | str | None] | None,
    binding: Binding,
) -> HeaderList:
    """The headers that make an event in `binding`'s binary mode: the `ce` ones and
    `content-type`, names as sent, values as raw bytes. Others (an HTTP request's
    `Authorization`, a Kafka tracing header) are left out."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers or ()
    prefix = PREFIXES[binding]
    kept = []
    for name, value in pairs:
        text = name.decode("latin-1") if isinstance(name, bytes) else name
        lowered = text.lower()
        if lowered.startswith(prefix) or lowered == CONTENT_TYPE:
            raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value or b""
            kept.append((text, bytes(raw)))
    return tuple(kept)


def has_attributes(headers: HeaderList, binding: Binding) -> bool:
    """Some header carries a CloudEvents attribute (a binary-mode message, or an attempt at one)."""
    prefix = PREFIXES[binding]
    return any(name.lower().startswith(prefix) for name, _ in headers)


def is_binary(headers: HeaderList, binding: Binding) -> bool:
    """The message is in binary mode: a `specversion` header, and no structured content type."""
    specversion = PREFIXES[binding] + "specversion"
    if not any(name.lower() == specversion for name, _ in headers):
        return False
    kind = next((value for name, value in headers if name.lower() == CONTENT_TYPE), b"")
    return not kind.decode("utf-8", "replace").strip().lower().startswith(STRUCTURED_PREFIX)


def structured_from_binary(headers: HeaderList, data: bytes | None, binding: Binding) -> bytes:
    """The structured JSON of a binary-mode message (`data` as sent, spliced in unchanged), or
    an `InvalidEventError` when headers or data cannot make one: an attribute header that is
    not UTF-8 (or not percent-decodable over HTTP) or given twice, a content type that is not
    JSON, data that is not UTF-8 JSON. No data (an empty value) leaves `data` out."""
    attributes = _attributes(headers, binding, strict=True)
    kind = attributes.get("datacontenttype")
    if kind is not None and not _JSON_TYPE.fullmatch(kind.split(";")[0].strip().lower()):
        raise InvalidEventError("invalid_value", "datacontenttype: binary-mode data must be JSON "
                                                 "(content-type application/json)")
    head = json.dumps(attributes, ensure_ascii=False).encode("utf-8")
    if not data:
        return head
    try:
        json.loads(data.decode("utf-8"))  # one JSON value, nothing after it: safe to splice
    except UnicodeDecodeError:
        raise InvalidEventError("not_json", "data: not UTF-8") from None
    except ValueError as exc:
        raise InvalidEventError("not_json", f"data is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidEventError("not_json", "data is nested too deeply") from None
    return head[:-1] + (b', "data": ' if attributes else b'"data": ') + data + b"}"


def readable_attributes(headers: HeaderList, binding: Binding) -> dict[str, str]:
    """The attributes that can be read (unreadable ones left out, the last of repeated ones):
    what names a rejected message's type, source and id."""
    return _attributes(headers, binding, strict=False)


def _attributes(headers: HeaderList, binding: Binding, strict: bool) -> dict[str, str]:
    prefix = PREFIXES[binding]
    attributes: dict[str, str] = {}
    for name, raw in headers:
        lowered = name.lower()
        if lowered == CONTENT_TYPE:
            attribute, encoded = "datacontenttype", False
        elif lowered.startswith(prefix) and _ATTRIBUTE_NAME.fullmatch(lowered[len(prefix):]) \
                and lowered[len(prefix):] not in _NOT_FROM_HEADERS:
            attribute, encoded = lowered[len(prefix):], binding == "http"
        else:
            continue
        if strict and attribute in attributes:
            raise InvalidEventError("invalid_value", f"{attribute}: header {name[:64]} is given more than once")
        try:
            text = raw.decode("utf-8")
            attributes[attribute] = unquote(text, errors="strict") if encoded else text
        except UnicodeDecodeError:
            if strict:
                what = "percent-encoded UTF-8" if encoded else "UTF-8"
                raise InvalidEventError("invalid_value", f"{attribute}: header {name[:64]} is not {what}") from None
    return attributes
