"""A lanes message the detection process fails on as a whole loses none of its events:
each goes to the rejects as `internal_error`, with its place in aid.events.v1."""

from __future__ import annotations

from streams.worker.detect import TRIGGER_HEADER, trigger_headers, unapplied
from streams.worker.outbox import LaneItem, encode_batch


def test_every_event_of_a_failed_message_is_kept_as_an_internal_error() -> None:
    value = encode_batch([
        LaneItem("event", "events-2", ("transit_loss",), 1.0, None, b'{"id": "a"}', 41, None),
        LaneItem("tick", "events-1", (), 2.0, 1341100800.0),
        LaneItem("event", "events-0", (), None, None, b'{"id": "b"}', 7, 3),
    ])
    kept = unapplied(value, "the detection process failed: KeyError: 'x'")
    assert [(r.partition, r.offset, r.body, r.batch_index, r.reason) for r in kept] == [
        (2, 41, b'{"id": "a"}', None, "internal_error"), (0, 7, b'{"id": "b"}', 3, "internal_error")]
    assert {r.detail for r in kept} == {"the detection process failed: KeyError: 'x'"}


def test_bytes_that_are_no_lanes_message_give_nothing_to_keep() -> None:
    assert unapplied(b"not a lanes message", "failed") == []


def test_an_alert_carries_the_kafka_timestamp_of_the_event_that_made_it() -> None:
    """The trigger header holds the stamp in whole milliseconds; an alert sent again has none."""
    assert trigger_headers(1764678000.1234) == [(TRIGGER_HEADER, b"1764678000123")]
    assert trigger_headers(None) is None
