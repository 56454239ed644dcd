"""The recovery watch: a reading of the state back that stopped moving stops the worker; one
that moves, ends, or waits for a broker that is away does not."""

from __future__ import annotations

from faust.types import TP

from streams.worker.recovery_watch import RecoveryWatch

TWO, THREE = TP("w-state-changelog", 2), TP("w-state-changelog", 3)


def test_a_recovery_that_reads_nothing_with_records_left_is_a_stall() -> None:
    watch = RecoveryWatch(stall_seconds=60)
    assert watch.observe(0, {TWO: 40, THREE: 7}, {TWO: 10, THREE: -1}, broker_up=True) is None
    assert watch.observe(59, {TWO: 40, THREE: 7}, {TWO: 10, THREE: -1}, broker_up=True) is None
    reason = watch.observe(60, {TWO: 40, THREE: 7}, {TWO: 10, THREE: -1}, broker_up=True)
    assert reason is not None
    assert "60 s" in reason and "w-state-changelog[2] 40 left" in reason and "w-state-changelog[3] 7 left" in reason


def test_a_recovery_that_moves_is_not_a_stall_however_long_it_takes() -> None:
    watch = RecoveryWatch(stall_seconds=60)
    for second in range(0, 600, 30):
        assert watch.observe(second, {TWO: 600 - second}, {TWO: second}, broker_up=True) is None


def test_the_stall_counts_from_the_last_move() -> None:
    watch = RecoveryWatch(stall_seconds=60)
    watch.observe(0, {TWO: 40}, {TWO: 10}, broker_up=True)
    watch.observe(50, {TWO: 30}, {TWO: 20}, broker_up=True)
    assert watch.observe(100, {TWO: 30}, {TWO: 20}, broker_up=True) is None
    assert watch.observe(110, {TWO: 30}, {TWO: 20}, broker_up=True) is not None


def test_nothing_left_to_read_or_no_recovery_is_never_a_stall() -> None:
    watch = RecoveryWatch(stall_seconds=60)
    for second in range(0, 600, 30):
        assert watch.observe(second, {TWO: 0}, {TWO: 10}, broker_up=True) is None
        assert watch.observe(second, {}, {}, broker_up=True) is None


def test_time_while_the_broker_is_away_does_not_count() -> None:
    watch = RecoveryWatch(stall_seconds=60)
    watch.observe(0, {TWO: 40}, {TWO: 10}, broker_up=True)
    assert watch.observe(100, {TWO: 40}, {TWO: 10}, broker_up=False) is None
    assert watch.observe(130, {TWO: 40}, {TWO: 10}, broker_up=True) is None  # counted again from here
    assert watch.observe(189, {TWO: 40}, {TWO: 10}, broker_up=True) is None
    assert watch.observe(190, {TWO: 40}, {TWO: 10}, broker_up=True) is not None
