"""`take_in` on messages of aid.events.v1 in CloudEvents binary content mode (contract 1.1):
taken in as their structured form (what the lanes carry), or rejected kept with their headers;
structured messages and batches as before."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from prometheus_client import CollectorRegistry

from schemas.decode import Decoder
from schemas.envelope import BATCH_CONTENT_TYPE
from streams.outputs.metrics import create
from streams.worker.intake import take_in
from streams.worker.outbox import LaneItem
from tests.unit.schemas.test_binary import DATA, STRUCTURED, cloud_event, kafka_headers
from tests.unit.streams.worker.test_intake import PSEUDONYMISER, Rejects

RAW_ID = "MLI-GOU-1"  # DATA's beneficiary: a raw identifier


@dataclass
class Outbox:
    added: list[tuple[int, LaneItem]] = field(default_factory=list)

    def add(self, target: int, item: LaneItem) -> None:
        self.added.append((target, item))


@dataclass
class Worker:
    """What `take_in` sees of a worker, with what it sent to the lanes and the rejects."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    outbox: Outbox = field(default_factory=Outbox)
    rejects: Rejects = field(default_factory=Rejects)
    ctx: Any = None

    def __post_init__(self) -> None:
        self.ctx = SimpleNamespace(
            decode=Decoder(PSEUDONYMISER), metrics=create(self.registry), outbox=self.outbox,
            settings=SimpleNamespace(kafka=SimpleNamespace(partitions=4)), topics=SimpleNamespace(rejects=self.rejects),
            progress=SimpleNamespace(saw=lambda *args: None),
        )

    def take(self, value: bytes | None, headers: list[tuple[str, bytes]]) -> None:
        ctx = self.ctx
        message = SimpleNamespace(value=value, headers=headers, partition=2, offset=17, timestamp=1.0)
        asyncio.run(take_in(ctx, message))  # type: ignore[arg-type]

    @property
    def bodies(self) -> list[bytes]:
        return [item.body for _, item in self.outbox.added]

    def rejected_count(self, **labels: str) -> float:
        return self.registry.get_sample_value("aidmon_events_total", {**labels, "outcome": "rejected"}) or 0.0


def test_a_binary_message_goes_to_the_lanes_as_its_structured_form_without_the_raw_id() -> None:
    """The SDK's binary message is decoded once into the event of its structured JSON; the lanes
    carry that structured form, its raw beneficiary id replaced by the token."""
    message = ce_kafka.to_binary(cloud_event(STRUCTURED), JSONFormat())
    worker = Worker()
    worker.take(message.value, list(message.headers.items()))
    assert not worker.rejects.sent and worker.bodies
    expected = Decoder(PSEUDONYMISER)(json.dumps(STRUCTURED))
    for body in worker.bodies:
        assert RAW_ID.encode() not in body
        assert Decoder(PSEUDONYMISER)(body) == expected


def test_a_binary_message_without_a_raw_id_travels_as_headers_and_data_made_one() -> None:
    """A tokenised binary event goes on as the structured JSON made of its headers, data spliced in as sent."""
    data = json.dumps(dict(DATA, beneficiary="tok_" + "b" * 20)).encode()
    worker = Worker()
    worker.take(data, kafka_headers())
    [body, *_] = worker.bodies
    assert body.endswith(b'"data": ' + data + b"}") and json.loads(body)["id"] == "ev-1"


@pytest.mark.parametrize(("value", "changes", "reason"), [
    (json.dumps(DATA).encode(), {"ce_type": None}, "missing_field"),
    (b"{not json", {}, "not_json"),
    (None, {}, "missing_field"),  # a tombstone: no data
    (json.dumps(DATA).encode(), {"ce_source": b"\xff/agencies"}, "invalid_value"),
    (json.dumps(DATA).encode(), {"content-type": b"text/plain"}, "invalid_value"),
])
def test_a_rejected_binary_message_is_kept_with_its_headers(
    value: bytes | None, changes: dict[str, bytes | None], reason: str
) -> None:
    """Rejected with the reason structured mode would give, kept as it came: its value, its `ce_`
    and content-type headers (text, or base64 when not UTF-8), its position; other headers left out."""
    headers = [*kafka_headers(**changes), ("traceparent", b"00-1-2-01")]
    worker = Worker()
    worker.take(value, headers)
    assert not worker.outbox.added
    [record] = worker.rejects.sent
    assert (record["reason"], record["partition"], record["offset"]) == (reason, 2, 17)
    assert record["raw"] == (value or b"").decode("utf-8")
    kept = {**record["headers"], **record.get("headers_base64", {})}
    assert set(kept) == {name for name, _ in headers} - {"traceparent"}
    assert record["headers"].get("ce_id") == "ev-1"
    if "ce_source" in changes:
        assert record["headers_base64"] == {"ce_source": "/y9hZ2VuY2llcw=="}


def test_a_rejected_binary_message_is_counted_by_the_type_and_source_of_its_headers() -> None:
    """The rejected event counts under its `ce_type` and `ce_source`, not as unknown."""
    worker = Worker()
    worker.take(b"{not json", kafka_headers())
    assert worker.rejected_count(type="distribution.recorded", source="/agencies/wfp/mli") == 1


def test_structured_messages_are_untouched_by_stray_attribute_headers() -> None:
    """A `content-type: application/cloudevents+json` message is structured even with `ce_` headers;
    one with `ce_` headers but no `ce_specversion` is structured too, and its reject keeps those headers."""
    worker = Worker()
    structured = [("content-type", b"application/cloudevents+json"), ("ce_specversion", b"1.0")]
    worker.take(json.dumps(STRUCTURED).encode(), structured)
    assert worker.bodies and not worker.rejects.sent
    worker.take(json.dumps(DATA).encode(), kafka_headers(ce_specversion=None))
    [record] = worker.rejects.sent
    assert record["reason"] == "missing_field" and record["headers"]["ce_type"] == "distribution.recorded"


def test_plain_structured_rejects_and_batches_carry_no_headers() -> None:
    """A structured message with no `ce_` header, and a batch's events, are rejected as before: no `headers`."""
    worker = Worker()
    worker.take(b"{not json", [("content-type", b"application/json")])
    worker.take(json.dumps([{"type": "nope"}, STRUCTURED]).encode(), [("content-type", BATCH_CONTENT_TYPE.encode())])
    assert [(r["reason"], r.get("index")) for r in worker.rejects.sent] == [("not_json", None), ("unknown_type", 0)]
    assert not any("headers" in r for r in worker.rejects.sent)
    assert worker.bodies  # the batch's good event went on


def test_an_event_too_large_for_a_lanes_message_is_rejected_and_the_rest_go_on() -> None:
    """An event over MAX_EVENT_BYTES (aid.events.v1 takes up to about 1 MB, a lanes message
    less) is rejected as too_large, kept whole, as POST /events refuses it; a batch's other
    events go on to the lanes."""
    from streams.kafka.topics import MAX_EVENT_BYTES

    big = {**STRUCTURED, "id": "big", "data": {**STRUCTURED["data"], "padding": "x" * MAX_EVENT_BYTES}}
    worker = Worker()
    worker.take(json.dumps(big).encode(), [])
    [record] = worker.rejects.sent
    assert record["reason"] == "too_large" and record["truncated"] is True and not worker.bodies
    batch = json.dumps([big, STRUCTURED]).encode()
    worker.take(batch, [("content-type", b"application/cloudevents-batch+json")])
    assert [r["reason"] for r in worker.rejects.sent] == ["too_large", "too_large"] and worker.bodies
    assert worker.registry.get_sample_value("aidmon_rejects_total", {"reason": "too_large"}) == 2
