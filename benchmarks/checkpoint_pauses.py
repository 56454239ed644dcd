"""How long the detection process stops at each checkpoint, without a broker.

    python benchmarks/checkpoint_pauses.py [--mix default|convoys-and-camps] [--paced 20000]

The worker's detection process applies lanes messages and, between them, checkpoints: it
collects the rows changed since the last one, then sweeps within a budget
(`streams.worker.detection_process.checkpoint`). While it does, no alert is made, so the
longest of these pauses bounds what the paced phases of `stream_speed.py` can reach; on a
shared machine with a broker beside it they are 2 to 3 times longer and hard to tell from
noise. Here the same code runs in one process on the stream of `stream_speed.py` (one
source partition, every lanes message ending with a tick of all six): the whole stream as a
backlog (a lanes message per partition every 300 events, a whole checkpoint every 6,000),
then the next quarter's first `--paced` events as the worker reads them at 500 a second (a
lanes message per partition every 25 events, a checkpoint with the worker's budget every 250).
Prints the pauses of the paced part, the slowest sweep steps and collections, and the
garbage collections over 20 ms. Nothing is asserted: the figures are read, not tested.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stream_data import DEFAULT_SHIPMENTS, make_stream, next_quarter

from agents.monitor import Monitor
from schemas.decode import Decoder
from schemas.exceptions import InvalidEventError
from streams.bootstrap import tune_garbage_collector
from streams.settings import KafkaSettings, Settings
from streams.worker import detection_process
from streams.worker.detection import SWEEP_SECONDS
from streams.worker.lanes import route
from streams.worker.monitors import Monitors
from streams.worker.outbox import LaneItem, encode_batch

PARTITIONS = 6
Item = tuple[int, float, LaneItem]  # lanes partition, event time, item


def lane_items(values: list[bytes]) -> list[Item]:
    """The lanes items the router makes of each event (one source partition for all)."""
    decode, items = Decoder(lambda raw: "tok_" + raw), []
    for value in values:
        try:
            event = decode(value)
        except InvalidEventError:
            continue
        for partition, only, copy in route(event, PARTITIONS):
            body = copy.model_dump_json().encode()
            items.append((partition, event.at, LaneItem("event", "events-0", tuple(sorted(only)), 1.0, None, body)))
    return items


class Process:
    """A detection process's `Monitors`, fed as `detect` feeds it; what it spent, recorded."""

    def __init__(self) -> None:
        self.monitors = Monitors(Settings(kafka=KafkaSettings(partitions=PARTITIONS)), None, {})
        self.offsets = [0] * PARTITIONS
        self.collections: list[float] = []
        self.steps: list[tuple[float, str]] = []

    def send(self, items: list[Item]) -> None:
        """A lanes message per partition, each with a tick of every source (as the heartbeat)."""
        t = max(at for _, at, _ in items)
        by_partition: dict[int, list[LaneItem]] = {p: [] for p in range(PARTITIONS)}
        for partition, _, item in items:
            by_partition[partition].append(item)
        for partition, lane in by_partition.items():
            lane += [LaneItem("tick", f"events-{q}", (), None, t) for q in range(PARTITIONS)]
            detection_process.apply(self.monitors, partition, self.offsets[partition], encode_batch(lane))
            self.offsets[partition] += 1

    def checkpoint(self, budget: float | None) -> float:
        started = time.perf_counter()
        _, sweep = detection_process.checkpoint(self.monitors, budget)
        sweep()  # the process sweeps once the rows are sent: events wait for both
        return time.perf_counter() - started

    @contextmanager
    def watched(self) -> Iterator[None]:
        """Time each sweep step and each collection of changed rows from now on."""
        step, collect = Monitor.sweep_step, Monitors.checkpoint

        def timed_step(monitor: Monitor) -> bool:
            code = getattr(monitor._sweeping[0], "gi_code", None) if monitor._sweeping else None
            started = time.perf_counter()
            done = step(monitor)
            self.steps.append((time.perf_counter() - started, code.co_qualname if code else "the next sweep begun"))
            return done

        def timed_collect(monitors: Monitors) -> Any:
            started = time.perf_counter()
            rows = collect(monitors)
            self.collections.append(time.perf_counter() - started)
            return rows

        Monitor.sweep_step, Monitors.checkpoint = timed_step, timed_collect  # type: ignore[method-assign]
        try:
            yield
        finally:
            Monitor.sweep_step, Monitors.checkpoint = step, collect  # type: ignore[method-assign]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mix", choices=list(DEFAULT_SHIPMENTS), default="default")
    parser.add_argument("--paced", type=int, default=20_000, help="events of the next quarter read as paced")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        stream = make_stream(args.mix, DEFAULT_SHIPMENTS[args.mix], Path(work))
    [paced] = next_quarter(stream, [args.paced])
    backlog, live = lane_items([m.value for m in stream.messages]), lane_items([m.value for m in paced])
    print(f"{stream.describe()}; then {len(paced):,} events of the next quarter", flush=True)

    tune_garbage_collector()  # as the detection process does
    process, pauses = Process(), []
    started = time.perf_counter()
    for index, start in enumerate(range(0, len(backlog), 300)):
        process.send(backlog[start:start + 300])
        if index % 20 == 19:
            process.checkpoint(None)
    process.checkpoint(None)
    process.checkpoint(None)  # the worker's quiet checkpoint after a backlog
    print(f"backlog: {len(backlog):,} lanes items in {time.perf_counter() - started:.1f} s", flush=True)

    collected: list[tuple[int, float]] = []

    def on_collect(phase: str, info: dict[str, int], begun: list[float] = [0.0]) -> None:  # noqa: B006
        if phase == "start":
            begun[0] = time.perf_counter()
        else:
            collected.append((info["generation"], time.perf_counter() - begun[0]))

    gc.callbacks.append(on_collect)
    with process.watched():
        for start in range(0, len(live), 250):  # half a second at 500 events/s
            half_second = live[start:start + 250]
            for flush in range(0, len(half_second), 25):
                process.send(half_second[flush:flush + 25])
            pauses.append(process.checkpoint(SWEEP_SECONDS))
    gc.callbacks.remove(on_collect)

    pauses.sort()
    at = lambda share: pauses[min(len(pauses) - 1, int(share * len(pauses)))]  # noqa: E731
    print(f"paced checkpoints: {len(pauses)}, pause p50 {ms(at(0.5))} ms, p90 {ms(at(0.9))} ms, "
          f"p99 {ms(at(0.99))} ms, max {ms(pauses[-1])} ms, {sum(pauses):.2f} s in all")
    steps = sorted(process.steps, reverse=True)[:5]
    print("slowest sweep steps (ms):", ", ".join(f"{ms(took)} {kind}" for took, kind in steps))
    print("slowest collections of changed rows (ms):", ", ".join(ms(t) for t in sorted(process.collections)[-5:][::-1]))
    slow = [f"gen {generation} {ms(took)} ms" for generation, took in collected if took > 0.02]
    print("garbage collections over 20 ms:", ", ".join(slow) or "none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
