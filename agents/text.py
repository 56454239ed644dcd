"""Numbers and times as alert summaries write them."""

from __future__ import annotations

from datetime import UTC, datetime


def kg(value: float) -> str:
    return f"{value:,.0f} kg" if abs(value) >= 10 else f"{value:,.1f} kg"


def percent(ratio: float) -> str:
    return f"{ratio * 100:.1f} %"


def moment(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")
