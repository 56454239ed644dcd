"""How long the broker may hold a fetch request of the worker's consumer.

Faust builds its consumer with `fetch_max_wait_ms = 1500`. aiokafka sends one fetch
request at a time to a broker, for the assigned partitions with nothing buffered, and the
broker holds it until one of them has data or that time is up. If every partition with
new messages still had some buffered when the request was built, the request names only
quiet ones: the lanes between two flushes, a partition caught up, the changelog. The broker
then holds it for up to 1.5 s, and no fetch for the busy partitions can leave meanwhile.
On one broker, `route` got nothing for 1.1 to 1.5 s at a time, five times in ten seconds,
while 160 to 370 messages waited at the broker. The worker fell 3 s behind a stream of 500
events a second and stayed there. `FETCH_WAIT_MS` bounds that wait. A quiet worker then
sends at most 1000 / `FETCH_WAIT_MS` fetch requests a second, each answered at once when
data comes.

aiokafka reads the setting from its fetcher at each request, and Faust does not expose
it: it is set on the client Faust built, in its consumer thread's objects, at every
assignment (the client and its fetcher outlive a rebalance).
"""

from __future__ import annotations

from typing import Any

FETCH_WAIT_MS = 50


def bound_fetch_wait(app: Any, wait_ms: int = FETCH_WAIT_MS) -> bool:
    """Set the longest time the broker holds a fetch of `app`'s consumer; False if Faust's
    Kafka client is not there (yet)."""
    thread = getattr(app.consumer, "_thread", None)
    client = getattr(thread, "_consumer", None)
    if client is None:
        return False
    client._fetch_max_wait_ms = wait_ms  # what a fetcher made at its start takes
    fetcher = getattr(client, "_fetcher", None)
    if fetcher is not None:
        fetcher._fetch_max_wait_ms = wait_ms  # what the running fetcher puts in each request
    return True
