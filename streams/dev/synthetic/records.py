"""The calendar, event sources, the event record and the seeded builder that emits events."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

START = datetime(2012, 7, 1, tzinfo=UTC)
DAYS, ROUND_DAYS = 92, 16  # 1 July .. 30 September, rounds R2012-01 .. R2012-06
WFP, OCHA = "/agencies/wfp/mli", "/agencies/ocha/mli"


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def minutes_between(a: float, b: float, rng: random.Random) -> timedelta:
    return timedelta(minutes=rng.uniform(a, b))


@dataclass
class Ev:
    """One event before serialisation; `time` is a datetime, `data` the contract body."""

    time: datetime
    type: str
    subject: str
    data: dict[str, Any]
    id: str
    source: str

    def line(self, **override: Any) -> str:
        envelope = {"specversion": "1.0", "id": self.id, "source": self.source, "type": self.type,
                    "time": iso(self.time), "subject": self.subject,
                    "datacontenttype": "application/json", "data": self.data}
        return json.dumps({**envelope, **override}, ensure_ascii=False, separators=(",", ":"))


class Builder:
    """The seeded random stream and the events emitted so far."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - a seeded simulation, not secrets
        self.events: list[Ev] = []

    def emit(self, type_: str, time: datetime, subject: str, data: dict[str, Any], source: str = WFP) -> Ev:
        ev = Ev(time.replace(microsecond=0), type_, subject, data,
                str(uuid.UUID(int=self.rng.getrandbits(128), version=4)), source)
        self.events.append(ev)
        return ev
