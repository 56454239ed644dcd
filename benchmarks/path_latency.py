"""The path's own latency: a bare aiokafka consumer of aid.events.v1 during a paced phase.

    python benchmarks/path_latency.py BROKER OUT_FILE

`stream_latency.py` runs it as a child process beside the worker while it publishes a
paced slice. It reads every partition of aid.events.v1 from its end (no group), writes
`OUT_FILE.ready` once it is positioned, then one line per message, "Kafka timestamp (ms)
arrival (ms)", until SIGTERM. From the same Kafka timestamps as the worker's event-to-alert
latency, it measures what the publisher, the broker and a consumer cost alone on this
machine at that moment: the floor under the worker's figure.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from stream_kafka import EVENTS, PARTITIONS


async def watch(broker: str, out: Path) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    consumer = AIOKafkaConsumer(bootstrap_servers=broker, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(EVENTS, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:
            await consumer.position(tp)
        out.with_name(out.name + ".ready").write_text("ready")
        with out.open("w") as lines:
            while not stopping.is_set():
                batches = await consumer.getmany(timeout_ms=200)
                arrived = time.time() * 1000
                for records in batches.values():
                    lines.writelines(f"{record.timestamp} {arrived:.1f}\n" for record in records)
    finally:
        await consumer.stop()


def read(out: Path, first_ms: int, last_ms: int) -> list[float]:
    """The delays (ms) of the messages stamped from `first_ms` to `last_ms`, as written."""
    delays = []
    for line in out.read_text().splitlines():
        stamp, arrived = line.split()
        if first_ms <= int(stamp) <= last_ms:
            delays.append(float(arrived) - int(stamp))
    return delays


if __name__ == "__main__":
    asyncio.run(watch(sys.argv[1], Path(sys.argv[2])))
