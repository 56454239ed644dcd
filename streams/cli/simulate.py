"""`aidmon simulate`: the project's synthetic stream published live to aid.events.v1, paced by event time.

The scenario is the generator's (`streams.dev.synthetic`: `--seed`, `--shipments`, `--mix`,
`--clean`); the pace is the simulator's (`streams.dev.simulator`: `--speed` or `--rate`,
`--seconds`); the sending is `aidmon publish`'s (`streams.kafka.producer.publish`: validated,
pseudonymised, keyed by subject, acknowledged). `aidmon demo` runs the same scenario with
the same options.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from streams.cli.checks import KAFKA_FAILED, broker_answers, topics_exist
from streams.cli.live import at_least_one
from streams.dev.simulator import DAY_SECONDS, DEFAULT_SPEED, Simulation, Timed, schedule
from streams.settings import load_settings

DEMO_SEED = 37  # of the 60 seeds tried at 300 shipments, one whose first days show the most typologies (6 in 1.7 days)
DEMO_SHIPMENTS = 300  # a busy operation: about 300 events a day of event time


def add_simulate_command(commands: Any) -> None:
    """Register `aidmon simulate` on the `aidmon` parser."""
    simulate = commands.add_parser(
        "simulate", help="publish the synthetic stream live to aid.events.v1, paced by event time"
    )
    add_scenario_arguments(simulate)
    simulate.add_argument("--broker", help="kafka://HOST:PORT (default: AIDMON_BROKER, the config, localhost)")
    simulate.add_argument("--config", type=Path, help="the project's TOML settings file (its pseudonymisation secret)")
    simulate.set_defaults(run=run_simulate)


def add_scenario_arguments(parser: argparse.ArgumentParser) -> None:
    """The scenario's options (the generator's) and the pace's (the simulator's)."""
    parser.add_argument("--seed", type=int, default=DEMO_SEED, help=f"the generator's seed (default {DEMO_SEED})")
    parser.add_argument("--shipments", type=at_least_one, default=DEMO_SHIPMENTS,
                        help=f"shipments over July-September 2012 (default {DEMO_SHIPMENTS})")
    parser.add_argument("--mix", default="default", help="default or convoys-and-camps (as `aidmon generate`)")
    parser.add_argument("--clean", action="store_true", help="without the generator's noise (duplicates, bad lines)")
    pace = parser.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=_positive_float,
                      help=f"event-time seconds per wall second (default {DEFAULT_SPEED:g}: a day of operations "
                           f"in {DAY_SECONDS / DEFAULT_SPEED:g} s)")
    pace.add_argument("--rate", type=_positive_float, help="events per wall second instead, in event-time order")
    parser.add_argument("--seconds", type=_positive_float, help="stop after this many seconds (default: to the end)")


def scenario(args: argparse.Namespace) -> list[Timed]:
    """The generator's stream for these options, in event-time order (`schedule`)."""
    from streams.dev import synthetic

    if args.mix not in synthetic.MIXES:
        raise argparse.ArgumentTypeError(f"unknown mix {args.mix!r}: use one of {', '.join(synthetic.MIXES)}")
    data = synthetic.generate(seed=args.seed, shipments=args.shipments, noise=not args.clean, mix=args.mix)
    return schedule(data.lines)


def pace_line(simulation: Simulation) -> str:
    """How fast the simulation runs, in words."""
    if simulation.rate is not None:
        return f"{simulation.rate:g} events a second"
    assert simulation.speed is not None
    return f"a day of event time every {DAY_SECONDS / simulation.speed:.3g} s (speed {simulation.speed:g})"


def run_simulate(args: argparse.Namespace) -> int:
    from streams.bootstrap import require_pseudonymiser
    from streams.kafka.producer import publish
    from streams.kafka.topics import EVENTS

    settings = load_settings(args.config)
    if args.broker:
        settings = settings.model_copy(update={"broker": args.broker})
    args.broker = settings.broker  # the broker in force, for the line of a Kafka failure (streams.cli.main)
    pseudonymiser = require_pseudonymiser(settings)
    try:
        timed = scenario(args)
    except argparse.ArgumentTypeError as exc:
        print(f"aidmon: error: {exc}", file=sys.stderr)
        return 2
    if not broker_answers(settings.broker) or not topics_exist(
        settings.broker, [EVENTS], "create it with `aidmon topics create` first"
    ):
        return KAFKA_FAILED
    simulation = Simulation(timed, args.speed, args.rate, args.seconds)
    print(f"simulating {len(timed)} lines to {EVENTS}: {pace_line(simulation)}; Ctrl-C stops", file=sys.stderr)
    try:
        summary = publish(simulation.lines(), settings.broker, pseudonymiser)
    except KeyboardInterrupt:
        print(f"stopped: {progress_line(simulation)}")
        return 0
    print(summary.render())
    print(progress_line(simulation))
    return 0 if summary.failed == 0 and summary.acknowledged == summary.sent else 1


def progress_line(simulation: Simulation) -> str:
    """How far the simulation got: lines sent and the event time reached."""
    reached = simulation.event_time.strftime("%Y-%m-%d %H:%M") if simulation.event_time else "-"
    end = "the end of the stream" if simulation.finished else f"event time {reached} UTC"
    return f"{simulation.sent} of {len(simulation.timed)} lines sent, {end}"


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not above 0")
    return value
