"""An event's epoch seconds are those of `datetime.timestamp()`, to the last bit."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import TypeAdapter

from schemas.types import Timestamp, epoch_seconds

TIMES = TypeAdapter(Timestamp)


@pytest.mark.parametrize("text", [
    "2012-07-03T08:15:00Z", "2012-07-03T08:15:00.123456+00:00", "2012-07-03T08:15:00.5-05:30",
    "1969-12-31T23:59:59.999999+14:00", "0001-01-01T12:00:00+01:00", "9999-12-31T10:59:59.000001-12:00",
])
def test_a_decoded_time_gives_the_float_timestamp_gives(text: str) -> None:
    """Offsets east and west, fractions of a second, before 1970: the same float as `timestamp()`."""
    t = TIMES.validate_json(f'"{text}"')
    assert repr(epoch_seconds(t)) == repr(t.timestamp())


def test_a_time_of_another_tzinfo_is_converted_by_its_own() -> None:
    """A standard library timezone (a model built in code, not decoded) takes the plain path."""
    t = datetime(2012, 7, 3, 8, 15, 0, 250, tzinfo=timezone(timedelta(hours=-3)))
    assert epoch_seconds(t) == t.timestamp()
