"""Progress and handled offsets: what the heartbeat announces and the idle check measures."""

from __future__ import annotations

import time
from types import SimpleNamespace

from streams.worker.progress import HandledOffsets, Progress


def test_a_partition_is_announced_once_each_time_its_event_time_moves_on() -> None:
    """A tick is due after a later event, once; an earlier event does not move the time back."""
    progress = Progress()
    progress.track(0, now=0.0)
    assert progress.due_tick(0) is None
    progress.saw(0, event_time=100.0, stamp=5.0)
    assert progress.due_tick(0) == (100.0, 5.0)
    assert progress.due_tick(0) is None
    progress.saw(0, event_time=90.0, stamp=6.0)
    assert progress.due_tick(0) is None
    progress.saw(0, event_time=120.0, stamp=7.0)
    assert progress.due_tick(0) == (120.0, 7.0)


def test_a_quiet_partition_is_idle_once_until_a_message_arrives() -> None:
    """Quiet from its assignment for idle_seconds; not again once marked; active after a message."""
    progress = Progress()
    progress.track(1, now=10.0)
    progress.track(1, now=12.0)  # the first assignment counts, not the latest heartbeat
    assert not progress.quiet(1, now=14.9, idle_seconds=5.0)
    assert progress.quiet(1, now=15.0, idle_seconds=5.0)
    progress.mark_idle(1)
    assert not progress.quiet(1, now=1e9, idle_seconds=5.0)
    progress.saw(1, event_time=1.0, stamp=1.0)
    now = time.monotonic()
    assert not progress.quiet(1, now=now, idle_seconds=5.0)
    assert progress.quiet(1, now=now + 5.0, idle_seconds=5.0)


def test_a_partition_held_after_a_wake_is_announced_idle_once_more_if_it_stays_quiet() -> None:
    """An idle partition the monitors hold again is quiet anew from then; one not idle, or
    not this worker's, is left as it is."""
    progress = Progress()
    progress.track(1, now=0.0)
    progress.track(2, now=0.0)
    progress.mark_idle(1)
    progress.held([1, 2, 3], now=100.0)
    assert not progress.quiet(1, now=104.9, idle_seconds=5.0)
    assert progress.quiet(1, now=105.0, idle_seconds=5.0)
    assert progress.quiet(2, now=5.0, idle_seconds=5.0)  # never marked idle: its quiet still counts from 0
    progress.mark_idle(1)
    assert not progress.quiet(1, now=1e9, idle_seconds=5.0)


def test_a_forgotten_partition_starts_over() -> None:
    """After forget() nothing is due, and its quiet counts from its next assignment."""
    progress = Progress()
    progress.saw(2, event_time=50.0, stamp=1.0)
    progress.mark_idle(2)
    progress.forget(2)
    progress.track(2, now=100.0)
    assert progress.due_tick(2) is None
    assert not progress.quiet(2, now=101.0, idle_seconds=5.0)
    assert progress.quiet(2, now=105.0, idle_seconds=5.0)


def test_handled_offsets_point_past_the_last_message_of_each_partition() -> None:
    """The offset after the last handled message, per topic and partition, until forgotten."""
    offsets = HandledOffsets()
    assert offsets.after("t", 0) is None
    offsets.handled(SimpleNamespace(topic="t", partition=0, offset=41))  # type: ignore[arg-type]
    offsets.handled(SimpleNamespace(topic="u", partition=0, offset=7))  # type: ignore[arg-type]
    assert (offsets.after("t", 0), offsets.after("u", 0), offsets.after("t", 1)) == (42, 8, None)
    offsets.forget("t", 0)
    assert offsets.after("t", 0) is None and offsets.after("u", 0) == 8


def test_every_partition_is_announced_again_after_a_rebuild() -> None:
    """After announce_again() a partition's time is due again, and a quiet one idle again."""
    progress = Progress()
    progress.track(3, now=0.0)
    progress.saw(3, event_time=70.0, stamp=2.0)
    assert progress.due_tick(3) == (70.0, 2.0)
    progress.mark_idle(3)
    assert progress.due_tick(3) is None and not progress.quiet(3, now=1e12, idle_seconds=5.0)
    progress.announce_again()
    assert progress.due_tick(3) == (70.0, 2.0) and progress.quiet(3, now=1e12, idle_seconds=5.0)


def test_a_partition_resumed_after_a_pause_is_quiet_only_idle_seconds_later() -> None:
    """Paused, a partition routes nothing and looks quiet; resumed, its quiet starts over,
    so that it is not marked idle before a fetch has told its end anew."""
    progress = Progress()
    progress.track(4, now=0.0)
    assert progress.quiet(4, now=100.0, idle_seconds=5.0)  # quiet through the pause
    progress.resumed(4, now=100.0)
    assert not progress.quiet(4, now=104.9, idle_seconds=5.0)
    assert progress.quiet(4, now=105.0, idle_seconds=5.0)
