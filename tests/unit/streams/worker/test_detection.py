"""The detection process: lanes messages applied in a forked child, checkpoints handed back
as rows, a partition handed over with its rows, failures answered, a dead child noticed;
and the lanes messages that wait for a checkpoint."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from schemas.events import Event
from schemas.exceptions import DetectionGoneError, DetectionProcessError
from streams.settings import Settings
from streams.worker.detection import (
    CHECKPOINT_ITEMS,
    CHECKPOINT_SECONDS,
    PROMPT_SECONDS,
    QUIET_SECONDS,
    Detection,
    Unacknowledged,
)
from streams.worker.lanes import route
from streams.worker.outbox import LaneItem, encode_batch
from tests import support as s


def _message(*events: Event) -> bytes:
    """A lanes message of `events` for a single partition."""
    items = []
    for event in events:
        [(_, only, copy)] = route(event, 1)
        items.append(LaneItem("event", "events-0", tuple(sorted(only)), 1.0, None, copy.model_dump_json().encode(), 7))
    return encode_batch(items)


def _short_delivery() -> tuple[Event, Event]:
    return s.dispatch("SHP-1", time=s.at()), s.receipt("SHP-1", items=[("maize", "kg", 500)], time=s.at(hours=3))


def _no_rows(partition: int) -> dict[bytes, bytes]:
    return {}


def test_a_message_is_applied_in_the_child_and_its_checkpoint_comes_back_as_rows() -> None:
    """The child finds the transit loss, counts it raised once, and hands back the state; a
    second child given those rows sends the alert again on taking the partition over and
    does not apply the dispatch twice. A checkpoint sweeps once taken: the next holds only
    what the sweep did."""
    dispatch, receipt = _short_delivery()

    async def run() -> None:
        first = Detection(Settings(), None)
        try:
            outcome = await first.apply(0, 0, _message(dispatch, receipt), _no_rows, 1)
            assert outcome.items == 2 and outcome.raised == [("transit_loss", "high")]
            [(alert_id, value, stamp)] = outcome.changed
            assert b'"transit_loss"' in value and stamp == 1.0
            rows = await first.checkpoint()
            swept = await first.checkpoint()  # the sweep after the first: how far it went
            assert list(rows) == [0] and set(swept.get(0, {})) <= {b"0|monitor|swept"}
            assert await first.checkpoint() == {}
        finally:
            await first.stop()
        assert first.exit_code() == 0
        kept = {key: value for key, value in rows[0].items() if value is not None}
        second = Detection(Settings(), None)
        try:
            outcome = await second.apply(0, 1, _message(dispatch), lambda partition: kept, 1)
            assert [again[0] for again in outcome.again] == [alert_id]
            assert outcome.changed == [] and outcome.raised == []
        finally:
            await second.stop()

    asyncio.run(run())


def test_a_failed_request_is_an_error_and_the_child_goes_on() -> None:
    """A request the child cannot serve is answered with its error; the next one works."""
    dispatch, _ = _short_delivery()

    async def run() -> None:
        detection = Detection(Settings(), None)
        try:
            with pytest.raises(DetectionProcessError, match="no request 'nonsense'"):
                await detection._ask(("nonsense",))
            outcome = await detection.apply(0, 0, _message(dispatch), _no_rows, 1)
            assert outcome.items == 1 and outcome.rejected == []
        finally:
            await detection.stop()

    asyncio.run(run())


def test_bytes_that_are_no_lanes_message_are_skipped() -> None:
    """Bytes that are not a lanes message give nothing and hold nothing."""

    async def run() -> None:
        detection = Detection(Settings(), None)
        try:
            outcome = await detection.apply(0, 0, b"not a lanes message", _no_rows, 1)
            assert (outcome.items, outcome.changed, outcome.rejected) == (0, [], [])
        finally:
            await detection.stop()

    asyncio.run(run())


def test_a_dead_child_is_noticed() -> None:
    """Once the child is killed, the next request raises DetectionGoneError with its exit status."""
    dispatch, _ = _short_delivery()

    async def run() -> None:
        detection = Detection(Settings(), None)
        try:
            await detection.apply(0, 0, _message(dispatch), _no_rows, 1)
            os.kill(detection.pid, signal.SIGKILL)
            with pytest.raises(DetectionGoneError, match="has ended"):
                await detection.checkpoint()
        finally:
            await detection.stop()
        assert detection.exit_code() == -signal.SIGKILL

    asyncio.run(run())


def test_the_child_ignores_the_signals_of_a_ctrl_c_and_ends_with_the_pipe() -> None:
    """SIGINT and SIGTERM (a Ctrl-C reaches the process group) leave the child serving;
    closing the pipe ends it with status 0."""
    dispatch, _ = _short_delivery()

    async def run() -> None:
        detection = Detection(Settings(), None)
        try:
            await detection.apply(0, 0, _message(dispatch), _no_rows, 1)
            os.kill(detection.pid, signal.SIGINT)
            os.kill(detection.pid, signal.SIGTERM)
            await asyncio.sleep(0.2)
            assert list(await detection.checkpoint()) == [0]
        finally:
            await detection.stop()
        assert detection.exit_code() == 0

    asyncio.run(run())


class _Event:
    def __init__(self, name: str) -> None:
        self.name = name


def test_messages_wait_for_a_checkpoint_that_is_due_after_enough_items() -> None:
    """A checkpoint is due at once when CHECKPOINT_ITEMS items wait; events given back go
    first with the next one."""
    unacknowledged = Unacknowledged(clock=lambda: 0.0)
    first, second, third = _Event("1"), _Event("2"), _Event("3")
    unacknowledged.hold(first, CHECKPOINT_ITEMS - 2)
    unacknowledged.hold(second, 1)
    assert not unacknowledged.due()
    unacknowledged.hold(third, 1)
    assert unacknowledged.due()
    taken = unacknowledged.take()
    assert taken == [first, second, third] and not unacknowledged.due()
    later = _Event("4")
    unacknowledged.hold(later, 1)
    unacknowledged.give_back(taken)
    assert unacknowledged.take() == [first, second, third, later]


def test_a_checkpoint_is_due_every_few_seconds_while_busy_and_soon_once_quiet() -> None:
    """Messages arriving faster than QUIET_SECONDS apart wait CHECKPOINT_SECONDS; once they
    stop, a checkpoint is due QUIET_SECONDS after the last; with nothing held, none is."""
    now = [0.0]
    unacknowledged = Unacknowledged(clock=lambda: now[0])
    assert not unacknowledged.due()
    step = QUIET_SECONDS / 2
    while now[0] + step < CHECKPOINT_SECONDS:
        unacknowledged.hold(_Event("busy"), 1)
        now[0] += step
        assert not unacknowledged.due()
    now[0] = CHECKPOINT_SECONDS
    assert unacknowledged.due()
    unacknowledged.take()
    unacknowledged.hold(_Event("last"), 1)
    now[0] += QUIET_SECONDS - 0.01
    assert not unacknowledged.due()
    now[0] += 0.02
    assert unacknowledged.due()


def test_a_checkpoint_is_due_sooner_while_no_backlog_is_read() -> None:
    """Messages read as they come (no backlog) are checkpointed every PROMPT_SECONDS, in
    smaller checkpoints; a backlog still waits CHECKPOINT_SECONDS."""
    now = [0.0]
    unacknowledged = Unacknowledged(clock=lambda: now[0])
    step = QUIET_SECONDS / 2
    while now[0] + step < PROMPT_SECONDS:
        unacknowledged.hold(_Event("steady"), 1)
        now[0] += step
        assert not unacknowledged.due(backlogged=False)
    now[0] = PROMPT_SECONDS
    unacknowledged.hold(_Event("steady"), 1)
    assert unacknowledged.due(backlogged=False)
    assert not unacknowledged.due(backlogged=True)
