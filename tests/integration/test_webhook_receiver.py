"""Webhooks over real HTTP: an aiohttp receiver on a free loopback port verifies every signature."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import time
from collections import defaultdict
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from streams.outputs import metrics as metrics_module
from streams.outputs.webhooks import WebhookSink, make_client, verify
from streams.settings import WebhookSettings, WebhookSubscription

SEVERITIES = ("low", "medium", "high", "critical")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def alert_body(index: int) -> bytes:
    return json.dumps({
        "alert_id": f"alert-{index:03d}",
        "typology": "transit_loss",
        "severity": SEVERITIES[index % 4],
        "score": 0.5,
        "subject": {"kind": "shipment", "id": f"SHP-{index}"},
        "summary": "part of the shipment missing on receipt",
        "evidence": [],
        "raised_at": "2024-03-01T10:00:00Z",
        "reference": "Abidjan conclusions of 7 June 2012, para. 13",
    }).encode()


class Receiver:
    """A subscriber's endpoint per path; verifies each signature with that path's secret."""

    def __init__(self, secrets: dict[str, bytes], flaky: frozenset[str] = frozenset()) -> None:
        self.secrets = secrets
        self.flaky = flaky  # paths that answer 503 to the first try of each delivery
        self.received: dict[str, list[str]] = defaultdict(list)
        self.rejected: dict[str, int] = defaultdict(int)
        self.mismatched: list[str] = []
        self.deliveries_seen: set[str] = set()
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        payload = await request.read()
        if not verify(self.secrets[name], request.headers.get("Aidmon-Signature", ""), payload, now=time.time()):
            self.rejected[name] += 1
            return web.Response(status=401)
        delivery = request.headers["Aidmon-Delivery"]
        if name in self.flaky and delivery not in self.deliveries_seen:
            self.deliveries_seen.add(delivery)
            return web.Response(status=503)
        alert_id = json.loads(payload)["alert_id"]
        if request.headers["Aidmon-Alert-Id"] != alert_id:
            self.mismatched.append(alert_id)
        self.received[name].append(alert_id)
        return web.Response(status=204)

    async def start(self, port: int) -> None:
        app = web.Application()
        app.router.add_post("/hooks/{name}", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


def subscription(name: str, port: int, secret: str, **filters: Any) -> WebhookSubscription:
    return WebhookSubscription(name=name, url=f"http://127.0.0.1:{port}/hooks/{name}",
                               secret=secret, **filters)


def count(registry: CollectorRegistry, subscription: str, outcome: str) -> float:
    value = registry.get_sample_value("aidmon_webhook_deliveries_total",
                                      {"subscription": subscription, "outcome": outcome})
    return value or 0.0


def test_signed_deliveries_arrive_and_verify() -> None:
    """Every matching alert reaches its receiver, signed with its subscription's secret; a wrong key dead-letters."""
    port = free_port()
    receiver = Receiver(
        {"ops": b"ops-secret-0123456789", "urgent": b"urgent-secret-0123456789",
         "flaky": b"flaky-secret-0123456789", "wrongkey": b"the-receivers-key-0123456789"},
        flaky=frozenset({"flaky"}),
    )
    settings = WebhookSettings(
        first_retry_seconds=0.01, max_retry_seconds=0.05, timeout_seconds=5.0,
        subscriptions=(
            subscription("ops", port, "ops-secret-0123456789"),
            subscription("urgent", port, "urgent-secret-0123456789", severities=("critical",)),
            subscription("flaky", port, "flaky-secret-0123456789"),
            subscription("wrongkey", port, "not-the-receivers-key-0123"),
        ),
    )
    registry = CollectorRegistry()
    dead_letters: list[dict[str, Any]] = []

    async def keep(record: dict[str, Any]) -> None:
        dead_letters.append(record)

    async def main() -> None:
        await receiver.start(port)
        client = make_client(settings)
        sink = WebhookSink(settings, client, metrics_module.create(registry), keep, rng=random.Random(1))
        try:
            futures = [sink.submit(alert_body(i)) for i in range(12)]
            await asyncio.wait_for(asyncio.gather(*futures), timeout=20)
        finally:
            await sink.aclose()
            await client.aclose()
            await receiver.stop()

    asyncio.run(main())
    every = {f"alert-{i:03d}" for i in range(12)}
    assert sorted(receiver.received["ops"]) == sorted(every)
    assert set(receiver.received["urgent"]) == {f"alert-{i:03d}" for i in range(12) if i % 4 == 3}
    assert set(receiver.received["flaky"]) == every
    assert count(registry, "flaky", "retried") == 12
    assert receiver.mismatched == []
    assert receiver.received["wrongkey"] == []
    assert receiver.rejected == {"wrongkey": 12}
    assert {(r["subscription"], r["last_error"], r["attempts"]) for r in dead_letters} == {("wrongkey", "HTTP 401", 1)}
    assert {r["alert_id"] for r in dead_letters} == every


def test_receiver_down_at_first_loses_nothing() -> None:
    """Alerts sent while nothing listens are retried until the receiver starts; every one lands, none dead-lettered."""
    port = free_port()
    secret = "ops-secret-0123456789"  # noqa: S105 - a test fixture, not a credential
    receiver = Receiver({"ops": secret.encode()})
    settings = WebhookSettings(
        max_attempts=200, first_retry_seconds=0.05, max_retry_seconds=0.2, timeout_seconds=5.0,
        subscriptions=(subscription("ops", port, secret),),
    )
    registry = CollectorRegistry()
    dead_letters: list[dict[str, Any]] = []

    async def keep(record: dict[str, Any]) -> None:
        dead_letters.append(record)

    async def main() -> None:
        client = make_client(settings)
        sink = WebhookSink(settings, client, metrics_module.create(registry), keep, rng=random.Random(2))
        try:
            futures = [sink.submit(alert_body(i)) for i in range(30)]
            deadline = time.monotonic() + 10
            while count(registry, "ops", "retried") < 60:  # every alert refused at least twice
                assert time.monotonic() < deadline, "the sink did not retry refused connections"
                await asyncio.sleep(0.01)
            assert not any(f.done() for f in futures)
            await receiver.start(port)
            await asyncio.wait_for(asyncio.gather(*futures), timeout=20)
        finally:
            await sink.aclose()
            await client.aclose()
            await receiver.stop()

    asyncio.run(main())
    assert dead_letters == []
    assert set(receiver.received["ops"]) == {f"alert-{i:03d}" for i in range(30)}
    assert receiver.rejected == {}
    assert count(registry, "ops", "delivered") == 30
    assert count(registry, "ops", "dead_lettered") == 0
