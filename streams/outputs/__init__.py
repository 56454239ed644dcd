"""The worker's ways out, wired on by `wiring.py` (`attach_outputs`): `alert_view.py` (every
alert, for the API), `senders.py` (what the API writes to Kafka), `gauges.py` (readiness
and the gauges), `deliver.py` (the `deliver` agent) over the `AlertSink` protocol of
`sink.py`, which `webhooks.py` (signed webhook delivery) satisfies, and `metrics.py` (the
Prometheus metrics, one typed bundle)."""
