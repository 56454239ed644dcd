"""Keeping the Kafka clients' logs readable while a broker is away.

aiokafka (under Faust) and kafka-python retry a lost broker every few tens of milliseconds
and log an error each time ("Unable connect to node with id 1", "Unable to update metadata
from [1]"): a worker logged 127,444 lines during a 20 s outage. `KafkaNoiseFilter`, put on
the handlers of the root logger (`quiet_kafka_clients`), keeps that to a few lines a minute:

- the warnings and errors of the Kafka clients' loggers (`NOISY_LOGGERS`) come in bursts: a
  burst ends when none has come for `interval_seconds`;
- in each `interval_seconds` of a burst, at most `max_kinds` records go through: the first of
  each kind (logger and message template) not yet shown in the burst, since it says what went
  wrong, and, if none did, the first record of the window;
- a record that goes through carries the count of those held back since the last one that
  did (and then loses its traceback: one line); the rest are dropped. A steady outage is
  thus one line every `interval_seconds`.

Records below WARNING and records of other loggers are not touched, except the clients'
notes on their own pace (`DEBUG_ONLY`), which show only when the root logger is at DEBUG:
Faust's "producer buffer full" and "producer flush took" (the stream waiting for the
producer, as designed: an ordinary publish made dozens) and kafka-python's "Task ... ran for
0.106s ... It is blocking the event loop" (its own loop, late on a busy machine). None is a
fault, and an operator can do nothing about one. The worker's own account of an outage
(once down, once back) is `streams.kafka.watch.BrokerWatch`'s.

The clock is an argument, so the tests drive the filter with a fake one.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

NOISY_LOGGERS = ("aiokafka", "kafka", "faust.transport")
DEBUG_ONLY = (  # (logger, a part of the message)
    ("faust.transport.producer", "producer buffer full"),
    ("faust.transport.producer", "producer flush took"),
    ("kafka.net.selector", "It is blocking the event loop"),
)
INTERVAL_SECONDS = 30.0
MAX_KINDS = 3
_DECIDED = "aidmon_noise_kept"  # the record attribute that keeps one decision per record, however many handlers


class KafkaNoiseFilter(logging.Filter):
    """Lets through the first few Kafka client warnings of a burst, then one line every
    `interval_seconds` with the count of those held back (see the module docstring)."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        interval_seconds: float = INTERVAL_SECONDS,
        max_kinds: int = MAX_KINDS,
        loggers: tuple[str, ...] = NOISY_LOGGERS,
    ) -> None:
        super().__init__()
        self._clock, self._interval, self._max_kinds = clock, interval_seconds, max_kinds
        self._loggers = loggers
        self._kinds: set[tuple[str, object]] = set()  # what went through in this burst
        self._last_noise = -math.inf  # when the latest noisy record came
        self._window_start = -math.inf  # the current window of `interval_seconds`
        self._shown_in_window = 0
        self._last_shown = -math.inf  # when a noisy record last went through
        self.held = 0  # noisy records dropped since the last one that went through

    def filter(self, record: logging.LogRecord) -> bool:
        decided = getattr(record, _DECIDED, None)
        if decided is None:
            decided = self._decide(record)
            setattr(record, _DECIDED, decided)
        return bool(decided)

    def _decide(self, record: logging.LogRecord) -> bool:
        if any(record.name == name and part in str(record.msg) for name, part in DEBUG_ONLY):
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        if record.levelno < logging.WARNING or not _under(record.name, self._loggers):
            return True
        now = self._clock()
        if now - self._last_noise >= self._interval:  # a new burst
            self._kinds.clear()
        self._last_noise = now
        if now - self._window_start >= self._interval:  # a new window
            self._window_start, self._shown_in_window = now, 0
        kind = (record.name, record.msg)
        if self._shown_in_window < self._max_kinds and (kind not in self._kinds or not self._shown_in_window):
            self._kinds.add(kind)
            self._shown_in_window += 1
            self._show(record, now)
            return True
        self.held += 1
        return False

    def _show(self, record: logging.LogRecord, now: float) -> None:
        """Let `record` through, counting in it those held back since the last one shown."""
        if self.held:
            message = record.getMessage()
            record.msg = "%s [and %d more Kafka client warnings in the last %.0f s, not shown]"
            record.args = (message, self.held, now - self._last_shown)
            record.exc_info = record.exc_text = record.stack_info = None
        self.held = 0
        self._last_shown = now


def _under(name: str, loggers: tuple[str, ...]) -> bool:
    return any(name == parent or name.startswith(parent + ".") for parent in loggers)


def quiet_kafka_clients(noise: KafkaNoiseFilter | None = None, root: logging.Logger | None = None) -> KafkaNoiseFilter:
    """Put `noise` (a new filter by default) on every handler of the root logger that lacks
    one; call it again after anything that replaces the handlers. Returns the filter."""
    noise = noise if noise is not None else KafkaNoiseFilter()
    for handler in (root or logging.getLogger()).handlers:
        if not any(isinstance(f, KafkaNoiseFilter) for f in handler.filters):
            handler.addFilter(noise)
    return noise
