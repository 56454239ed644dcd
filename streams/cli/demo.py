"""`aidmon demo`: the live path in one command, on the project's synthetic stream.

It starts a local Kafka broker (`streams.dev.local_broker`, free ports, data under
`--dir`), creates the topics, starts a worker as a process of its own (a new
pseudonymisation secret and monitor token, in `--dir`/aidmon.toml), then publishes the
scenario as `aidmon simulate` does, printing each alert as it is raised and a running
count. Ctrl-C (or SIGTERM, or `--seconds`) stops everything it started
(`streams.cli.demo_stack`). Without Java or Maven, or with `--offline`, it says so in one
line and replays the same scenario through `aidmon replay`'s code path instead, at the same
pace, printing the alerts the same way (it ends with the stream; the live demo keeps showing
alerts and serving the console until stopped).
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import signal
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from schemas.exceptions import AidmonError, BrokerError
from streams.cli.demo_alerts import AlertFollower, AlertPrinter, ReplayedAlerts, with_status
from streams.cli.simulate import add_scenario_arguments, pace_line, progress_line, scenario
from streams.dev.simulator import Simulation, Timed

if TYPE_CHECKING:  # imported by run_live: httpx and the broker's tools are not for every command
    from streams.cli.demo_stack import Addresses, DemoStack

DEMO_FAILED = 1


def add_demo_command(commands: Any) -> None:
    """Register `aidmon demo` on the `aidmon` parser."""
    demo = commands.add_parser("demo", help="a broker, a worker and the synthetic stream live: alerts as they come")
    add_scenario_arguments(demo)
    demo.add_argument("--dir", type=Path, default=Path("out") / "demo",
                      help="where the demo keeps its settings, broker data and worker log (default out/demo)")
    demo.add_argument("--offline", action="store_true", help="no Kafka: replay the scenario through the detectors")
    demo.add_argument("--broker-port", type=tcp_port, help="the broker's port (default: a free one)")
    demo.add_argument("--web-port", type=tcp_port, help="the API's port (default: 6066 if free, else a free one)")
    demo.set_defaults(run=run_demo)


def tcp_port(text: str) -> int:
    """An argparse type: a TCP port, 1-65535."""
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (1-65535)")
    return int(text)


def run_demo(args: argparse.Namespace) -> int:
    started = time.monotonic()
    deadline = None if args.seconds is None else started + args.seconds
    from streams.dev import synthetic

    if args.mix not in synthetic.MIXES:
        print(f"aidmon: error: unknown mix {args.mix!r}: use one of {', '.join(synthetic.MIXES)}", file=sys.stderr)
        return 2
    with stopped_by_signals():
        missing = None if args.offline else kafka_missing()
        if args.offline or missing:
            if missing:
                print(f"aidmon demo: no local Kafka broker ({missing}); replaying the same scenario offline instead")
            return run_offline(args, scenario(args), synthetic.sanctions_xml(), deadline)
        with ThreadPoolExecutor(1, thread_name_prefix="aidmon-demo-scenario") as pool:
            timed = pool.submit(scenario, args)  # written while the broker starts
            return run_live(args, timed, synthetic.sanctions_xml(), deadline)


def kafka_missing() -> str | None:
    """Why the local broker cannot run here (no Java, or no Maven and no cached jars), else None."""
    from streams.dev.local_broker.jars import broker_classpath, require_java

    try:
        require_java()
        broker_classpath()  # resolved by Maven once, then cached
    except BrokerError as exc:
        return str(exc).splitlines()[0].rstrip(":")
    return None


def run_live(args: argparse.Namespace, timed: Future[list[Timed]], sanctions: str, deadline: float | None) -> int:
    from streams.cli.demo_stack import DemoStack

    stack = DemoStack(args.dir, args.broker_port, args.web_port)
    follower: AlertFollower | None = None
    simulation = Simulation([], args.speed, args.rate)
    printer = AlertPrinter(sys.stdout, simulation)
    try:
        addresses = stack.prepare(sanctions)
        print(f"aidmon demo: starting a Kafka broker on {addresses.broker} (data in {stack.folder / 'broker'})")
        stack.start_broker()
        broker_up = time.monotonic()
        create_topics(stack)
        stack.start_worker(addresses.broker)
        stack.wait_ready(addresses.web)
        simulation = printer.simulation = Simulation(timed.result(), args.speed, args.rate)
        print_addresses(addresses, stack, simulation, time.monotonic() - broker_up)
        follower = AlertFollower(addresses.broker, printer)
        follower.start()
        simulation.seconds = None if deadline is None else max(0.0, deadline - time.monotonic())
        publish_live(simulation, printer, addresses.broker, stack)
        wait_until(deadline, printer)
    except KeyboardInterrupt:
        pass
    except AidmonError as exc:
        print(f"aidmon: error: {exc}", file=sys.stderr)
        return stop_all(stack, follower, printer, DEMO_FAILED)
    return stop_all(stack, follower, printer, 0)


def create_topics(stack: DemoStack) -> None:
    from streams.cli.checks import retried
    from streams.kafka.topics import create_topics
    from streams.settings import load_settings

    settings = load_settings(stack.config)
    retried(lambda: create_topics(settings.broker, settings.kafka))


def publish_live(simulation: Simulation, printer: AlertPrinter, broker: str, stack: DemoStack) -> None:
    """The scenario to aid.events.v1 at its pace, with `aidmon publish`'s producer (rejects counted, not shown)."""
    import io

    from streams.bootstrap import require_pseudonymiser
    from streams.kafka.producer import publish
    from streams.settings import load_settings

    pseudonymiser = require_pseudonymiser(load_settings(stack.config))
    publish(with_status(simulation.lines(), printer), broker, pseudonymiser, report=io.StringIO())


def print_addresses(addresses: Addresses, stack: DemoStack, simulation: Simulation, seconds: float) -> None:
    import httpx

    web, token = addresses.web, addresses.token
    try:
        console = "" if httpx.get(f"{web}/", timeout=2).status_code == 200 else "  (not served by this worker yet)"
    except httpx.HTTPError:
        console = "  (not answering)"
    print(f"aidmon demo: the worker is ready ({seconds:.1f} s after the broker); Ctrl-C stops everything\n"
          f"  console   {web}/{console}\n"
          f"  API       {web}/alerts   (header  Authorization: Bearer {token})\n"
          f"  metrics   {web}/metrics\n"
          f"  token     {token}   (role monitor; this run's settings: {stack.config})\n"
          f"  broker    {addresses.broker}   (e.g. aidmon alerts tail --broker {addresses.broker})\n"
          f"  worker    log in {stack.folder / 'worker.log'}\n"
          f"  stream    {len(simulation.timed)} lines, {pace_line(simulation)}", flush=True)


def wait_until(deadline: float | None, printer: AlertPrinter) -> None:
    """After the stream: keep showing alerts (and serving the console) until the deadline or Ctrl-C."""
    while deadline is None or time.monotonic() < deadline:
        printer.status()
        time.sleep(0.2 if deadline is None else max(0.0, min(0.2, deadline - time.monotonic())))


def stop_all(stack: DemoStack, follower: AlertFollower | None, printer: AlertPrinter, code: int) -> int:
    with ignoring_signals():
        print("aidmon demo: stopping the worker and the broker", flush=True)
        began = time.monotonic()
        if follower is not None:
            follower.stop()
        printer.status(force=True)
        try:
            stack.stop()
        except AidmonError as exc:
            print(f"aidmon: error: {str(exc).splitlines()[0]}", file=sys.stderr)
            code = DEMO_FAILED
        if follower is not None and follower.failure:
            print(f"aidmon demo: reading the alerts failed: {follower.failure}", file=sys.stderr)
        print(f"aidmon demo: stopped in {time.monotonic() - began:.1f} s; {progress_line(printer.simulation)}; "
              f"{printer.summary()}", flush=True)
    return code


def run_offline(args: argparse.Namespace, timed: list[Timed], sanctions: str, deadline: float | None) -> int:
    """The scenario through `aidmon replay`'s code path, at the same pace, alerts printed as they come."""
    from schemas.privacy import Pseudonymiser
    from streams.bootstrap import make_monitor
    from streams.replay import Replay
    from streams.settings import load_settings

    args.dir.mkdir(parents=True, exist_ok=True)
    (args.dir / "sanctions.xml").write_text(sanctions, encoding="utf-8")
    monitor = make_monitor(load_settings(None), args.dir / "sanctions.xml")
    seconds = None if deadline is None else max(0.0, deadline - time.monotonic())
    simulation = Simulation(timed, args.speed, args.rate, seconds)
    printer = AlertPrinter(sys.stdout, simulation)
    print(f"aidmon demo: offline, {len(timed)} lines, {pace_line(simulation)}; Ctrl-C stops", flush=True)
    replay = Replay(monitor, Pseudonymiser(secrets.token_bytes(32)), ReplayedAlerts(printer), every_update=True)
    with contextlib.suppress(KeyboardInterrupt):
        replay.run(with_status(simulation.lines(), printer))  # ends with the stream: nothing more can come
    printer.status(force=True)
    print(f"aidmon demo: stopped; {progress_line(simulation)}; {printer.summary()}", flush=True)
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def stopped_by_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP end the demo as Ctrl-C does: everything it started is stopped. SIGINT
    is Ctrl-C even where it was inherited ignored (a shell's background job)."""
    previous = {s: signal.signal(s, _interrupt) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def ignoring_signals() -> Iterator[None]:
    """While stopping: a second Ctrl-C must not leave a broker or worker behind."""
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
