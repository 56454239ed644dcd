"""The worker's readiness (/readyz and the `aidmon_ready` gauge: the broker answers, the
partitions are assigned, the tables recovered, the alert view loaded) and the gauges set every
`GAUGE_SECONDS`: consumer lag, table sizes, readiness.

The lag of a partition is its end offset less the offset after the last message an agent
handled from it (`streams.worker.progress.HandledOffsets`): never the consumer's
position(), which can wait for ever on a partition that has none, holding one of the two
workers of Faust's consumer thread.
"""

from __future__ import annotations

from typing import Any

import faust

from streams.kafka.watch import BrokerWatch
from streams.outputs.alert_view import AlertView
from streams.worker.context import WorkerContext
from streams.worker.route import recovered

GAUGE_SECONDS = 5.0


def readiness(app: faust.App, view: AlertView, broker: BrokerWatch) -> dict[str, bool]:
    """Each condition of being ready: the broker answers, partitions assigned, tables
    recovered, alert view loaded."""
    return {
        "broker_reachable": broker.up,
        "partitions_assigned": bool(app.consumer.assignment()),
        "tables_recovered": recovered(app),
        "alerts_loaded": view.loaded(),
    }


def update_gauges(ctx: WorkerContext, view: AlertView, delivered: Any) -> None:
    """Set the lag, table-size and readiness gauges (`delivered`: the webhook table, if any)."""
    metrics, consumer = ctx.metrics, ctx.app.consumer
    lags: dict[tuple[str, str], int] = {}
    for tp in consumer.assignment():
        highwater, done = consumer.highwater(tp), ctx.offsets.after(tp.topic, tp.partition)
        if highwater is not None and done is not None:  # a topic an agent reads, not a changelog
            lags[(tp.topic, str(tp.partition))] = max(0, highwater - done)
    metrics.consumer_lag.clear()
    for (topic, partition), lag in lags.items():
        metrics.consumer_lag.labels(topic, partition).set(lag)
    metrics.table_entries.labels("state").set(len(ctx.table.data))
    metrics.table_entries.labels("alert_view").set(len(view.book))
    if delivered is not None:
        metrics.table_entries.labels("webhook_delivered").set(len(delivered.data))
    metrics.ready.set(1 if all(readiness(ctx.app, view, ctx.broker).values()) else 0)
