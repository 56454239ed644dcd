"""Event-time alignment: which partitions of aid.events.v1 wait for the slowest one."""

from __future__ import annotations

import pytest

from streams.worker.alignment import ahead

DAY = 86400.0


@pytest.mark.parametrize(
    ("times", "backlog", "paused"),
    [
        ({0: 10 * DAY, 1: 10.5 * DAY, 2: 12 * DAY}, [0, 1, 2], {2}),  # more than a day ahead of partition 0
        ({0: 10 * DAY, 1: 11 * DAY}, [0, 1], set()),  # exactly the lead: it goes on
        ({0: 10 * DAY, 1: 30 * DAY, 2: 40 * DAY}, [1, 2], {2}),  # 0 has nothing left: 1 is the slowest
        ({0: 10 * DAY, 1: 30 * DAY}, [], set()),  # caught up everywhere: nothing waits
        ({1: 30 * DAY, 2: 40 * DAY}, [0, 1, 2], {2}),  # 0 has not delivered yet: it holds no one back
        ({0: 10 * DAY, 1: 20 * DAY}, [0], {1}),  # ahead with nothing left to read: it waits too
    ],
)
def test_a_partition_more_than_the_lead_ahead_of_the_slowest_with_a_backlog_waits(
    times: dict[int, float], backlog: list[int], paused: set[int]
) -> None:
    """Paused: every partition more than `lead_s` ahead of the slowest with messages left."""
    assert ahead(times, backlog, lead_s=DAY) == paused


def test_a_lead_of_zero_turns_the_alignment_off() -> None:
    """`read_ahead_hours = 0`: nothing is ever paused."""
    assert ahead({0: 0.0, 1: 100 * DAY}, [0, 1], lead_s=0.0) == set()
