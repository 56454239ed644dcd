"""Webhook delivery against httpx.MockTransport: signing, filters, retries, dead letters, shutdown."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from schemas.exceptions import InvalidAlertError, SinkClosedError
from streams.outputs import metrics as metrics_module
from streams.outputs.webhooks import WebhookSink, sign, verify
from streams.settings import WebhookSettings, WebhookSubscription

SECRET = "s3cret-webhook-key-0123456789"  # noqa: S105 - a test fixture, not a credential
URL = "https://hooks.example.org/aidmon"
T0 = 1_700_000_000.0

Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


def alert(alert_id: str = "a-1", typology: str = "transit_loss", severity: str = "high") -> dict[str, Any]:
    return {
        "alert_id": alert_id,
        "typology": typology,
        "severity": severity,
        "score": 0.8,
        "subject": {"kind": "shipment", "id": "SHP-1"},
        "summary": "BODY-MARKER: 12% of the shipment missing on receipt",
        "evidence": [{"event_id": "e-1", "type": "shipment.received", "detail": "received 880 of 1000 kg"}],
        "raised_at": "2024-03-01T10:00:00Z",
        "reference": "Abidjan conclusions of 7 June 2012, para. 13",
    }


def body(**fields: str) -> bytes:
    return json.dumps(alert(**fields)).encode()


def settings(*subscriptions: WebhookSubscription, **options: Any) -> WebhookSettings:
    subs = subscriptions or (WebhookSubscription(name="ops", url=URL, secret=SECRET),)
    return WebhookSettings(subscriptions=subs, **options)


class FakeTime:
    """A clock that moves only when the sink sleeps; the sleeps are recorded."""

    def __init__(self) -> None:
        self.now = T0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class Harness:
    """A sink on a mock transport, with its metrics, fake time and dead letters."""

    def __init__(self, handler: Handler, webhook_settings: WebhookSettings, dead_letter: Any = None) -> None:
        self.requests: list[httpx.Request] = []
        self.dead_letters: list[dict[str, Any]] = []
        self.registry = CollectorRegistry()
        self.time = FakeTime()

        async def record(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return await handler(request)

        async def keep(record: dict[str, Any]) -> None:
            self.dead_letters.append(record)

        self.client = httpx.AsyncClient(transport=httpx.MockTransport(record))
        self.sink = WebhookSink(
            webhook_settings, self.client, metrics_module.create(self.registry), dead_letter or keep,
            clock=self.time.clock, sleep=self.time.sleep, rng=random.Random(7),
        )

    def count(self, outcome: str, subscription: str = "ops") -> float:
        value = self.registry.get_sample_value(
            "aidmon_webhook_deliveries_total", {"subscription": subscription, "outcome": outcome}
        )
        return value or 0.0

    def pending(self, subscription: str = "ops") -> float:
        return self.registry.get_sample_value("aidmon_webhook_pending", {"subscription": subscription}) or 0.0

    def tries_observed(self, subscription: str = "ops") -> float:
        value = self.registry.get_sample_value("aidmon_webhook_delivery_seconds_count", {"subscription": subscription})
        return value or 0.0


def run(handler: Handler, scenario: Callable[[Harness], Coroutine[Any, Any, None]],
        webhook_settings: WebhookSettings | None = None, dead_letter: Any = None) -> Harness:
    """Run `scenario` on a fresh harness in its own event loop, closing sink and client after."""
    harness_box: list[Harness] = []

    async def main() -> None:
        harness = Harness(handler, webhook_settings or settings(), dead_letter)
        harness_box.append(harness)
        try:
            await scenario(harness)
        finally:
            await asyncio.wait_for(harness.sink.aclose(), timeout=5)  # a hang fails the test
            await harness.client.aclose()

    asyncio.run(main())
    return harness_box[0]


def answers(*statuses: int, headers: dict[str, str] | None = None) -> Handler:
    """A receiver answering `statuses` in turn, then the last one for ever."""
    queue = list(statuses)

    async def handler(request: httpx.Request) -> httpx.Response:
        status = queue.pop(0) if len(queue) > 1 else queue[0]
        return httpx.Response(status, headers=headers if status >= 400 else None)

    return handler


async def deliver_one(harness: Harness) -> None:
    await harness.sink.submit(body())


# signing


def test_signature_round_trips() -> None:
    """A header made by `sign` verifies with the same secret, body and a time within tolerance."""
    header = sign(b"key", 1000, b'{"a":1}')
    assert header.startswith("t=1000,v1=")
    assert verify(b"key", header, b'{"a":1}', now=1000)
    assert verify(b"key", header, b'{"a":1}', now=1299)


def test_signature_is_the_documented_hmac() -> None:
    """The v1 value is hex HMAC-SHA256 of "<t>." + body, as docs/webhooks.md tells other languages."""
    expected = hmac.new(b"key", b'1000.{"a":1}', hashlib.sha256).hexdigest()
    assert sign(b"key", 1000, b'{"a":1}') == f"t=1000,v1={expected}"


def test_signature_tolerates_rotation() -> None:
    """A header carrying several v1 entries verifies if any one is made with the receiver's secret."""
    old = sign(b"old-key", 1000, b"{}").partition(",")[2]
    header = f"{sign(b'new-key', 1000, b'{}')},{old}"
    assert verify(b"old-key", header, b"{}", now=1000)
    assert verify(b"new-key", header, b"{}", now=1000)
    assert not verify(b"other-key", header, b"{}", now=1000)


@pytest.mark.parametrize(
    ("secret", "header", "payload", "now"),
    [
        (b"key", sign(b"key", 1000, b'{"a":1}'), b'{"a":2}', 1000),  # body tampered
        (b"other", sign(b"key", 1000, b'{"a":1}'), b'{"a":1}', 1000),  # wrong secret
        (b"key", sign(b"key", 1000, b'{"a":1}'), b'{"a":1}', 1301),  # stale
        (b"key", sign(b"key", 1000, b'{"a":1}'), b'{"a":1}', 699),  # from the future
        (b"key", sign(b"key", 1000, b'{"a":1}').replace("t=1000", "t=1001"), b'{"a":1}', 1000),  # time changed
        (b"key", sign(b"key", 1000, b'{"a":1}').partition(",")[0], b'{"a":1}', 1000),  # no v1
        (b"key", sign(b"key", 1000, b'{"a":1}').partition(",")[2], b'{"a":1}', 1000),  # no t
        (b"key", "t=1000,t=1000," + sign(b"key", 1000, b'{"a":1}').partition(",")[2], b'{"a":1}', 1000),  # two t
        (b"key", "t=1e3,v1=00", b'{"a":1}', 1000),  # not a number
        (b"key", "t=1000,v1=é", b'{"a":1}', 1000),  # not hex, not ASCII
        (b"key", "", b'{"a":1}', 1000),
    ],
)
def test_verify_rejects(secret: bytes, header: str, payload: bytes, now: float) -> None:
    """A tampered body, another secret, a stale or future time, or a malformed header fails verification."""
    assert not verify(secret, header, payload, now=now)


# filters and a plain delivery


def test_filters_pick_subscriptions() -> None:
    """An alert goes to each subscription whose typologies and severities admit it (empty admits all)."""
    subs = (
        WebhookSubscription(name="all", url="https://all.example/", secret=SECRET),
        WebhookSubscription(name="losses", url="https://losses.example/", secret=SECRET,
                            typologies=("transit_loss",)),
        WebhookSubscription(name="urgent", url="https://urgent.example/", secret=SECRET,
                            severities=("high", "critical")),
        WebhookSubscription(name="both", url="https://both.example/", secret=SECRET,
                            typologies=("route_deviation",), severities=("critical",)),
    )

    async def scenario(harness: Harness) -> None:
        await harness.sink.submit(body(alert_id="loss-low", typology="transit_loss", severity="low"))
        await harness.sink.submit(body(alert_id="route-crit", typology="route_deviation", severity="critical"))
        await harness.sink.submit(body(alert_id="route-high", typology="route_deviation", severity="high"))

    harness = run(answers(204), scenario, settings(*subs))
    got = {(r.url.host, r.headers["Aidmon-Alert-Id"]) for r in harness.requests}
    assert got == {
        ("all.example", "loss-low"), ("all.example", "route-crit"), ("all.example", "route-high"),
        ("losses.example", "loss-low"),
        ("urgent.example", "route-crit"), ("urgent.example", "route-high"),
        ("both.example", "route-crit"),
    }


def test_no_matching_subscription_completes_at_once() -> None:
    """An alert no subscription wants returns a future already done, and nothing is sent."""
    only_critical = WebhookSubscription(name="ops", url=URL, secret=SECRET, severities=("critical",))

    async def scenario(harness: Harness) -> None:
        future = harness.sink.submit(body(severity="low"))
        assert future.done()

    harness = run(answers(200), scenario, settings(only_critical))
    assert harness.requests == []


def test_2xx_is_delivered_once_with_signed_headers() -> None:
    """A 2xx answer delivers on the first try, with headers a receiver can verify."""
    harness = run(answers(200), deliver_one)
    assert len(harness.requests) == 1
    request = harness.requests[0]
    assert request.method == "POST"
    assert request.content == body()
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Aidmon-Alert-Id"] == "a-1"
    assert uuid.UUID(request.headers["Aidmon-Delivery"])
    assert request.headers["User-Agent"].startswith("aidmon-webhooks/")
    assert request.headers["Aidmon-Signature"] == sign(SECRET.encode(), int(T0), body())
    assert verify(SECRET.encode(), request.headers["Aidmon-Signature"], request.content, now=T0 + 10)
    assert (harness.count("delivered"), harness.count("retried"), harness.count("dead_lettered")) == (1, 0, 0)
    assert harness.tries_observed() == 1
    assert harness.pending() == 0
    assert harness.dead_letters == []


def test_invalid_alert_is_refused() -> None:
    """A message that is not an alert object raises InvalidAlertError from submit and sends nothing."""

    async def scenario(harness: Harness) -> None:
        for bad in (b"not json", b"[1]", json.dumps({"typology": "transit_loss", "severity": "low"}).encode()):
            with pytest.raises(InvalidAlertError):
                harness.sink.submit(bad)

    harness = run(answers(200), scenario)
    assert harness.requests == []


# retries and dead letters


def test_503_twice_then_200_is_retried_then_delivered() -> None:
    """Two 503s are retried with jittered, doubling backoff under one delivery id, re-signed each try."""
    harness = run(answers(503, 503, 200), deliver_one, settings(first_retry_seconds=1.0))
    assert len(harness.requests) == 3
    assert len({r.headers["Aidmon-Delivery"] for r in harness.requests}) == 1
    assert (harness.count("delivered"), harness.count("retried"), harness.count("dead_lettered")) == (1, 2, 0)
    assert harness.tries_observed() == 3
    first, second = harness.time.sleeps
    assert 0.5 <= first <= 1.0
    assert 1.0 <= second <= 2.0
    signatures = [r.headers["Aidmon-Signature"] for r in harness.requests]
    try_times = [T0, T0 + first, T0 + first + second]
    assert signatures == [sign(SECRET.encode(), int(t), body()) for t in try_times]
    assert harness.dead_letters == []
    assert harness.pending() == 0


def test_backoff_doubles_and_is_capped() -> None:
    """The wait after try n is drawn from [base/2, base], base = min(max, first * 2**(n-1))."""

    async def scenario(harness: Harness) -> None:
        for attempt in range(1, 80):
            base = min(30.0, 0.5 * 2 ** (attempt - 1))
            for _ in range(20):
                assert base / 2 <= harness.sink.backoff_seconds(attempt) <= base

    run(answers(200), scenario, settings(first_retry_seconds=0.5, max_retry_seconds=30.0))


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"), [(429, "7", 7.0), (503, "12", 12.0), (429, "9000", 30.0)]
)
def test_retry_after_is_honoured(status: int, retry_after: str, expected: float) -> None:
    """A 429 or 503 with Retry-After in seconds waits that long (at most max_retry_seconds) before the next try."""
    harness = run(answers(status, 200, headers={"Retry-After": retry_after}), deliver_one,
                  settings(first_retry_seconds=1.0, max_retry_seconds=30.0))
    assert harness.time.sleeps == [expected]
    assert harness.count("delivered") == 1


def test_retry_after_of_other_statuses_is_ignored() -> None:
    """A Retry-After on a status other than 429 and 503 leaves the backoff as it is."""
    harness = run(answers(500, 200, headers={"Retry-After": "20"}), deliver_one,
                  settings(first_retry_seconds=1.0, max_retry_seconds=30.0))
    [delay] = harness.time.sleeps
    assert 0.5 <= delay <= 1.0


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 413, 422, 301])
def test_permanent_status_is_dead_lettered_at_once(status: int) -> None:
    """A 4xx other than 408, 425 and 429 (or a redirect) is not retried: it goes to the dead letters at once."""
    harness = run(answers(status), deliver_one)
    assert len(harness.requests) == 1
    assert harness.time.sleeps == []
    assert (harness.count("delivered"), harness.count("retried"), harness.count("dead_lettered")) == (0, 0, 1)
    [record] = harness.dead_letters
    assert (record["attempts"], record["last_error"]) == (1, f"HTTP {status}")


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 504])
def test_transient_status_is_retried(status: int) -> None:
    """408, 425, 429 and 5xx answers are retried."""
    harness = run(answers(status, 200), deliver_one)
    assert len(harness.requests) == 2
    assert (harness.count("delivered"), harness.count("retried")) == (1, 1)


def test_always_500_is_dead_lettered_after_max_attempts() -> None:
    """A receiver failing every try gets max_attempts tries, then the alert goes to the dead letters whole."""
    url = "https://bob:hunter2@hooks.example.org/aidmon?x=1"
    sub = WebhookSubscription(name="ops", url=url, secret=SECRET)
    harness = run(answers(500), deliver_one, settings(sub, max_attempts=4))
    assert len(harness.requests) == 4
    assert len(harness.time.sleeps) == 3
    assert (harness.count("delivered"), harness.count("retried"), harness.count("dead_lettered")) == (0, 3, 1)
    assert harness.pending() == 0
    [record] = harness.dead_letters
    assert record == {
        "subscription": "ops",
        "url": "https://hooks.example.org/aidmon?x=1",
        "alert_id": "a-1",
        "alert": alert(),
        "attempts": 4,
        "last_error": "HTTP 500",
        "first_try_at": "2023-11-14T22:13:20.000Z",
        "dead_lettered_at": record["dead_lettered_at"],
    }
    assert record["dead_lettered_at"] > record["first_try_at"]
    assert record["dead_lettered_at"].endswith("Z")
    assert SECRET not in json.dumps(record)


def test_connection_errors_are_retried_and_named_without_credentials() -> None:
    """Connection errors and timeouts are retried; the record names the last one, without secret or userinfo."""
    url = "https://bob:hunter2@hooks.example.org/aidmon"
    errors = [httpx.ConnectTimeout("timed out"), httpx.ConnectError(f"refused by {url} ({SECRET})")]

    async def failing(request: httpx.Request) -> httpx.Response:
        raise errors.pop(0) if len(errors) > 1 else errors[0]

    sub = WebhookSubscription(name="ops", url=url, secret=SECRET)
    harness = run(failing, deliver_one, settings(sub, max_attempts=3))
    assert len(harness.requests) == 3
    assert (harness.count("retried"), harness.count("dead_lettered")) == (2, 1)
    [record] = harness.dead_letters
    assert record["last_error"].startswith("ConnectError: refused by https://hooks.example.org/aidmon")
    assert "hunter2" not in record["last_error"]
    assert SECRET not in record["last_error"]


def test_dead_letter_failure_still_completes(caplog: pytest.LogCaptureFixture) -> None:
    """If writing the dead letter raises, the error is logged and the future still completes."""

    async def broken(record: dict[str, Any]) -> None:
        raise RuntimeError("dead-letter topic unavailable")

    async def scenario(harness: Harness) -> None:
        future = harness.sink.submit(body())
        await asyncio.wait_for(future, timeout=5)
        assert future.done() and not future.cancelled()

    with caplog.at_level(logging.ERROR, logger="aidmon.webhooks"):
        harness = run(answers(410), scenario, dead_letter=broken)
    assert harness.count("dead_lettered") == 1
    assert harness.pending() == 0
    assert "dead letter could not be written" in caplog.text
    assert "RuntimeError: dead-letter topic unavailable" in caplog.text


def test_logs_hold_no_secret_signature_or_body(caplog: pytest.LogCaptureFixture) -> None:
    """The sink's logs name subscription, alert id, attempt and outcome, never secret, signature or body."""
    with caplog.at_level(logging.DEBUG, logger="aidmon.webhooks"):
        harness = run(answers(503, 503, 200), deliver_one)
    ours = [r.getMessage() for r in caplog.records if r.name == "aidmon.webhooks"]
    assert ours
    assert any("ops" in m and "a-1" in m and "attempt 3" in m and "delivered" in m for m in ours)
    signatures = [r.headers["Aidmon-Signature"].partition("v1=")[2] for r in harness.requests]
    for message in ours:
        assert SECRET not in message
        assert "BODY-MARKER" not in message
        assert not any(s in message for s in signatures)


# never blocking, bounded, and shutdown


async def hang(request: httpx.Request) -> httpx.Response:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


def test_submit_returns_before_the_network_answers() -> None:
    """submit returns a pending future while the receiver hangs; aclose cancels it and nothing is dead-lettered."""
    futures: list[asyncio.Future[None]] = []

    async def scenario(harness: Harness) -> None:
        future = harness.sink.submit(body())
        futures.append(future)
        assert not future.done()
        for _ in range(20):
            await asyncio.sleep(0)
        assert not future.done()
        assert len(harness.requests) == 1
        assert harness.pending() == 1
        await asyncio.wait_for(harness.sink.aclose(), timeout=5)
        assert future.cancelled()
        assert harness.pending() == 0

    harness = run(hang, scenario)
    assert futures[0].cancelled()
    assert harness.dead_letters == []
    assert harness.count("dead_lettered") == harness.count("delivered") == 0


def test_aclose_cancels_deliveries_waiting_to_retry() -> None:
    """aclose cancels a delivery sleeping before its next try; no dead letter, and submit is refused after."""

    async def scenario(harness: Harness) -> None:
        never = asyncio.Event()

        async def stuck_sleep(seconds: float) -> None:
            harness.time.sleeps.append(seconds)
            await never.wait()

        harness.sink.sleep = stuck_sleep
        future = harness.sink.submit(body())
        while not harness.time.sleeps:
            await asyncio.sleep(0)
        await asyncio.wait_for(harness.sink.aclose(), timeout=5)
        assert future.cancelled()
        with pytest.raises(SinkClosedError):
            harness.sink.submit(body())

    harness = run(answers(503), scenario)
    assert len(harness.requests) == 1
    assert harness.dead_letters == []
    assert harness.pending() == 0


def test_tries_in_flight_are_bounded_per_subscription() -> None:
    """However many alerts wait, at most 8 requests of one subscription are in flight; all count as pending."""

    async def scenario(harness: Harness) -> None:
        futures = [harness.sink.submit(body(alert_id=f"a-{i}")) for i in range(20)]
        for _ in range(50):
            await asyncio.sleep(0)
        assert len(harness.requests) == 8
        assert harness.pending() == 20
        assert not any(f.done() for f in futures)

    run(hang, scenario)
