"""The framework's floor: a Faust app whose one agent only `json.loads` each message of aid.events.v1.

    python benchmarks/faust_floor.py BROKER APP_ID DATA_DIR FIRST_FILE [TOPIC]

`stream_speed.py` runs it as a child process with an app id (consumer group) of its own,
on the same topic as the worker, with the same Faust settings that matter for speed (the
in-memory store, earliest offsets, acknowledgement per event, Faust's default commit
interval). It writes the wall-clock time of its first event to FIRST_FILE; the parent
measures from there to the group's committed lag of 0, as for the worker. TOPIC (aid.events.v1
by default) is another topic to read: the floor paced at a latency phase's rate reads one of
its own (`floor_paced.py`).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import faust

EVENTS = "aid.events.v1"


def build(broker: str, app_id: str, data_dir: str, first_file: Path, source: str = EVENTS) -> faust.App:
    app = faust.App(app_id, broker=broker, store="memory://", datadir=data_dir, topic_replication_factor=1,
                    consumer_auto_offset_reset="earliest", web_enabled=False)
    topic = app.topic(source, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")

    @app.agent(topic, name="decode")
    async def decode(stream: Any) -> None:
        first = True
        async for value in stream:
            if first:
                first_file.write_text(repr(time.time()))
                first = False
            json.loads(value)

    return app


def main() -> None:
    broker, app_id, data_dir, first_file = sys.argv[1:5]
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    app = build(broker, app_id, data_dir, Path(first_file), *sys.argv[5:6])
    faust.Worker(app, loglevel="warning").execute_from_commandline()


if __name__ == "__main__":
    main()
