"""The open endpoints, no token needed: liveness, readiness, metrics, the OpenAPI document."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams.api.base import ApiView, json_response
from streams.api.openapi import openapi_document


class Health(ApiView):
    """GET /healthz: the process answers (and whether it is ready)."""

    async def get(self, request: web.Request) -> web.Response:
        return json_response({"ready": all(self.ctx.readiness().values()), "checks": {"alive": True}})


class Ready(ApiView):
    """GET /readyz: 200 once every check holds, else 503."""

    async def get(self, request: web.Request) -> web.Response:
        checks = self.ctx.readiness()
        ready = all(checks.values())
        return json_response({"ready": ready, "checks": checks}, 200 if ready else 503)


class MetricsPage(ApiView):
    """GET /metrics: the worker's Prometheus registry."""

    async def get(self, request: web.Request) -> web.Response:
        body = generate_latest(self.ctx.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


class OpenApi(ApiView):
    """GET /openapi.json: the document, built once from this worker's settings."""

    def __post_init__(self) -> None:
        self.document = openapi_document(self.ctx.settings)

    async def get(self, request: web.Request) -> web.Response:
        return json_response(self.document)
