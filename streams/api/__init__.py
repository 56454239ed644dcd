"""The HTTP API on the worker's web port: `views.py` registers the views of `open_views.py`
(health, readiness, metrics, the document), `alert_views.py` (alerts, the lifecycle, the
stream of `follow.py`) and `event_views.py` (POST /events) over the base of `base.py`;
`openapi.py` describes them, `access.py` checks tokens, `ingest.py` reads and checks
posted events, `alert_book.py` holds every alert and `alert_reader.py` fills it from Kafka."""
