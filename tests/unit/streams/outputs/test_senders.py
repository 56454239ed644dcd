"""`ApiSenders.keep_rejects`: what POST /events refused goes to aid.rejects.v1 whole, a
binary-mode event with its headers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from streams.api.ingest import Rejected
from streams.outputs.senders import ApiSenders


class Topic:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, value: bytes) -> None:
        self.sent.append(json.loads(value))


def test_rejects_are_kept_with_the_headers_of_binary_mode_events() -> None:
    """A structured reject keeps its raw bytes; a binary-mode one also its `ce-` and Content-Type headers."""
    rejects = Topic()
    senders = ApiSenders(events=None, rejects=rejects, status=None)  # type: ignore[arg-type]
    binary = Rejected(0, "missing_field", "type: field required", b"{}", "ev-1",
                      (("ce-id", b"ev-1"), ("Content-Type", b"application/json")))
    asyncio.run(senders.keep_rejects([Rejected(2, "not_json", "bad", b"{x"), binary], "wfp"))
    assert [(r["source"], r["line"], r["raw"], r.get("headers")) for r in rejects.sent] == [
        ("http:wfp", 2, "{x", None),
        ("http:wfp", 0, "{}", {"ce-id": "ev-1", "Content-Type": "application/json"}),
    ]
