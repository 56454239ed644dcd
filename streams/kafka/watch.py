"""`BrokerWatch`: whether a running worker's broker answers, said once when it goes away and
once when it is back, and kept for `/readyz` and the `aidmon_broker_up` gauge.

The Kafka clients under Faust find a lost broker again by themselves (they retry for ever);
what they do not do is say so in a way an operator can follow, or tell a load balancer. The
watch asks the bootstrap servers (`streams.kafka.reach.broker_answers`, Kafka's ApiVersions
request) every `interval_seconds` while the broker answers; after `misses_for_down` missed
answers in a row it logs one line that the broker is away and calls `on_change(False)`, then
asks again with a backoff (`first_backoff_seconds`, doubling, at most `max_backoff_seconds`)
until it answers, logs one line that it is back (and after how long) and calls
`on_change(True)`. The clients' own warnings meanwhile are held back by
`streams.kafka.noise.KafkaNoiseFilter`. A broker away `max_away_seconds` or more calls
`on_too_long` (with the seconds it has been away) at each question after that: the worker
exits then, before its producer drops the messages it holds (`kafka.max_outage_seconds`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable

from streams.kafka.noise import INTERVAL_SECONDS
from streams.kafka.reach import broker_answers
from streams.kafka.servers import bootstrap_servers

log = logging.getLogger("aidmon.worker")

ASK_SECONDS = 3.0  # one question; a broker that takes longer to answer ApiVersions is not serving


class BrokerWatch:
    """Whether the broker answers (`up`), checked in the background by `run`."""

    def __init__(
        self,
        broker: str,
        on_change: Callable[[bool], object] = lambda up: None,
        *,
        clock: Callable[[], float] = time.monotonic,
        ask: Callable[[str, float], Awaitable[bool]] = broker_answers,
        interval_seconds: float = 2.0,
        misses_for_down: int = 2,
        first_backoff_seconds: float = 1.0,
        max_backoff_seconds: float = 5.0,
        max_away_seconds: float = math.inf,
        on_too_long: Callable[[float], object] = lambda away: None,
    ) -> None:
        self._broker, self._where = broker, ",".join(bootstrap_servers(broker))
        self._on_change, self._clock, self._ask = on_change, clock, ask
        self._interval, self._misses_for_down = interval_seconds, misses_for_down
        self._first_backoff, self._max_backoff = first_backoff_seconds, max_backoff_seconds
        self._max_away, self._on_too_long = max_away_seconds, on_too_long
        self.up = True  # the worker checked it before starting
        self.misses = 0  # questions in a row without an answer
        self._down_since = math.nan

    async def run(self) -> None:
        """Ask, note the answer, wait, for ever (a task of the worker's app)."""
        while True:
            self.observe(await self._ask(self._broker, ASK_SECONDS))
            await asyncio.sleep(self.delay())

    def observe(self, answered: bool) -> None:
        """Note one answer (or its absence): log and hand on a change of state, once."""
        self.misses = 0 if answered else self.misses + 1
        if answered and not self.up:
            self.up = True
            log.warning("the Kafka broker at %s answers again, after %.0f s away; the worker goes on",
                        self._where, self._clock() - self._down_since)
            self._on_change(True)
        elif not answered and self.up and self.misses >= self._misses_for_down:
            self.up = False
            self._down_since = self._clock()
            log.error("the Kafka broker at %s does not answer: the worker waits for it and retries "
                      "(/readyz answers 503, aidmon_broker_up is 0; the Kafka clients' warnings are "
                      "summarised every %.0f s meanwhile)%s", self._where, INTERVAL_SECONDS,
                      "" if math.isinf(self._max_away) else f"; after {self._max_away:.0f} s it exits, to be restarted")
            self._on_change(False)
        elif not self.up and self._clock() - self._down_since >= self._max_away:
            self._on_too_long(self._clock() - self._down_since)

    def delay(self) -> float:
        """Seconds until the next question: the interval while up, a growing backoff while down."""
        if self.up:
            return min(self._interval, self._first_backoff) if self.misses else self._interval
        backoff = self._first_backoff * 2 ** max(0, self.misses - self._misses_for_down)
        return float(min(self._max_backoff, backoff))
