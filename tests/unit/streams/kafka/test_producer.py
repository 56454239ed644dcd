"""`aidmon publish`'s sender: one event a message, or CloudEvents JSON batches of up to N
events, each a JSON array under MAX_BATCH_BYTES with the batch content-type header. Kafka is
not here: a recording producer stands in for KafkaProducer.send (the broker's side is
tests/integration/test_publish.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from schemas.envelope import BATCH_CONTENT_TYPE
from streams.kafka.producer import BATCH_TYPE, MAX_BATCH_BYTES, Sender
from streams.kafka.topics import EVENTS


@dataclass
class Sent:
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]] | None
    future: object = field(default_factory=object)


@dataclass
class RecordingProducer:
    sent: list[Sent] = field(default_factory=list)

    def send(self, topic: str, *, key: bytes, value: bytes, headers: list[tuple[str, bytes]] | None = None) -> object:
        self.sent.append(Sent(topic, key, value, headers))
        return self.sent[-1].future


def event(number: int, padding: int = 0) -> tuple[bytes, bytes]:
    """(key, value) of one small event; `padding` more bytes in its data."""
    subject = f"SHP-{number}"
    value = {"specversion": "1.0", "id": f"e-{number}", "subject": subject, "data": {"pad": "x" * padding}}
    return subject.encode(), json.dumps(value, separators=(",", ":")).encode()


def sent_through(batch: int, events: list[tuple[bytes, bytes]]) -> tuple[RecordingProducer, Sender]:
    producer = RecordingProducer()
    sender = Sender(producer, batch)
    for key, value in events:
        sender.add(key, value)
    sender.flush()
    return producer, sender


def test_the_header_is_the_contracts_batch_type() -> None:
    assert BATCH_TYPE == b"application/cloudevents-batch+json" == BATCH_CONTENT_TYPE.encode()


@pytest.mark.parametrize("batch", [1, 0])
def test_without_batch_each_event_is_one_message_keyed_by_its_subject(batch: int) -> None:
    """--batch 1 (the default): each event as it came, keyed by its subject, no header."""
    events = [event(n) for n in range(3)]
    producer, sender = sent_through(batch, events)
    assert [(s.topic, s.key, s.value, s.headers) for s in producer.sent] == [(EVENTS, k, v, None) for k, v in events]
    assert sender.futures == [(s.future, 1) for s in producer.sent]


def test_batches_hold_up_to_n_events_in_order_keyed_by_their_first_subject() -> None:
    """7 events, --batch 3: arrays of 3, 3 and (at the flush) 1, each with the batch header;
    every event once, in order; each future counts the events it carries."""
    events = [event(n) for n in range(7)]
    producer, sender = sent_through(3, events)
    arrays = [json.loads(s.value) for s in producer.sent]
    assert [len(a) for a in arrays] == [3, 3, 1]
    assert [item for array in arrays for item in array] == [json.loads(v) for _, v in events]
    assert [s.key for s in producer.sent] == [events[0][0], events[3][0], events[6][0]]
    assert all(s.topic == EVENTS and s.headers == [("content-type", BATCH_TYPE)] for s in producer.sent)
    assert sender.futures == [(producer.sent[0].future, 3), (producer.sent[1].future, 3), (producer.sent[2].future, 1)]


def test_a_batch_is_sent_when_full_and_flush_sends_only_what_waits() -> None:
    """A full batch goes at once; flush sends the rest, and nothing when nothing waits."""
    producer = RecordingProducer()
    sender = Sender(producer, 2)
    sender.flush()
    assert producer.sent == []
    for n in range(4):
        sender.add(*event(n))
    assert len(producer.sent) == 2
    sender.flush()
    sender.flush()
    assert len(producer.sent) == 2
    sender.add(*event(4))
    assert len(producer.sent) == 2
    sender.flush()
    assert [len(json.loads(s.value)) for s in producer.sent] == [2, 2, 1]


def test_a_batch_never_passes_max_batch_bytes() -> None:
    """Large events split a batch before it would pass MAX_BATCH_BYTES; none is lost."""
    events = [event(n, padding=MAX_BATCH_BYTES // 3) for n in range(7)]
    producer, sender = sent_through(100, events)
    assert [len(json.loads(s.value)) for s in producer.sent] == [2, 2, 2, 1]
    assert all(len(s.value) <= MAX_BATCH_BYTES for s in producer.sent)
    assert sum(count for _, count in sender.futures) == 7


def test_a_batch_may_fill_max_batch_bytes_exactly() -> None:
    """Two events that make a message of exactly MAX_BATCH_BYTES go together; one byte more splits them."""
    _, first = event(0)
    overhead = len(event(1)[1]) + len(first) + 3  # "[", "," and "]"
    exact = [event(0), event(1, padding=MAX_BATCH_BYTES - overhead)]
    producer, _ = sent_through(10, exact)
    assert [len(s.value) for s in producer.sent] == [MAX_BATCH_BYTES]
    over = [event(0), event(1, padding=MAX_BATCH_BYTES - overhead + 1)]
    producer, _ = sent_through(10, over)
    assert [len(json.loads(s.value)) for s in producer.sent] == [1, 1]


def test_an_event_larger_than_a_batch_goes_alone() -> None:
    """An event over MAX_BATCH_BYTES is sent alone (the broker then says whether it takes it)."""
    events = [event(0), event(1, padding=MAX_BATCH_BYTES), event(2)]
    producer, sender = sent_through(10, events)
    assert [[item["id"] for item in json.loads(s.value)] for s in producer.sent] == [["e-0"], ["e-1"], ["e-2"]]
    assert [count for _, count in sender.futures] == [1, 1, 1]
