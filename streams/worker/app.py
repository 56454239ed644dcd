"""The Faust worker: the detectors of `agents/` on Kafka, wired by `build_app`.

    aid.events.v1 --route--> outbox --> <app>-lanes --detect--> diversion.alerts.v1
         |                    ^  (ticks, idle marks)   (batches: one message per partition and flush)
         +--> aid.rejects.v1  +-- heartbeat

`route` and the task that sends the lanes (and queues the heartbeat) live in
`streams.worker.route`; `detect`, the checkpoint task and the revocation handler in
`streams.worker.detect`. Each is a function of the stream (or of nothing) and the
`WorkerContext` (`streams.worker.context`) they share. A task watches the broker
(`streams.kafka.watch`): one line when it goes away and one when it is back. The HTTP API,
webhook delivery and the gauges are wired on by `streams.outputs.wiring`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faust
from faust.types import TP

from agents.names import ListedName
from schemas.privacy import Pseudonymiser
from streams.bootstrap import collect_cycles
from streams.outputs.wiring import attach_outputs
from streams.settings import Settings
from streams.worker import detect, recovery_watch, route
from streams.worker.context import WorkerContext
from streams.worker.fetching import bound_fetch_wait

PRODUCER_MARGIN_SECONDS = 300.0  # past kafka.max_outage_seconds: the worker has exited by then


def build_app(
    settings: Settings,
    sanctions: list[ListedName] | None,
    pseudonymiser: Pseudonymiser,
    data_dir: Path,
    web_port: int | None = None,
) -> faust.App:
    """The Faust app with its topics, table, agents, timers, HTTP API and webhooks;
    `faust.Worker(app)` runs it."""
    app = _make_app(settings, data_dir, web_port)
    ctx = WorkerContext.build(app, settings, sanctions, pseudonymiser)
    attach_outputs(ctx)

    @app.agent(ctx.topics.events, name="route")
    async def route_events(stream: faust.StreamT[bytes]) -> None:
        await route.route_events(ctx, stream)

    @app.task  # type: ignore[untyped-decorator]
    async def send_lanes() -> None:
        await route.send_lanes(ctx)

    @app.agent(ctx.topics.lanes, name="detect", concurrency=1)
    async def detect_alerts(stream: faust.StreamT[bytes]) -> None:
        await detect.detect_alerts(ctx, stream)

    @app.task  # type: ignore[untyped-decorator]
    async def checkpoint() -> None:
        await detect.checkpoint_often(ctx)

    @app.task  # type: ignore[untyped-decorator]
    async def collect_garbage() -> None:
        await collect_cycles()

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def on_revoked(app: faust.App, revoked: set[TP], **kwargs: Any) -> None:
        await detect.on_revoked(ctx, revoked)

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def on_assigned(app: faust.App, assigned: set[TP], **kwargs: Any) -> None:
        if not ctx.watches:  # Faust starts the app's tasks only once its first recovery is over: these watch it
            ctx.watches.extend([app.add_future(ctx.broker.run()), app.add_future(recovery_watch.watch_recovery(ctx))])
        ctx.gone.difference_update(assigned)
        for tp in assigned:  # read from where the group committed
            ctx.continuity.forget(tp)
        bound_fetch_wait(app)

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def on_shutdown(app: faust.App, **kwargs: Any) -> None:
        await ctx.checkpoints.stop()
        await ctx.changelog.stop()
        await ctx.detection.stop()

    app.worker_context = ctx  # type: ignore[attr-defined]  # the command reads `failure` after the worker stops
    return app


def _make_app(settings: Settings, data_dir: Path, web_port: int | None) -> faust.App:
    kafka, api = settings.kafka, settings.api
    return faust.App(
        kafka.app_id,
        broker=settings.broker,
        store="memory://",
        datadir=str(data_dir),
        topic_partitions=kafka.partitions,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",  # a new group misses nothing published before it
        # Faust's 60 s held a killed worker's partitions for a minute; heartbeats a third of it at most
        broker_session_timeout=kafka.session_timeout_seconds,
        broker_heartbeat_interval=min(3.0, kafka.session_timeout_seconds / 3),
        table_standby_replicas=0,
        producer_acks=-1,
        # how long the producer holds a message for a broker that is away; the worker exits before
        # that (`kafka.max_outage_seconds`, `BrokerWatch`), or what it held would be dropped
        producer_request_timeout=kafka.max_outage_seconds + PRODUCER_MARGIN_SECONDS,
        # Agents acknowledge their own messages: `detect` after a checkpoint, `deliver` once the
        # webhooks landed. Waiting for those on shutdown or rebalance would wait for the next
        # checkpoint or a subscriber that is down; processing is idempotent, so what was not
        # acknowledged is processed again by the next owner instead.
        stream_wait_empty=False,
        web_enabled=api.enabled,
        web_port=web_port or api.port,
        web_host=api.host,
        web_router_enabled=False,  # Faust's own pages would show table contents: only the API is served
        web_tables_enabled=False,
        web_stats_enabled=False,
        web_graph_enabled=False,
    )
