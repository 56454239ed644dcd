"""The changelog writer keeps what it could not deliver for the next checkpoint."""

from __future__ import annotations

import asyncio
import socket

import pytest

from streams.worker.changelog import ChangelogWriter


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens there once the socket is closed


def test_rows_a_write_could_not_deliver_stay_pending_and_merge_with_the_next() -> None:
    """No broker: the write raises, and its rows (the latest value per key) wait for the next write."""
    writer = ChangelogWriter(f"kafka://127.0.0.1:{_closed_port()}", "app-state-changelog")

    async def attempt(rows: dict[int, dict[bytes, bytes | None]]) -> None:
        with pytest.raises(Exception):  # noqa: B017 - the client's own connection error
            await writer.write(rows)

    asyncio.run(attempt({0: {b"0|seen|a": b"1", b"0|seen|b": b"1"}}))
    assert writer.pending == 2
    asyncio.run(attempt({0: {b"0|seen|b": None}, 3: {b"3|sites|x": b"2"}}))
    assert writer.pending == 3
    asyncio.run(writer.stop())
