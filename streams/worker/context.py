"""What the worker's agents, timers and outputs share: `Topics`, the Faust topics of the
live path, and `WorkerContext`, the one object they are all given (settings, app, topics,
table, the detection process and the lanes messages waiting for its checkpoints, progress,
offsets, metrics, decoder, the outbox, the broker's watch). Each
object in it changes its own state; the agents are functions over it
(`streams.worker.route`, `streams.worker.detect`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from dataclasses import dataclass, field
from typing import Any, Final

import faust
from faust.types import TP, Message, TopicT
from prometheus_client import CollectorRegistry

from agents.names import ListedName
from schemas.decode import Decoder
from schemas.privacy import Pseudonymiser
from streams.kafka.topics import (
    ALERT_STATUS,
    ALERTS,
    EVENTS,
    REJECTS,
    WEBHOOK_DEAD_LETTERS,
    lanes_topic,
    state_changelog,
)
from streams.kafka.watch import BrokerWatch
from streams.outputs.metrics import Metrics, create
from streams.settings import KafkaSettings, Settings
from streams.worker.alignment import Alignment
from streams.worker.changelog import ChangelogWriter
from streams.worker.checkpoints import Checkpoints
from streams.worker.continuity import Continuity, DirectReader
from streams.worker.detection import Detection, Unacknowledged
from streams.worker.outbox import Outbox
from streams.worker.progress import HandledOffsets, Progress

log = logging.getLogger("aidmon.worker")

EXIT_FAILED: Final = 3  # a worker that stopped on its own, to be restarted: `streams.cli.worker.WORKER_FAILED`

# Every topic of the worker carries bytes as they are: the agents decode and encode themselves.
RAW_BYTES: Final[dict[str, Any]] = {
    "key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw",
}


@dataclass(frozen=True)
class Topics:
    """The worker's topics, as Faust objects."""

    events: TopicT  # aid.events.v1, as `route` reads it (all its partitions)
    lanes: TopicT  # <app>-lanes: `route` writes, `detect` reads
    rejects: TopicT  # aid.rejects.v1
    alerts: TopicT  # diversion.alerts.v1: `detect` writes, `deliver` reads
    status: TopicT  # diversion.alert-status.v1: the API's audit records, one partition
    events_out: TopicT  # aid.events.v1, as the API publishes to it
    dead_letters: TopicT  # diversion.webhook-dead-letters.v1

    @classmethod
    def make(cls, app: faust.App, kafka: KafkaSettings) -> Topics:
        partitions = kafka.partitions
        return cls(
            events=app.topic(EVENTS, partitions=partitions, **RAW_BYTES),
            lanes=app.topic(lanes_topic(kafka.app_id), partitions=partitions, internal=True, **RAW_BYTES),
            rejects=app.topic(REJECTS, **RAW_BYTES),
            alerts=app.topic(ALERTS, **RAW_BYTES),
            status=app.topic(ALERT_STATUS, partitions=1, **RAW_BYTES),
            events_out=app.topic(EVENTS, **RAW_BYTES),
            dead_letters=app.topic(WEBHOOK_DEAD_LETTERS, **RAW_BYTES),
        )


@dataclass(frozen=True)
class WorkerContext:
    """One worker's app and the objects its agents, timers and outputs work with."""

    settings: Settings
    app: faust.App
    topics: Topics
    table: Any  # the detectors' state: a Faust table of raw bytes, written at checkpoints
    detection: Detection  # the monitors, in a process of their own
    unacknowledged: Unacknowledged  # lanes messages read, acknowledged after a checkpoint
    progress: Progress
    offsets: HandledOffsets
    registry: CollectorRegistry
    metrics: Metrics
    pseudonymiser: Pseudonymiser
    decode: Decoder  # publishers' events, raw beneficiary ids pseudonymised
    changelog: ChangelogWriter  # the state table's changelog, written at checkpoints
    checkpoints: Checkpoints  # checkpoints taken, written to the changelog in the background
    outbox: Outbox  # what `route` has for the lanes
    continuity: Continuity  # every message in order: a hole in what Faust hands the agents is read again
    broker: BrokerWatch  # whether the broker answers: /readyz, aidmon_broker_up, one line per change
    alignment: Alignment  # partitions of aid.events.v1 paused while read too far ahead of the others
    flushing: asyncio.Lock = field(default_factory=asyncio.Lock)  # one flush of the outbox at a time
    checkpointing: asyncio.Lock = field(default_factory=asyncio.Lock)  # one checkpoint at a time
    gone: set[TP] = field(default_factory=set)  # partitions revoked, not assigned again since
    failure: list[str] = field(default_factory=list)  # why the worker stops on its own, if it does
    watches: list[Any] = field(default_factory=list)  # the broker's and the recovery's watches, once started

    def acknowledge(self, events: list[Any]) -> None:
        """Acknowledge Faust `events`, except those of partitions revoked since they were read:
        their next owner reads them again from the last commit (an acknowledgement here would
        land in the bookkeeping Faust has just cleared for them)."""
        gone = self.gone
        for event in events:
            if not gone or event.message.tp not in gone:
                event.ack()

    def stop(self, reason: str) -> None:
        """The worker cannot go on: one line, then the shutdown a SIGTERM asks for; the
        command exits with status 3 (`failure`), and a restart reads on from the commit."""
        if not self.failure:
            log.critical("%s: the worker stops; what it did not acknowledge is processed again after a restart",
                         reason)
            self.failure.append(reason)
            os.kill(os.getpid(), signal.SIGTERM)

    def exit_now(self, reason: str) -> None:
        """`stop` where a shutdown cannot be waited for (the broker is away: Faust's shutdown
        would wait on it while the producer drops the messages it holds): one line, then the
        process ends at once with status 3. Nothing is lost: what was not acknowledged is
        processed again after a restart, as after a crash (the tests kill workers so)."""
        log.critical("%s: the worker exits now; what it did not acknowledge is processed again after a restart",
                     reason)
        logging.shutdown()
        os._exit(EXIT_FAILED)

    async def before(self, message: Message) -> list[Message] | None:
        """What `route` or `detect` processes before `message` (`Continuity.before`): the
        messages of a hole in what the consumer handed over, or nothing; None when it was
        processed already, or when the hole could not be read and the worker stops."""
        try:
            return await self.continuity.before(message.tp, message.offset)
        except Exception as exc:  # the broker did not give the hole back: nothing past it may pass
            self.stop(f"{message.topic}[{message.partition}]: {type(exc).__name__}: {exc}")
            return None

    def sources(self) -> int:
        """How many partitions aid.events.v1 has, as the consumer knows it (as configured before it does)."""
        found = self.app.consumer.topic_partitions(EVENTS)
        return int(found) if found else self.settings.kafka.partitions

    def rows(self, partition: int) -> dict[bytes, bytes]:
        """The `state` table's rows of a lanes partition (its keys start with "P|")."""
        prefix = f"{partition}|".encode()
        return {key: value for key, value in self.table.data.items() if key.startswith(prefix)}

    @classmethod
    def build(
        cls, app: faust.App, settings: Settings, sanctions: list[ListedName] | None, pseudonymiser: Pseudonymiser
    ) -> WorkerContext:
        """The context of `app`: its topics, the `state` table, fresh progress and metrics."""
        kafka = settings.kafka
        table = app.Table("state", partitions=kafka.partitions, key_type=bytes, value_type=bytes)  # raw
        registry = CollectorRegistry()
        metrics = create(registry)
        metrics.start_at_zero(tuple(s.name for s in settings.webhooks.subscriptions))
        metrics.broker_up.set(1)  # the command checked that it answers before building the app
        changelog = ChangelogWriter(settings.broker, state_changelog(kafka.app_id))
        ctx = cls(
            settings=settings, app=app, topics=Topics.make(app, kafka), table=table,
            detection=Detection(settings, sanctions), unacknowledged=Unacknowledged(),
            progress=Progress(), offsets=HandledOffsets(), registry=registry, metrics=metrics,
            pseudonymiser=pseudonymiser, decode=Decoder(pseudonymiser),
            changelog=changelog, checkpoints=Checkpoints(changelog, lambda events: ctx.acknowledge(events), table.data),
            outbox=Outbox(), continuity=Continuity(app, DirectReader(settings.broker, kafka.app_id)),
            broker=BrokerWatch(
                settings.broker, lambda up: metrics.broker_up.set(1 if up else 0),
                max_away_seconds=kafka.max_outage_seconds, on_too_long=lambda away: ctx.exit_now(
                    f"the Kafka broker has not answered for {away:.0f} s (kafka.max_outage_seconds)")),
            alignment=Alignment(EVENTS),
        )
        return ctx

