"""The events of the streaming benchmark: the synthetic stream as Kafka messages, its
batches, the slices paced for latency, and `aidmon replay` on the same events.

Every message is what `aidmon publish` would send: a line that decodes against the
contract, raw beneficiary identifiers replaced by their tokens, keyed by its subject
(malformed lines are dropped, duplicates kept).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
AIDMON = Path(sys.executable).with_name("aidmon")
SECRET = "stream-benchmark-secret-0123456789"  # noqa: S105 - a benchmark's fixture, not a credential
DEFAULT_SHIPMENTS = {"default": 1620, "convoys-and-camps": 2200}  # ~140k lines each
LINES_AT = {  # (shipments, lines) at seed 2012: a mix's camp rounds fill up before its convoys do
    "default": ((40, 4044), (200, 17227), (400, 34692), (800, 70220), (1620, 140471), (2200, 190388)),
    "convoys-and-camps": ((40, 4296), (200, 20399), (400, 39373), (800, 76485), (1200, 109834), (1620, 122483),
                          (2200, 139321)),
}
if str(ROOT) not in sys.path:  # the project's packages, when not installed in this python
    sys.path.insert(0, str(ROOT))

from schemas.envelope import BATCH_CONTENT_TYPE as _BATCH_TYPE  # noqa: E402 - after the path

BATCH_CONTENT_TYPE = _BATCH_TYPE.encode("ascii")


@dataclass(frozen=True)
class Message:
    key: bytes
    value: bytes
    event_id: str
    type: str


@dataclass(frozen=True)
class Stream:
    mix: str
    shipments: int
    lines: int  # lines the generator wrote, malformed ones included
    messages: list[Message]
    events_file: Path
    sanctions_file: Path
    source: list[str]  # the generator's lines, malformed ones included

    def describe(self) -> str:
        types = Counter(m.type for m in self.messages)
        total = len(self.messages)
        shares = ", ".join(f"{100 * types[t] / total:.1f} % {label}" for t, label in
                           (("distribution.recorded", "distributions"), ("convoy.position", "convoy positions")))
        return (f"{total:,} events ({self.lines:,} lines less {self.lines - total} malformed; {shares}), "
                f"mix {self.mix}, seed 2012, {self.shipments} shipments")


def aidmon_env(**settings: str) -> dict[str, str]:
    """The environment of an aidmon child: this one without AIDMON_* variables, then `settings`
    as AIDMON_<KEY> (the pseudonymisation secret always set)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIDMON_")}
    env["AIDMON_PSEUDONYMISATION__SECRET"] = SECRET
    env.update({f"AIDMON_{key.upper()}": value for key, value in settings.items()})
    return env


def shipments_for(mix: str, events: int | None, shipments: int | None) -> int:
    if shipments is not None:
        return shipments
    if events is None:
        return DEFAULT_SHIPMENTS[mix]
    points = LINES_AT[mix]
    (s0, l0), (s1, l1) = next(((a, b) for a, b in pairwise(points) if b[1] >= events), points[-2:])
    return max(20, round(s0 + (events - l0) * (s1 - s0) / (l1 - l0)))  # linear between (or past) the points


def as_messages(lines: list[str]) -> list[Message]:
    """The lines that decode, tokenised, as messages keyed by subject."""
    from schemas.decode import Decoder
    from schemas.exceptions import InvalidEventError
    from schemas.privacy import Pseudonymiser, tokenised

    pseudonymiser = Pseudonymiser(SECRET.encode())
    decode = Decoder(pseudonymiser)
    messages = []
    for line in lines:
        raw = line.encode()
        try:
            event = decode(raw)
        except InvalidEventError:
            continue
        messages.append(Message(event.subject.encode(), tokenised(raw, pseudonymiser), event.id, event.type))
    return messages


def make_stream(mix: str, shipments: int, work: Path) -> Stream:
    """Generate the stream (seed 2012), write it and its sanctions list for replay, and
    turn it into messages."""
    from streams.dev import synthetic

    data = synthetic.generate(seed=2012, shipments=shipments, mix=mix)
    events_file, sanctions_file = work / "events.jsonl", work / "sanctions.xml"
    synthetic.write(events_file, data)
    sanctions_file.write_text(synthetic.sanctions_xml(), encoding="utf-8")
    return Stream(mix, shipments, len(data.lines), as_messages(data.lines), events_file, sanctions_file, data.lines)


_TIME = re.compile(r'"2012-(\d\d-\d\dT\d\d:\d\d:\d\dZ)"')


def next_quarter(stream: Stream, counts: list[int]) -> list[list[Message]]:
    """Fresh events for paced phases, in consecutive pieces of `counts` events: the quarter
    after the stream's (`streams.dev.synthetic.season.copy_quarter`: the same operation
    `quarter_days` later, every id its own), so the event-time clock goes on from where the
    stream left it, as it does live, and the findings are new alerts."""
    from streams.dev.synthetic.season import copy_quarter, quarter_days

    messages = as_messages(list(copy_quarter(stream.source, 1, quarter_days(stream.source))))
    if sum(counts) > len(messages):
        raise SystemExit(f"the paced phases need {sum(counts):,} events; the next quarter has {len(messages):,}")
    starts = [sum(counts[:i]) for i in range(len(counts))]
    return [messages[start:start + count] for start, count in zip(starts, counts, strict=True)]


def make_slice(mix: str, count: int, seed: int, mark: str) -> list[Message]:
    """`count` fresh events for a paced phase: another seed's stream of the same mix, moved
    `seed - 2012` years later, its shipments, incidents and rounds renamed with `mark`, so its
    findings are new alerts and nothing in it repeats an earlier event (`--paced-slice
    year-later`: the worker forgets the whole stream it caught up on at once)."""
    from streams.dev import synthetic

    year = str(seed)
    shipments = round(1.1 * shipments_for(mix, count, None))
    lines = synthetic.generate(seed=seed, shipments=shipments, mix=mix).lines
    moved = [_TIME.sub(rf'"{year}-\1"', line).replace('"SHP-', f'"SHP-{mark}').replace('"INC-', f'"INC-{mark}')
             .replace('"R2012-', f'"R{year}-') for line in lines]
    return as_messages(moved)[:count]


def as_batches(messages: list[Message], size: int) -> list[Message]:
    """CloudEvents JSON batches of `size` consecutive events, keyed by their first subject."""
    batches = []
    for start in range(0, len(messages), size):
        part = messages[start:start + size]
        value = b"[" + b",".join(m.value for m in part) + b"]"
        batches.append(Message(part[0].key, value, f"batch-{start // size}", f"batch of {len(part)}"))
    return batches


def replay(stream: Stream, out: Path) -> list[dict[str, Any]]:
    """`aidmon replay` on the stream's file, same secret and settings as the worker: the last
    version of each alert."""
    alerts = out / "replay-alerts.jsonl"
    subprocess.run(
        [str(AIDMON), "replay", str(stream.events_file), "--sanctions", str(stream.sanctions_file),
         "--alerts", str(alerts), "--rejects", str(out / "replay-rejects.jsonl")],
        capture_output=True, check=True, env=aidmon_env(), cwd=ROOT, timeout=900,
    )
    return [json.loads(line) for line in alerts.read_text(encoding="utf-8").splitlines()]
