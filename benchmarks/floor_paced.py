"""The Faust floor at a paced phase's rate: the cores the minimal Faust agent
(`faust_floor.py`) uses to read the same events at the same rate, beside the worker's.

Caught up, the worker's rate is compared with the floor's. Paced, the worker keeps up
and what it costs is the CPU each event takes, most of it per message (a fetch, a hand-
over from Faust's consumer thread, an acknowledgement), not per event's content; so each
paced phase is followed, when the baselines run, by the floor reading the phase's events
at the phase's rate, on a topic of its own (`FLOOR_TOPIC` and the rate: the worker's input
stays what it published), and the line printed sets the worker's main process against it.
"""

from __future__ import annotations

from pathlib import Path

from cpu_share import CpuShare
from stream_data import Message
from stream_kafka import create_topic, publish_paced
from stream_procs import start_floor, wait_first_event, wait_lag_zero

FLOOR_TOPIC = "bench.floor.paced"
WARM_UP = 20  # messages published first, slowly, so the agent is reading when the clock starts
NAME = "Faust floor"


def floor_cores(bootstrap: str, work: Path, messages: list[Message], rate: float, broker: int | None,
                timeout: float) -> CpuShare:
    """The cores the floor, the broker and the publisher used while the floor read `messages`
    published at `rate` (after a warm-up) until its group's lag was 0."""
    topic = f"{FLOOR_TOPIC}.{rate:.0f}"
    create_topic(bootstrap, topic)
    floor = start_floor(bootstrap, f"bench-floor-{rate:.0f}", work, topic=topic)
    try:
        publish_paced(bootstrap, messages[:WARM_UP], WARM_UP, topic=topic)
        wait_first_event(floor, timeout)
        wait_lag_zero(bootstrap, floor, timeout)
        cpu = CpuShare(floor.process.pid, broker, name=NAME, children=None)
        cpu.start()
        publish_paced(bootstrap, messages[WARM_UP:], rate, topic=topic)
        wait_lag_zero(bootstrap, floor, timeout)
        cpu.stop()
    finally:
        floor.stop()
    return cpu


def render(cpu: CpuShare, rate: float, worker_cores: float) -> str:
    """The floor's line, and the worker's main process against it."""
    line = cpu.render().replace("over the phase", f"by the Faust floor reading the same events at {rate:,.0f}/s")
    floor = cpu.cores(NAME)
    if floor and worker_cores:
        line += f"\n    the worker's main process used {worker_cores / floor:.2f} x the floor's cores at this rate"
    return line
