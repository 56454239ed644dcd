"""The offline commands: `replay`, `schemas export`, `generate` (nothing to run beside them)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from schemas.export import export_schemas
from streams.settings import load_settings

log = logging.getLogger("aidmon")


def add_offline_commands(commands: Any) -> None:
    """Register the offline subcommands on the `aidmon` parser."""
    replay = commands.add_parser("replay", help="run the detectors over a JSONL file of events")
    replay.add_argument("events", help="events, one JSON object a line ('-' reads standard input)")
    replay.add_argument("--alerts", required=True, type=Path, help="where to write alerts (JSONL)")
    replay.add_argument("--rejects", type=Path, help="where to write rejected lines with reasons (JSONL)")
    replay.add_argument("--sanctions", type=Path, help="UN consolidated list XML (overrides the config)")
    replay.add_argument("--config", type=Path, help="the project's TOML settings file")
    replay.add_argument(
        "--every-update", action="store_true",
        help="write each version of an alert as raised, not only the last one per alert id",
    )
    replay.add_argument("--summary-json", type=Path, help="also write the summary as JSON here")
    replay.set_defaults(run=run_replay)

    schemas = commands.add_parser("schemas", help="the contract's JSON Schemas")
    schemas_commands = schemas.add_subparsers(dest="schemas_command", required=True, metavar="ACTION")
    export = schemas_commands.add_parser("export", help="write one JSON Schema per type into DIR")
    export.add_argument("dir", type=Path)
    export.set_defaults(run=run_schemas_export)

    generate = commands.add_parser("generate", help="write a synthetic, labelled event stream")
    generate.add_argument("--out", required=True, type=Path, help="events file (JSONL)")
    generate.add_argument("--truth", type=Path, help="where to write the planted findings (JSON)")
    generate.add_argument("--sanctions", type=Path, help="where to write the fictitious sanctions list (XML)")
    generate.add_argument("--shipments", type=int, default=150)
    generate.add_argument("--seed", type=int, default=7)
    generate.add_argument("--clean", action="store_true", help="no duplicates, disorder or malformed lines")
    generate.add_argument(
        "--mix", default="default",
        help="default (mostly distributions) or convoys-and-camps (38 %% convoy positions, a camp served in 3 rounds)",
    )
    generate.set_defaults(run=run_generate)


def run_replay(args: argparse.Namespace) -> int:
    # imported here, not at the top: the monitor brings shapely and numpy, a quarter of a
    # second that every other command of `aidmon` would pay at its start
    from streams.bootstrap import collector_paused, make_monitor, make_pseudonymiser, tune_garbage_collector
    from streams.replay import Replay

    settings = load_settings(args.config)
    log.debug("settings: %s", json.dumps(settings.redacted(), sort_keys=True))
    monitor = make_monitor(settings, args.sanctions)
    pseudonymiser = make_pseudonymiser(settings)
    tune_garbage_collector()
    with ExitStack() as stack:
        source: IO[bytes]
        if args.events == "-":
            source, total = sys.stdin.buffer, None
        else:
            path = Path(args.events)
            try:
                source = stack.enter_context(path.open("rb"))
            except OSError as exc:
                print(f"aidmon: error: cannot read {path}: {exc.strerror}", file=sys.stderr)
                return 2
            total = path.stat().st_size
        try:
            alerts_out = stack.enter_context(_open_output(args.alerts))
            rejects_out = stack.enter_context(_open_output(args.rejects)) if args.rejects else None
        except OSError as exc:
            print(f"aidmon: error: cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
            return 2
        replay = Replay(monitor, pseudonymiser, alerts_out, rejects_out, args.events, args.every_update)
        with collector_paused():
            summary = replay.run(_with_progress(source, total))
    print(summary.render())
    rejected = sum(summary.rejects.values())
    if rejected and not summary.accepted and not summary.duplicates:
        reason, _ = summary.rejects.most_common(1)[0]
        log.warning("no line of %s is a valid event (%d rejected, most as %s): is it an events file, "
                    "one JSON event a line?", args.events, rejected, reason)
    if args.summary_json:
        args.summary_json.write_text(json.dumps(summary.as_dict(), indent=2) + "\n", encoding="utf-8")
    return 0


def _open_output(path: Path) -> IO[str]:
    if str(path) == "-":
        return open(sys.stdout.fileno(), "w", encoding="utf-8", closefd=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("w", encoding="utf-8")


def _with_progress(lines: Iterable[bytes], total_bytes: int | None) -> Iterable[bytes]:
    """A progress bar on a terminal (standard error); none when it is piped or redirected."""
    if not sys.stderr.isatty():
        return lines
    from tqdm import tqdm

    def counted() -> Iterator[bytes]:
        with tqdm(total=total_bytes, unit="B", unit_scale=True, desc="replay", file=sys.stderr, leave=False) as bar:
            for line in lines:
                bar.update(len(line))
                yield line

    return counted()


def run_schemas_export(args: argparse.Namespace) -> int:
    written = export_schemas(args.dir)
    print(f"wrote {len(written)} JSON Schemas to {args.dir}")
    return 0


def run_generate(args: argparse.Namespace) -> int:
    from streams.dev import synthetic

    if args.mix not in synthetic.MIXES:
        print(f"aidmon: error: unknown mix {args.mix!r}: use one of {', '.join(synthetic.MIXES)}", file=sys.stderr)
        return 2
    data = synthetic.generate(seed=args.seed, shipments=args.shipments, noise=not args.clean, mix=args.mix)
    for path in (args.out, args.truth, args.sanctions):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
    synthetic.write(args.out, data)
    if args.truth:
        args.truth.write_text(json.dumps(data.truth, indent=1) + "\n", encoding="utf-8")
    if args.sanctions:
        args.sanctions.write_text(synthetic.sanctions_xml(), encoding="utf-8")
    print(f"wrote {len(data.lines)} lines to {args.out}")
    return 0

