"""The stream's mixes: which sites hand out aid, how long a round lasts, how often convoys report.

`default` is the project's stream: about 82 % distributions and 15 % convoy positions,
six rounds of 16 days, Mbera camp with 16,000 households. `convoys-and-camps` is heavier
on positions (a fix every 12-28 minutes instead of 30-60) and serves Mbera's 10,000
households, like every other site, in three rounds of a month: 39 % convoy positions and
56 % distributions at 2,200 shipments (139k events; fewer shipments give fewer positions,
as the rounds fill up first). Everything else (findings of every typology, near misses,
noise) is planted the same way in both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property

from streams.dev.synthetic.places import POINTS, WAREHOUSES, Site
from streams.dev.synthetic.records import DAYS

DEFAULT = "default"


@dataclass(frozen=True)
class Mix:
    """What differs from one mix to another; the rest of the generator is shared."""

    name: str
    points: tuple[Site, ...]  # distribution points and camps: caseloads, shares of the shipments
    round_days: int  # a round's length; the last one ends with the stream
    fix_minutes: tuple[float, float]  # minutes between two GPS fixes of a convoy on the road
    fix_span_minutes: float  # a trip longer than this reports less often (late convoys crawl)

    @cached_property
    def sites(self) -> dict[str, Site]:
        return {s.site_id: s for s in WAREHOUSES + list(self.points)}

    @property
    def rounds(self) -> int:
        return math.ceil(DAYS / self.round_days)

    @staticmethod
    def round_id(rnd: int) -> str:
        return f"R2012-{rnd + 1:02d}"


def _smaller_camp() -> tuple[Site, ...]:
    return tuple(replace(p, caseload=10_000, weight=2.3) if p.kind == "camp" else p for p in POINTS)


MIXES: dict[str, Mix] = {
    DEFAULT: Mix(DEFAULT, tuple(POINTS), 16, (30, 60), 45 * 30),
    "convoys-and-camps": Mix("convoys-and-camps", _smaller_camp(), 31, (12, 28), 20 * 30),
}


def mix_named(name: str) -> Mix:
    """The mix of that name; a ValueError lists the known ones."""
    try:
        return MIXES[name]
    except KeyError:
        raise ValueError(f"unknown mix {name!r}: use one of {', '.join(MIXES)}") from None
