"""Signed webhook delivery of alerts, at least once, with retries and dead letters.

    submit(alert) ─► a delivery per matching subscription ─► POST, signed per try
                                                           ├─ 2xx: delivered
                                                           ├─ network error, 408, 425, 429, 5xx: retried after a backoff
                                                           └─ any other status, or max_attempts tries: dead letter

`WebhookSink.submit` never waits on the network: it returns a future that completes when
every matching subscription has received the alert or dead-lettered it, and the worker
acknowledges the alert's Kafka message only then. A delivery keeps its `Aidmon-Delivery`
id across tries; each try is signed with its own time (`sign`, `verify`). At most
`MAX_CONCURRENT_TRIES` tries of a subscription are in flight at once, however many
deliveries wait, so a dead receiver cannot make the sink open connections without bound.
The receiver's reply body is never read: its status code is its answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Final

import httpx

from schemas.exceptions import InvalidAlertError, SinkClosedError
from streams.outputs.metrics import Metrics
from streams.settings import WebhookSettings, WebhookSubscription

log = logging.getLogger("aidmon.webhooks")

MAX_CONCURRENT_TRIES: Final = 8
RETRIED_STATUSES: Final = frozenset({408, 425, 429})  # and every 5xx
RETRY_AFTER_STATUSES: Final = frozenset({429, 503})
SIGNATURE_HEADER: Final = "Aidmon-Signature"


def _user_agent() -> str:
    try:
        return f"aidmon-webhooks/{version('aidmon')}"
    except PackageNotFoundError:  # a source tree that was never installed
        return "aidmon-webhooks/0+unknown"


USER_AGENT: Final = _user_agent()

DeadLetter = Callable[[dict[str, Any]], Awaitable[None]]


def _digest(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The `Aidmon-Signature` value: `t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>." + body>`."""
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def verify(secret: bytes, header: str, body: bytes, now: float, tolerance_seconds: float = 300) -> bool:
    """Whether `header` signs `body` with `secret` at a time within `tolerance_seconds` of `now`.

    Any one of several `v1=` entries may match (a sender rotating its secret signs with both).
    """
    timestamps: list[str] = []
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            candidates.append(value)
    if len(timestamps) != 1 or not candidates or not _is_count(timestamps[0], max_digits=12):
        return False
    timestamp = int(timestamps[0])
    if abs(now - timestamp) > tolerance_seconds:
        return False
    expected = _digest(secret, timestamp, body).encode()
    matched = False
    for candidate in candidates:  # no early exit: every candidate costs the same
        matched |= hmac.compare_digest(expected, candidate.encode())
    return matched


def make_client(settings: WebhookSettings) -> httpx.AsyncClient:
    """The worker's HTTP client: the configured timeout per try, no redirects, no proxy from the environment."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.timeout_seconds), follow_redirects=False, trust_env=False
    )


def rfc3339(seconds: float) -> str:
    """`seconds` since the epoch as RFC 3339 UTC, to the millisecond."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class _Failure:
    """One try that did not deliver: why, whether to try again, and the receiver's Retry-After."""

    error: str
    retryable: bool
    retry_after_seconds: float | None = None


class _Subscriber:
    """A subscription as the sink uses it: its key, filters, redacted URL and in-flight bound."""

    def __init__(self, subscription: WebhookSubscription) -> None:
        self.name = subscription.name
        self.url = str(subscription.url)
        self.public_url = str(httpx.URL(self.url).copy_with(userinfo=b""))
        self.secret = subscription.secret.get_secret_value().encode()
        self.typologies = frozenset(subscription.typologies)
        self.severities = frozenset(subscription.severities)
        self.tries = asyncio.Semaphore(MAX_CONCURRENT_TRIES)

    def wants(self, alert: dict[str, Any]) -> bool:
        return (not self.typologies or alert["typology"] in self.typologies) and (
            not self.severities or alert["severity"] in self.severities
        )

    def scrub(self, message: str) -> str:
        """`message` without the secret or the URL's credentials, short enough for a record."""
        message = message.replace(self.url, self.public_url)
        secret = self.secret.decode(errors="replace")
        return (message.replace(secret, "[secret]") if secret else message)[:500]


class WebhookSink:
    """Delivers each submitted alert to every subscription whose filters it passes."""

    def __init__(
        self,
        settings: WebhookSettings,
        client: httpx.AsyncClient,
        metrics: Metrics,
        dead_letter: DeadLetter,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.metrics = metrics
        self.dead_letter = dead_letter
        self.clock = clock
        self.sleep = sleep
        self.rng = rng if rng is not None else random.Random()  # noqa: S311 - jitter, not cryptography
        self.subscribers: Sequence[_Subscriber] = [_Subscriber(s) for s in settings.subscriptions]
        self.tasks: set[asyncio.Task[None]] = set()
        self.closed = False

    def submit(self, body: bytes) -> asyncio.Future[None]:
        """Start delivering one alert (its JSON bytes, sent as they are); never waits on the network.

        The future completes when every matching subscription has received or dead-lettered
        the alert; it is cancelled by `aclose`. Raises InvalidAlertError if `body` is not an alert.
        """
        if self.closed:
            raise SinkClosedError("the webhook sink is closed: the worker is stopping")
        alert = decode_alert(body)
        subscribers = [s for s in self.subscribers if s.wants(alert)]
        if not subscribers:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done
        task = asyncio.create_task(self._deliver_all(subscribers, alert, body))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def aclose(self) -> None:
        """Cancel every delivery under way and wait for them; they stay unacknowledged, so Kafka
        delivers their alerts again after a restart. The injected client is the caller's to close."""
        self.closed = True
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _deliver_all(self, subscribers: list[_Subscriber], alert: dict[str, Any], body: bytes) -> None:
        await asyncio.gather(*(self._deliver(s, alert, body) for s in subscribers))

    async def _deliver(self, subscriber: _Subscriber, alert: dict[str, Any], body: bytes) -> None:
        """Try until delivered or dead-lettered; never raises (but is cancellable)."""
        alert_id: str = alert["alert_id"]
        delivery_id = str(uuid.uuid4())
        first_try_at = self.clock()
        pending = self.metrics.webhook_pending.labels(subscription=subscriber.name)
        pending.inc()
        try:
            attempt = 1
            failure = await self._try(subscriber, alert_id, delivery_id, body)
            while failure is not None and failure.retryable and attempt < self.settings.max_attempts:
                self.metrics.webhook_deliveries.labels(subscription=subscriber.name, outcome="retried").inc()
                delay = self.backoff_seconds(attempt, failure.retry_after_seconds)
                # tries 1, 2, 4, 8, ... at WARNING: a receiver down for hours does not flood the log
                level = logging.WARNING if attempt & (attempt - 1) == 0 else logging.DEBUG
                log.log(level, "webhook %s: alert %s attempt %d failed (%s), retrying in %.1f s",
                        subscriber.name, alert_id, attempt, failure.error, delay)
                await self.sleep(delay)
                attempt += 1
                failure = await self._try(subscriber, alert_id, delivery_id, body)
            if failure is None:
                self.metrics.webhook_deliveries.labels(subscription=subscriber.name, outcome="delivered").inc()
                log.info("webhook %s: alert %s delivered on attempt %d", subscriber.name, alert_id, attempt)
                return
            self.metrics.webhook_deliveries.labels(subscription=subscriber.name, outcome="dead_lettered").inc()
            log.error("webhook %s: alert %s dead-lettered after attempt %d (%s)",
                      subscriber.name, alert_id, attempt, failure.error)
            record = {
                "subscription": subscriber.name,
                "url": subscriber.public_url,
                "alert_id": alert_id,
                "alert": alert,
                "attempts": attempt,
                "last_error": failure.error,
                "first_try_at": rfc3339(first_try_at),
                "dead_lettered_at": rfc3339(self.clock()),
            }
            try:
                await self.dead_letter(record)
            except Exception as exc:  # the message is acknowledged anyway: never hang the stream
                log.error("webhook %s: alert %s: the dead letter could not be written, it is lost (%s)",
                          subscriber.name, alert_id, subscriber.scrub(f"{type(exc).__name__}: {exc}"))
        finally:
            pending.dec()

    async def _try(self, subscriber: _Subscriber, alert_id: str, delivery_id: str, body: bytes) -> _Failure | None:
        """One signed POST; None if the receiver took it."""
        async with subscriber.tries:
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "Aidmon-Alert-Id": alert_id,
                "Aidmon-Delivery": delivery_id,
                SIGNATURE_HEADER: sign(subscriber.secret, int(self.clock()), body),
            }
            started = time.perf_counter()
            try:
                async with self.client.stream("POST", subscriber.url, content=body, headers=headers) as response:
                    status = response.status_code
                    retry_after = response.headers.get("Retry-After")
            except httpx.TransportError as exc:  # connect, timeout, read, write, protocol
                return _Failure(subscriber.scrub(f"{type(exc).__name__}: {exc}"), retryable=True)
            except Exception as exc:  # a bug or a bad header value: trying again would not help
                return _Failure(subscriber.scrub(f"{type(exc).__name__}: {exc}"), retryable=False)
            finally:
                self.metrics.webhook_seconds.labels(subscription=subscriber.name).observe(
                    time.perf_counter() - started
                )
        if 200 <= status < 300:
            return None
        return _Failure(
            f"HTTP {status}",
            retryable=status in RETRIED_STATUSES or status >= 500,
            retry_after_seconds=parse_retry_after(retry_after) if status in RETRY_AFTER_STATUSES else None,
        )

    def backoff_seconds(self, attempt: int, retry_after_seconds: float | None = None) -> float:
        """The wait after failed try `attempt`: drawn from [base/2, base], base doubling from
        first_retry_seconds up to max_retry_seconds; never less than the receiver's Retry-After
        (itself capped at max_retry_seconds)."""
        cap = self.settings.max_retry_seconds
        base = min(cap, self.settings.first_retry_seconds * 2.0 ** min(attempt - 1, 64))
        delay = self.rng.uniform(base / 2, base)
        if retry_after_seconds is not None:
            delay = max(delay, min(cap, retry_after_seconds))
        return delay


def decode_alert(body: bytes) -> dict[str, Any]:
    """The alert object of `body`, with the three fields delivery needs checked."""
    try:
        alert = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidAlertError(f"not JSON ({exc})") from None
    if not isinstance(alert, dict):
        raise InvalidAlertError("not a JSON object")
    for field in ("alert_id", "typology", "severity"):
        if not isinstance(alert.get(field), str) or not alert[field]:
            raise InvalidAlertError(f"no {field}")
    return alert


def parse_retry_after(value: str | None) -> float | None:
    """A Retry-After in seconds; None for an HTTP date (the backoff applies) or nonsense."""
    if value is None or not _is_count(value.strip(), max_digits=9):
        return None
    return float(value.strip())


def _is_count(text: str, max_digits: int) -> bool:
    return 0 < len(text) <= max_digits and text.isascii() and text.isdigit()
