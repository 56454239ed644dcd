"""The live path's commands: broker, topics, worker, publish, alerts, lag.

Each command that talks to Kafka first checks that the broker answers (`streams.cli.checks`):
without one it fails within seconds with one line naming the address, exit status 1. The
worker's own start-up is in `streams.cli.worker`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from schemas.exceptions import ConfigurationError
from streams.cli.checks import KAFKA_FAILED, broker_answers, retried, topics_exist
from streams.kafka.servers import check_broker
from streams.settings import Settings, load_settings

DEFAULT_BROKER_DIR = Path.home() / ".local" / "share" / "aidmon" / "broker"
TAIL_DESCRIPTION = (
    "Follow the alerts topic from its beginning, one line for each version of an alert: its time, "
    "`new` or `update`, its id, severity, typology, subject and summary. `new` is the first version of "
    "that alert id seen in this run (on the compacted topic an older alert may first show at a later "
    "version); `update` is a later version of an id already shown in this run."
)


def add_live_commands(commands: Any) -> None:
    """Register the live path's subcommands on the `aidmon` parser."""
    broker = commands.add_parser("broker", help="a local Kafka broker (KRaft) from the broker's own jars")
    broker_commands = broker.add_subparsers(dest="broker_command", required=True, metavar="ACTION")
    start = broker_commands.add_parser("start", help="start it in the background; print the bootstrap address")
    start.add_argument("--port", type=int, default=9092)
    start.add_argument("--data-dir", type=Path, default=DEFAULT_BROKER_DIR)
    start.set_defaults(run=run_broker_start)
    stop = broker_commands.add_parser("stop", help="stop it")
    stop.add_argument("--data-dir", type=Path, default=DEFAULT_BROKER_DIR)
    stop.set_defaults(run=run_broker_stop)

    topics = commands.add_parser("topics", help="the topics of the live path")
    topics_commands = topics.add_subparsers(dest="topics_command", required=True, metavar="ACTION")
    create = topics_commands.add_parser("create", help="create the missing topics with their partitions and settings")
    _broker_and_config(create)
    create.set_defaults(run=run_topics_create)

    worker = commands.add_parser("worker", help="run the detectors on Kafka (a Faust worker)")
    _broker_and_config(worker)
    worker.add_argument("--sanctions", type=Path, help="UN consolidated list XML (overrides the config)")
    worker.add_argument("--web-port", type=int, help="port of the HTTP API and /metrics (default: [api] port, 6066)")
    worker.add_argument("--data-dir", type=Path, default=Path(".aidmon") / "worker", help="the worker's local files")
    worker.add_argument("--create-topics", action="store_true",
                        help="create the topics it needs if they are missing (default: refuse to start without them)")
    worker.set_defaults(run=run_worker)

    publish = commands.add_parser("publish", help="validate a JSONL file and send its events to aid.events.v1")
    publish.add_argument("events", type=Path)
    publish.add_argument("--rate", type=float, help="events per second (default: as fast as acknowledged)")
    publish.add_argument("--batch", type=at_least_one, default=1, metavar="N",
                         help="send CloudEvents JSON batches of up to N events a message (default 1: one event each)")
    _broker_and_config(publish)
    publish.set_defaults(run=run_publish)

    alerts = commands.add_parser("alerts", help="read the alerts topic")
    alerts_commands = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    export = alerts_commands.add_parser("export", help="write the alerts from the beginning until none comes")
    export.add_argument("--out", required=True, type=Path)
    export.add_argument("--idle-seconds", type=float, default=10.0, help="stop after this long without a new alert")
    export.add_argument("--every-update", action="store_true", help="every version, not the last one per alert id")
    _broker_and_config(export)
    export.set_defaults(run=run_alerts_export)
    tail = alerts_commands.add_parser(
        "tail", help="follow the alerts topic from its beginning, one line a version",
        description=TAIL_DESCRIPTION,
    )
    tail.add_argument("--json", action="store_true", help="print each alert as JSON")
    _broker_and_config(tail)
    tail.set_defaults(run=run_alerts_tail)

    lag = commands.add_parser("lag", help="the worker group's total lag; the last line is the number (0: caught up)")
    _broker_and_config(lag)
    lag.set_defaults(run=run_lag)


def at_least_one(text: str) -> int:
    """An argparse type: a whole number of 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is less than 1")
    return value


def _broker_and_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--broker", help="kafka://HOST:PORT (default: AIDMON_BROKER, then the config, then localhost)")
    parser.add_argument("--config", type=Path, help="the project's TOML settings file")


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.config)
    if args.broker:
        try:
            check_broker(args.broker)  # the settings checked theirs; model_copy checks nothing
        except ValueError as exc:
            raise ConfigurationError("--broker", str(exc)) from None
        settings = settings.model_copy(update={"broker": args.broker})
    args.broker = settings.broker  # the broker in force, for the line of a Kafka failure (streams.cli.main)
    return settings


def run_broker_start(args: argparse.Namespace) -> int:
    from streams.dev.local_broker import start_broker

    print(f"starting a Kafka broker in {args.data_dir} (the first start resolves its jars with Maven)", file=sys.stderr)
    bootstrap = start_broker(args.data_dir, port=args.port)
    print(f"kafka://{bootstrap}")
    return 0


def run_broker_stop(args: argparse.Namespace) -> int:
    from streams.dev.local_broker import stop_broker

    stopped = stop_broker(args.data_dir)
    print("stopped" if stopped else f"no broker was running from {args.data_dir}")
    return 0


def run_topics_create(args: argparse.Namespace) -> int:
    from streams.kafka.topics import create_topics

    settings = _settings(args)
    if not broker_answers(settings.broker):
        return KAFKA_FAILED
    for name, state in create_topics(settings.broker, settings.kafka):
        print(f"{name}: {state}")
    return 0


def run_worker(args: argparse.Namespace) -> int:
    from streams.cli.worker import run_worker

    return run_worker(args, _settings(args))


def run_publish(args: argparse.Namespace) -> int:
    from streams.bootstrap import require_pseudonymiser
    from streams.kafka.producer import publish
    from streams.kafka.topics import EVENTS

    settings = _settings(args)
    pseudonymiser = require_pseudonymiser(settings)
    try:
        source = args.events.open("rb")
    except OSError as exc:
        print(f"aidmon: error: cannot read {args.events}: {exc.strerror}", file=sys.stderr)
        return 2
    with source:
        if not broker_answers(settings.broker) or not topics_exist(
            settings.broker, [EVENTS], "create it with `aidmon topics create` first"
        ):
            return KAFKA_FAILED
        summary = publish(source, settings.broker, pseudonymiser, args.rate, batch=args.batch)
    print(summary.render())
    return 0 if summary.failed == 0 and summary.acknowledged == summary.sent else 1


def _alerts_readable(settings: Settings) -> bool:
    """The broker answers and has the alerts topic (else one line on standard error)."""
    from streams.kafka.topics import ALERTS

    return broker_answers(settings.broker) and topics_exist(
        settings.broker, [ALERTS], "create it with `aidmon topics create`; a worker writes the alerts there"
    )


def run_alerts_export(args: argparse.Namespace) -> int:
    from streams.kafka.consumer import export_alerts

    settings = _settings(args)
    if not _alerts_readable(settings):
        return KAFKA_FAILED
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as out:
        written = export_alerts(settings.broker, out, args.idle_seconds, args.every_update)
    print(f"wrote {written} alerts to {args.out}")
    return 0


def run_alerts_tail(args: argparse.Namespace) -> int:
    import json

    from streams.kafka.consumer import read_alerts, render_alert

    settings = _settings(args)
    if not _alerts_readable(settings):
        return KAFKA_FAILED
    seen: set[str] = set()
    for alert in read_alerts(settings.broker, idle_seconds=None):
        print(json.dumps(alert, ensure_ascii=False) if args.json else render_alert(alert, seen), flush=True)
    return 0


def run_lag(args: argparse.Namespace) -> int:
    from streams.kafka.consumer import group_lag

    settings = _settings(args)
    if not broker_answers(settings.broker):
        return KAFKA_FAILED
    lag = retried(lambda: group_lag(settings.broker, settings.kafka.app_id))
    for topic, behind in sorted(lag.items()):
        print(f"{topic}: {behind}")
    print(sum(lag.values()))
    return 0
