"""What the live commands check before their Kafka client starts, and how a Kafka failure ends a
command: one line on standard error, exit status 1 (`KAFKA_FAILED`), never a traceback.

    broker_answers   the broker answers Kafka's ApiVersions request within a few seconds
                     (streams.kafka.reach), else one line naming the address and
                     suggesting `aidmon broker start`
    topics_exist     the topics a command needs are there, else one line naming the
                     missing ones and what to do
    port_free        the worker's web port can be listened on, else one line naming it
                     and how to choose another
    retried          a request again while the broker answers that it is not ready for it
                     (a new broker has no group coordinator for a second or two)
    kafka_failure    the line for a Kafka client's exception that escaped a command
                     (the broker went away after the check, a request timed out)
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from streams.kafka.reach import broker_problem
from streams.kafka.servers import bootstrap_servers
from streams.kafka.topics import missing_topics

KAFKA_FAILED = 1  # the exit status of a command whose broker or topics are not there
RETRY_SECONDS = 10.0

T = TypeVar("T")


def say(line: str) -> None:
    """One line on standard error, as every aidmon error is written."""
    print(f"aidmon: error: {line}", file=sys.stderr)


def broker_answers(broker: str) -> bool:
    """True when `broker` answers; else False, after one line saying where none answered."""
    problem = broker_problem(broker)
    if problem is not None:
        say(problem)
    return problem is None


def topics_exist(broker: str, names: Sequence[str], remedy: str) -> bool:
    """True when every topic of `names` exists on `broker`; else False, after one line naming
    the missing ones and `remedy`."""
    missing = missing_topics(broker, names)
    if missing:
        plural = "s" if len(missing) > 1 else ""
        say(f"topic{plural} {', '.join(missing)} missing on {where(broker)}: {remedy}")
    return not missing


def port_free(host: str, port: int) -> bool:
    """True when `port` on `host` can be listened on (as the worker's web server will: the
    address reusable, as `create_server` makes it on POSIX); else False, after one line
    naming it and how to choose another."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        say(f"the worker's web port {port} on {host} cannot be listened on ({exc.strerror or exc}): another "
            "worker or service holds it; choose another with --web-port or [api] port")
        return False
    return True


def retried(request: Callable[[], T], seconds: float = RETRY_SECONDS) -> T:
    """`request()`, again every half second while it raises a retriable Kafka error
    (`retriable` set: no coordinator yet, a leader being elected), for up to `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return request()
        except Exception as exc:
            if not getattr(exc, "retriable", False) or time.monotonic() >= deadline:
                raise
        time.sleep(0.5)


def kafka_failure(exc: BaseException, broker: str | None) -> str | None:
    """The one line for an exception of a Kafka client (kafka-python or aiokafka), or None
    for any other exception."""
    if type(exc).__module__.split(".")[0] not in {"kafka", "aiokafka"}:
        return None
    name, text = type(exc).__name__, str(exc)
    detail = text if text.startswith(name) else f"{name}: {text}" if text else name  # kafka-python's name themselves
    at = where(broker) if broker else "the configured broker"
    if getattr(exc, "retriable", False):
        return f"the Kafka client failed with {at} ({detail}): the broker is not ready for it yet, try again"
    return f"the Kafka client failed with {at} ({detail}): is the broker running? `aidmon broker start` starts one"


def where(broker: str) -> str:
    return ",".join(bootstrap_servers(broker))
