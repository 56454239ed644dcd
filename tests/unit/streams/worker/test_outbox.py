"""The outbox: items for other partitions, framed into few lanes messages, read back whole."""

from __future__ import annotations

import json

import pytest

from schemas.exceptions import WorkerError
from streams.worker.outbox import (
    FLUSH_SECONDS,
    MAX_BATCH_BYTES,
    MAX_BATCH_ITEMS,
    LaneItem,
    Outbox,
    decode_batch,
    encode_batch,
)


def _event(n: int, size: int = 40) -> LaneItem:
    body = json.dumps({"id": str(n), "pad": "x" * size}).encode()
    return LaneItem("event", "events-1", ("duplicate_collection",), 1.5 + n, None, body)


def test_a_batch_reads_back_as_the_items_in_their_order() -> None:
    """Events (with their position in aid.events.v1), ticks and idle marks survive the
    framing byte for byte, in order."""
    items = [_event(1)._replace(offset=41), LaneItem("tick", "events-2", (), 9.0, 1341100800.0), _event(2, 0),
             LaneItem("idle", "events-3"), LaneItem("event", "events-0", (), None, None, "é".encode(), 0, 7)]
    assert decode_batch(encode_batch(items)) == items


def _framed(rows: object, bodies: bytes) -> bytes:
    """A lanes message with the header `rows` as given."""
    header = json.dumps(rows).encode()
    return b"AIDLANES1" + len(header).to_bytes(4, "big") + header + bodies


def test_a_message_of_an_older_worker_reads_without_positions() -> None:
    """Rows of 6 fields (before the offset and batch index were carried) read with both None."""
    value = _framed([["event", "events-1", ["transit_loss"], 1.5, None, 2], ["tick", "events-2", [], None, 9.0, 0]],
                    b"{}")
    assert decode_batch(value) == [LaneItem("event", "events-1", ("transit_loss",), 1.5, None, b"{}"),
                                   LaneItem("tick", "events-2", (), None, 9.0)]


@pytest.mark.parametrize("value", [b"", b'{"kind": "event"}', b"AIDLANES1\x00\x00\x00\x05[[1]]",
                                   encode_batch([_event(1)])[:-3], encode_batch([_event(1)]) + b"x",
                                   _framed([["idle", "events-1", [], None, None, 0],
                                            ["idle", "events-1", [], None, None, 0, None]], b""),
                                   _framed({"idle": 1}, b"")])
def test_anything_else_on_the_lanes_is_a_worker_error(value: bytes) -> None:
    """A message that is not a whole lanes batch of this version is refused, never half read."""
    with pytest.raises(WorkerError):
        decode_batch(value)


def test_the_outbox_sends_one_message_per_partition_in_order() -> None:
    """Items queued for a partition leave as one message, oldest first; nothing is left after."""
    outbox = Outbox()
    for n in range(10):
        assert outbox.add(n % 3, _event(n)) is False
    sent, _ = outbox.take()
    assert sorted(p for p, _ in sent) == [0, 1, 2] and len(outbox) == 0 and outbox.take() == ([], [])
    by_partition = {p: [item.stamp for item in decode_batch(value)] for p, value in sent}
    assert by_partition[1] == [2.5, 5.5, 8.5]


def test_a_full_batch_is_sealed_and_no_message_grows_past_the_limit() -> None:
    """Past MAX_BATCH_BYTES or MAX_BATCH_ITEMS a batch is sealed and the outbox says it is full."""
    outbox = Outbox()
    big = MAX_BATCH_BYTES // 3
    assert not outbox.add(0, _event(1, big)) and not outbox.add(0, _event(2, big))
    assert outbox.add(0, _event(3, big)) and outbox.full  # a third would pass the limit: the first two go
    sent, _ = outbox.take()
    assert [len(decode_batch(value)) for _, value in sent] == [2, 1]
    assert all(len(value) <= MAX_BATCH_BYTES + 1024 for _, value in sent)
    for n in range(MAX_BATCH_ITEMS):
        outbox.add(4, LaneItem("tick", "events-4", (), None, float(n)))
    assert outbox.full and [len(decode_batch(v)) for _, v in outbox.take()[0]] == [MAX_BATCH_ITEMS]


def test_the_outbox_is_due_at_once_when_caught_up_and_after_a_while_otherwise() -> None:
    """While a backlog is read, items wait `FLUSH_SECONDS` for fuller batches; once nothing
    more is left to read, they go at the next look. An empty outbox is not due early."""
    now = [100.0]
    outbox = Outbox(clock=lambda: now[0])
    assert not outbox.due(lambda: True)  # nothing waits
    outbox.add(1, _event(1))
    assert outbox.due(lambda: True)
    assert not outbox.due(lambda: False)
    now[0] += FLUSH_SECONDS - 0.001
    assert not outbox.due(lambda: False)
    now[0] += 0.002
    assert outbox.due(lambda: False)
    outbox.take()
    outbox.add(2, _event(2))
    assert not outbox.due(lambda: False)  # the wait starts again at each flush
    now[0] += FLUSH_SECONDS + 0.001
    assert outbox.due(lambda: False)
