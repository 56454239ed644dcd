"""The garbage collector's tuning for a long run: what its thresholds leave, the worker's
timed full collection frees."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import weakref

from streams.bootstrap import collect_cycles


class Node:
    """An object in a reference cycle, as Faust's and the Kafka clients' objects often are."""

    def __init__(self) -> None:
        self.me = self


def test_the_timed_collection_frees_cycles_the_collector_left() -> None:
    enabled = gc.isenabled()
    gc.disable()  # as good as the tuned thresholds for the oldest generation: nothing is collected on its own
    try:
        node = Node()
        gone = weakref.ref(node)
        del node
        assert gone() is not None  # a cycle: reference counting alone does not free it

        async def a_while() -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(collect_cycles(every_seconds=0.01), timeout=0.2)

        asyncio.run(a_while())
        assert gone() is None
    finally:
        if enabled:
            gc.enable()
