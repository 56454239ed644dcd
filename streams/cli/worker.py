"""`aidmon worker`: the checks before Faust starts, then the Faust worker.

In order, each ending the command with one line on standard error when it fails: the
settings and the pseudonymisation secret (exit 2), the web port is free (exit 2), the
broker answers (exit 1), the topics
the worker reads and writes exist (exit 1; `--create-topics` creates the missing ones
instead), the sanctions list (exit 2). Faust's worker then runs with `KafkaNoiseFilter` on its
log handlers and aiokafka's clients pausing between tries (`streams.kafka.backoff`), so that a
broker going away costs a few lines a minute, not thousands a second.
A worker that stops on its own (its detection process ended: one line says so) exits 3,
to be restarted.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from streams.bootstrap import require_pseudonymiser, sanctions_names, tune_garbage_collector
from streams.cli.checks import KAFKA_FAILED, broker_answers, port_free, topics_exist
from streams.kafka import backoff as kafka_backoff
from streams.kafka.noise import quiet_kafka_clients
from streams.kafka.topics import create_topics, topic_specs
from streams.settings import Settings
from streams.worker import commits

WORKER_FAILED = 3  # the exit status of a worker that stopped on its own, to be restarted


def run_worker(args: argparse.Namespace, settings: Settings) -> int:
    pseudonymiser = require_pseudonymiser(settings)  # before anything connects: no secret, no worker
    if settings.api.enabled and not port_free(settings.api.host, args.web_port or settings.api.port):
        return 2  # not Faust's traceback once it has connected and built everything
    if not broker_answers(settings.broker) or not _topics_ready(settings, args.create_topics):
        return KAFKA_FAILED  # before Faust is even imported: a second, not five
    names = sanctions_names(settings, args.sanctions)
    args.data_dir.mkdir(parents=True, exist_ok=True)

    from streams.worker.app import build_app

    kafka_backoff.install()  # aiokafka's clients pause between tries while the broker is away
    commits.install()  # Faust's commits go past a gap of offsets acknowledged already
    app = build_app(settings, names, pseudonymiser, args.data_dir, args.web_port)
    # with the collector's default thresholds, a full collection walked what start-up and
    # Faust built every 10 to 30 s, stopping the worker 0.1 to 0.15 s each time
    tune_garbage_collector()
    worker = faust_worker(app, args.log_level.lower())
    # Faust's progress spinner sets the root logger to DEBUG to see every record: every
    # client's debug line would then be formatted and dropped (a tenth of the worker's time)
    worker.spinner = None
    try:
        worker.execute_from_commandline()
    except SystemExit as exit:
        if app.worker_context.failure:  # type: ignore[attr-defined]  # stopped on its own (it said why)
            return WORKER_FAILED
        raise exit
    return 0  # pragma: no cover - execute_from_commandline exits


def faust_worker(app: Any, loglevel: str) -> Any:
    """Faust's worker for `app`, its log handlers filtered by `KafkaNoiseFilter` once Faust has made them."""
    import faust

    class Worker(faust.Worker):
        def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
            super().on_setup_root_logger(logger, level)
            quiet_kafka_clients(root=logger)

    return Worker(app, loglevel=loglevel)


def _topics_ready(settings: Settings, create: bool) -> bool:
    """True when the worker's topics exist, creating the missing ones if `create`."""
    if create:
        for name, state in create_topics(settings.broker, settings.kafka):
            if state == "created":
                logging.getLogger("aidmon.worker").info("created topic %s", name)
        return True
    names = [spec.name for spec in topic_specs(settings.kafka)]
    return topics_exist(settings.broker, names, "create them with `aidmon topics create` (with the same --config), "
                                                "or start the worker with --create-topics")
