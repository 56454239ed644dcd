"""Stores and names for tests of the sequences over_distribution keeps (`agents.chunks`)."""

from __future__ import annotations

from typing import Any


class Names:
    """Node names, each given once."""

    def __init__(self) -> None:
        self.given = 0

    def __call__(self) -> str:
        self.given += 1
        return f"node-{self.given}"


class WrittenOnce(dict[str, Any]):
    """A store that fails if a name is written twice (deleting it is fine), and keeps the
    names written."""

    def __init__(self) -> None:
        super().__init__()
        self.written: set[str] = set()

    def __setitem__(self, key: str, value: Any) -> None:
        assert key not in self.written, f"{key!r} written over"
        self.written.add(key)
        super().__setitem__(key, value)
