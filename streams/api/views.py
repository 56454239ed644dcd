"""The HTTP API on the worker's web port (Faust's web server), described at /openapi.json.

    open       GET /healthz  /readyz  /metrics  /openapi.json         streams.api.open_views
    monitor    GET /alerts  /alerts/stream  /alerts/{alert_id}        streams.api.alert_views
               GET /alerts/{alert_id}/context  POST /alerts/{alert_id}/status
    publisher  POST /events                                           streams.api.event_views

Views are thin: check the token, read the request, call the alert book or the worker's
senders (`ApiContext`), answer JSON. Every failure is a JSON `{"error", "detail"}` with
its status; an unexpected exception is logged and answered 500, never a crash
(streams.api.base).
"""

from __future__ import annotations

import faust
from faust.web.drivers.aiohttp import Web as AiohttpWeb

from streams.api.access import Access
from streams.api.alert_views import AlertContext, Alerts, ChangeStatus, OneAlert, Stream
from streams.api.base import ApiContext, ApiView
from streams.api.event_views import Events
from streams.api.follow import end_streams_on_shutdown
from streams.api.open_views import Health, MetricsPage, OpenApi, Ready
from streams.console import register_console

__all__ = ["ROUTES", "ApiContext", "register_api"]

# in this order: /alerts/stream before /alerts/{alert_id}, which would also match it
ROUTES: tuple[tuple[str, type[ApiView]], ...] = (
    ("/healthz", Health),
    ("/readyz", Ready),
    ("/metrics", MetricsPage),
    ("/openapi.json", OpenApi),
    ("/alerts/stream", Stream),
    ("/alerts", Alerts),
    ("/alerts/{alert_id}", OneAlert),
    ("/alerts/{alert_id}/context", AlertContext),
    ("/alerts/{alert_id}/status", ChangeStatus),
    ("/events", Events),
)


def register_api(app: faust.App, ctx: ApiContext) -> None:
    """Add the API's views to the Faust app's web server, each bound to `ctx` by a subclass,
    and end the live streams when that server shuts down (streams.api.follow)."""
    access = Access(ctx.settings.tokens)
    for path, view in ROUTES:
        bound = type(view.__name__, (view,), {"ctx": ctx, "access": access})
        app.page(path, name=view.__name__)(bound)
    if isinstance(app.web, AiohttpWeb):  # Faust's default web driver, the one the worker runs
        end_streams_on_shutdown(app.web.web_app, ctx.book)
    register_console(app)  # the monitors' web console: GET / and /console/{name}
