"""Checkpoints taken are put in the table and written in the background, in order, and the
lanes messages each holds are acknowledged only once it is written."""

from __future__ import annotations

import asyncio
import logging

import pytest

from streams.worker.changelog import Rows
from streams.worker.checkpoints import MAX_WAITING, Checkpoints


class _Changelog:
    """Writes when told to: each write waits for `release`, and fails while `failing`."""

    def __init__(self) -> None:
        self.written: list[Rows] = []
        self.pending: list[Rows] = []
        self.release = asyncio.Event()
        self.failing = False

    async def write(self, rows: Rows) -> None:
        if rows:
            self.pending.append(rows)
        await self.release.wait()
        if self.failing:
            raise ConnectionError("the broker went away")
        self.written += self.pending
        self.pending = []


def test_detection_goes_on_while_a_checkpoint_is_written_and_acknowledges_after() -> None:
    """`add` returns at once; the messages of each checkpoint are acknowledged once it, and
    every one taken before it, is written, in the order they were taken."""
    async def run() -> None:
        changelog, acknowledged, table = _Changelog(), [], {b"0|gone": b"0"}
        checkpoints = Checkpoints(changelog, acknowledged.append, table)  # type: ignore[arg-type]
        checkpoints.add({0: {b"0|a": b"1", b"0|gone": None}}, ["m1", "m2"])
        checkpoints.add({1: {b"1|b": b"2"}}, ["m3"])
        await asyncio.sleep(0)
        assert acknowledged == [] and checkpoints.waiting == 2 and changelog.written == []
        assert checkpoints.full == (MAX_WAITING <= 2)
        changelog.release.set()
        await checkpoints.settle()
        assert changelog.written == [{0: {b"0|a": b"1", b"0|gone": None}}, {1: {b"1|b": b"2"}}]
        assert acknowledged == [["m1", "m2"], ["m3"]] and checkpoints.waiting == 0
        assert table == {b"0|a": b"1", b"1|b": b"2"}

    asyncio.run(run())


def test_a_checkpoint_not_written_keeps_its_messages_until_a_write_succeeds() -> None:
    """The broker away: nothing is acknowledged, the rows are given to the writer once, and
    once it is back the next attempt writes them and acknowledges, in order."""
    async def run() -> None:
        changelog, acknowledged, table = _Changelog(), [], {}
        checkpoints = Checkpoints(changelog, acknowledged.append, table)  # type: ignore[arg-type]
        changelog.failing = True
        changelog.release.set()
        checkpoints.add({0: {b"0|a": b"1"}}, ["m1"])
        await checkpoints.settle()
        assert acknowledged == [] and checkpoints.waiting == 1 and changelog.pending == [{0: {b"0|a": b"1"}}]
        assert table == {b"0|a": b"1"}  # in the table at once: the detection process has it
        changelog.failing = False
        checkpoints.add({0: {b"0|a": b"2"}}, ["m2"])
        await checkpoints.settle()
        assert changelog.written == [{0: {b"0|a": b"1"}}, {0: {b"0|a": b"2"}}]
        assert acknowledged == [["m1"], ["m2"]]
        changelog.failing = True
        checkpoints.add({0: {b"0|a": b"3"}}, ["m3"])
        await checkpoints.settle()
        changelog.failing = False
        checkpoints.resume()  # the checkpoint task's turn, with nothing new taken
        await checkpoints.settle()
        assert acknowledged == [["m1"], ["m2"], ["m3"]] and changelog.written[-1] == {0: {b"0|a": b"3"}}

    asyncio.run(run())


def test_an_outage_costs_two_lines_and_resume_backs_off(caplog: pytest.LogCaptureFixture) -> None:
    """Failed writes in a row: the first is logged, the next tries by `resume` wait for a
    backoff (not one every call), and the write that succeeds says how many tries failed."""
    async def run() -> None:
        changelog, acknowledged = _Changelog(), []
        checkpoints = Checkpoints(changelog, acknowledged.append, {})  # type: ignore[arg-type]
        changelog.failing = True
        changelog.release.set()
        checkpoints.add({0: {b"0|a": b"1"}}, ["m1"])
        await checkpoints.settle()
        tries = 0
        original = changelog.write

        async def counted(rows: Rows) -> None:
            nonlocal tries
            tries += 1
            await original(rows)

        changelog.write = counted  # type: ignore[method-assign]
        for _ in range(20):  # the checkpoint task's turns, within the first backoff
            checkpoints.resume()
            await asyncio.sleep(0)
        assert tries == 0
        for _ in range(3):
            await checkpoints.settle()  # tries regardless of the backoff
        changelog.failing = False
        await checkpoints.settle()
        assert acknowledged == [["m1"]] and tries == 4

    with caplog.at_level(logging.DEBUG, logger="aidmon.worker"):
        asyncio.run(run())
    lines = [record.getMessage() for record in caplog.records if record.name == "aidmon.worker"]
    assert len(lines) == 2, lines
    assert lines[0].startswith("checkpoint not written to the changelog (ConnectionError")
    # five: two at the first settle (its write, then once more), one at each of the three after
    assert lines[1] == "checkpoints written to the changelog again, after 5 failed tries in 0 s"
