"""`python -m streams.dev.local_broker start|stop DATA_DIR`: the broker without the aidmon CLI."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from schemas.exceptions import BrokerError
from streams.dev.local_broker.control import (
    DEFAULT_PORT,
    DEFAULT_START_TIMEOUT,
    DEFAULT_STOP_TIMEOUT,
    start_broker,
    stop_broker,
)
from streams.dev.local_broker.jars import default_cache_dir


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m streams.dev.local_broker start|stop DATA_DIR`: the broker without the aidmon CLI."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="broker: %(message)s", stream=sys.stderr)
    try:
        if args.command == "start":
            print(start_broker(args.data_dir, args.port, args.controller_port, cache_dir=args.cache_dir,
                               timeout=args.timeout))
        elif not stop_broker(args.data_dir, args.timeout):
            print(f"no broker of {args.data_dir} is running", file=sys.stderr)
    except BrokerError as exc:
        print(f"broker: error: {exc}", file=sys.stderr)
        return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m streams.dev.local_broker",
                                     description="A local Kafka broker (KRaft).")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="start a broker in the background; prints its bootstrap address")
    start.add_argument("data_dir", type=Path)
    start.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"client port (default {DEFAULT_PORT})")
    start.add_argument("--controller-port", type=int, help="controller port (default: port + 1)")
    start.add_argument("--cache-dir", type=Path, help=f"where the jars are cached (default {default_cache_dir()})")
    start.add_argument("--timeout", type=float, default=DEFAULT_START_TIMEOUT, help="seconds to wait (default 90)")
    stop = commands.add_parser("stop", help="stop the broker of DATA_DIR")
    stop.add_argument("data_dir", type=Path)
    stop.add_argument("--timeout", type=float, default=DEFAULT_STOP_TIMEOUT, help="seconds before SIGKILL")
    return parser


if __name__ == "__main__":
    sys.exit(main())
