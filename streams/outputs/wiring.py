"""The worker's ways out, wired onto its Faust app: the alert view and HTTP API, webhook
delivery, and the gauges of the flow.

    diversion.alerts.v1 ──(every partition, every worker)──► AlertView ──► GET /alerts, SSE
    diversion.alert-status.v1 ──────────────────────────────┘  ▲
                                       POST /alerts/{id}/status ┘ (an audit record each)
    diversion.alerts.v1 ──deliver (a group: each alert once)──► webhooks ──► dead letters
    POST /events ──► aid.events.v1 (the same path as any publisher)
"""

from __future__ import annotations

import logging
from typing import Any

import faust

from schemas.decode import Decoder
from streams.api.views import ApiContext, register_api
from streams.outputs.alert_view import AlertView
from streams.outputs.deliver import deliver_webhooks
from streams.outputs.gauges import GAUGE_SECONDS, readiness, update_gauges
from streams.outputs.senders import ApiSenders
from streams.worker.context import WorkerContext

log = logging.getLogger("aidmon.worker")


def attach_outputs(ctx: WorkerContext) -> None:
    """Add the alert view, webhook delivery, the gauges and the HTTP API to the worker's app."""
    app, settings, topics = ctx.app, ctx.settings, ctx.topics
    view = AlertView(settings.broker)

    @app.task  # type: ignore[untyped-decorator]
    async def read_alerts() -> None:
        await view.follow()

    delivered = _attach_deliver(ctx)

    @app.timer(interval=GAUGE_SECONDS)  # type: ignore[untyped-decorator]
    async def gauges() -> None:
        update_gauges(ctx, view, delivered)

    if settings.api.enabled:
        senders = ApiSenders(topics.events_out, topics.rejects, topics.status)
        context = ApiContext(settings.api, view.book, ctx.metrics, ctx.registry, Decoder(ctx.pseudonymiser),
                             ctx.pseudonymiser, lambda: readiness(app, view, ctx.broker), senders.publish,
                             senders.keep_rejects, senders.record_change, ctx.detection.context)
        register_api(app, context)

        @app.task  # type: ignore[untyped-decorator]
        async def say_where() -> None:
            url = f"http://{app.conf.web_host}:{app.conf.web_port}"
            log.info("the monitors' console: %s/ (a monitor token signs in); the API: %s/openapi.json; "
                     "metrics: %s/metrics", url, url, url)


def _attach_deliver(ctx: WorkerContext) -> Any:
    """The `deliver` agent and its table, when subscriptions are configured; the table, or None."""
    if not ctx.settings.webhooks.subscriptions:
        return None
    delivered = ctx.app.Table("webhook-delivered", partitions=ctx.settings.kafka.partitions, key_type=bytes,
                              value_type=bytes)

    @ctx.app.agent(ctx.topics.alerts, name="deliver", concurrency=1)
    async def deliver(stream: faust.StreamT[bytes]) -> None:
        await deliver_webhooks(ctx, delivered, stream)

    return delivered
