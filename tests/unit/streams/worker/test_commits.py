"""Faust's commit offset past a gap of offsets acknowledged already (`streams.worker.commits`)."""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace
from typing import Any

from faust.transport.consumer import Consumer
from faust.types import TP
from intervaltree import IntervalTree

from streams.worker import commits

PARTITION = TP("aid.events.v1", 2)


def _consumer(committed: int, acked: list[int], gap: tuple[int, int] | None) -> Any:
    """What `_new_offset` reads of Faust's consumer: committed offsets, acknowledged offsets, gaps."""
    consumer = SimpleNamespace(_committed_offset=defaultdict(lambda: None), _acked=defaultdict(list),
                               _acked_index=defaultdict(set), _gap=defaultdict(IntervalTree))
    consumer._committed_offset[PARTITION] = committed
    consumer._acked[PARTITION] = list(acked)
    consumer._acked_index[PARTITION] = set(acked)
    if gap is not None:
        consumer._gap[PARTITION].addi(*gap)
    return consumer


def _original_function() -> Any:
    """Faust's own `_new_offset`, installed or not."""
    return getattr(Consumer._new_offset, "__wrapped__", Consumer._new_offset)


def _original(consumer: Any) -> int | None:
    return _original_function()(consumer, PARTITION)  # type: ignore[no-any-return]


def test_a_gap_over_offsets_acknowledged_already_commits_past_them_at_once() -> None:
    """The restart seen in CI: offsets 5333 to 5399 acknowledged, then a gap recorded over
    5334 to 5399. Faust alone commits 5335 (each offset is in its list twice); with the
    gaps merged first, 5400."""
    acked = list(range(5333, 5400))
    assert _original(_consumer(5333, acked, (5334, 5400))) == 5335
    merged = commits.merging_gaps(_original_function())
    consumer = _consumer(5333, acked, (5334, 5400))
    assert merged(consumer, PARTITION) == 5400
    assert consumer._acked[PARTITION] == [] and not consumer._gap[PARTITION]


def test_a_gap_over_offsets_not_acknowledged_yet_counts_as_done_as_in_faust() -> None:
    """A hole read on its own (offsets 10 to 19 recorded as a gap, 20 to 24 acknowledged):
    the commit goes to 25, as Faust's does; a gap past the head leaves nothing to commit."""
    merged = commits.merging_gaps(_original_function())
    assert merged(_consumer(10, list(range(20, 25)), (10, 20)), PARTITION) == 25
    assert _original(_consumer(10, list(range(20, 25)), (10, 20))) == 25
    assert merged(_consumer(10, list(range(20, 25)), None), PARTITION) is None


def test_install_wraps_faust_once() -> None:
    commits.install()
    wrapped = Consumer._new_offset
    commits.install()
    assert Consumer._new_offset is wrapped and wrapped.__wrapped__ is not wrapped  # type: ignore[attr-defined]
    assert getattr(wrapped.__wrapped__, "__wrapped__", None) is None  # type: ignore[attr-defined]  # not twice
