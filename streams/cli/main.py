"""The `aidmon` command line: one parser, the commands registered by their modules.

    offline  replay, schemas export, generate          (streams.cli.offline)
    live     broker, topics, worker, publish, alerts, lag (streams.cli.live)
    tokens   token create                              (streams.cli.tokens)
    demo     simulate, demo                            (streams.cli.simulate, streams.cli.demo)

Every command returns its exit status; an `AidmonError` is one line on standard error and
exit status 2, never a traceback. A broker that does not answer, a missing topic, or a Kafka
client's failure is one line and exit status 1 (`streams.cli.checks`). The Kafka clients'
warnings pass through `KafkaNoiseFilter` (a few lines a minute, however long an outage).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from schemas.exceptions import AidmonError
from streams.cli.checks import KAFKA_FAILED, kafka_failure
from streams.cli.demo import add_demo_command
from streams.cli.live import add_live_commands
from streams.cli.offline import add_offline_commands
from streams.cli.simulate import add_simulate_command
from streams.cli.tokens import add_token_commands
from streams.kafka.noise import quiet_kafka_clients


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="aidmon: %(levelname)s: %(message)s", stream=sys.stderr)
    if args.log_level != "DEBUG":
        logging.getLogger("kafka").setLevel(logging.WARNING)  # the client's connection chatter
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line a request, webhook URLs with credentials
    quiet_kafka_clients()
    try:
        code: int = args.run(args)
    except AidmonError as exc:
        print(f"aidmon: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        line = kafka_failure(exc, getattr(args, "broker", None))
        if line is None:
            raise
        print(f"aidmon: error: {line}", file=sys.stderr)
        return KAFKA_FAILED
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aidmon", description="Humanitarian-aid diversion monitor.")
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="what to log on standard error (default INFO; DEBUG also shows the settings, secrets hidden)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_offline_commands(commands)
    add_live_commands(commands)
    add_token_commands(commands)
    add_simulate_command(commands)
    add_demo_command(commands)
    return parser


if __name__ == "__main__":
    sys.exit(main())
