"""The state over_distribution keeps per site: small values whatever the history, chunks
never written over, and the same rounds and ledgers in any order of arrival."""

from __future__ import annotations

import pickle
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

import agents.chunks
import agents.distribution
import agents.rounds
from agents.chunks import Sequence, append, names, place, start
from agents.config import DetectorConfig
from agents.monitor import Monitor
from agents.rounds import RoundHead, Stamp, crossing_of, serve
from agents.state import Store
from agents.stock import DISTRIBUTION, RECEIPT, Line, first_excess, milligrams, weigh
from schemas.events import Event
from tests.support import at, distribution, findings, receipt, site, tick, token
from tests.unit.agents.stores import Names, WrittenOnce

AT = "SITE\x1fR1"


@contextmanager
def chunks_of(size: int) -> Iterator[None]:
    """Leaves and nodes of `size` entries, so that a few dozen entries fill, close and split
    many, several high."""
    with (
        mock.patch.object(agents.chunks, "LEAF", size),
        mock.patch.object(agents.chunks, "FAN", max(2, size)),
        mock.patch.object(agents.distribution, "LEAF", size),
        mock.patch.object(agents.rounds, "LEAF", size),
    ):
        yield


def every_entry(store: Store, sequence: Sequence) -> list[Any]:
    """A sequence read whole, in order (what no detector ever does), from the top down."""

    def under(name: str, height: int) -> list[Any]:
        node = store[name]
        return list(node) if not height else [entry for _, below, _ in node for entry in under(below, height - 1)]

    entries = []
    for height in range(len(sequence) - 1, 0, -1):
        for _, name, _ in sequence[height]:
            entries += under(name, height - 1)
    return entries + sequence[0]


def big_camp(households: int, caseload: int, late: int = 0) -> list[Event]:
    """A camp serving `households` households a minute apart, three commodities each, in one
    round; `late` of the distributions come half a day late, and one receipt comes last."""
    items = [("maize", "kg", 50), ("oil", "l", 5), ("csb", "kg", 9)]
    events = [
        site("CMP-1", kind="camp", caseload=caseload),
        receipt("SHP-1", items=[("maize", "mt", 1000), ("oil", "mt", 100), ("csb", "mt", 100)], site_id="CMP-1",
                time=at(hours=-1)),
    ]
    served = [distribution("CMP-1", token(i), items=items, time=at(minutes=i)) for i in range(households)]
    rng = random.Random(households)
    for i in sorted(rng.sample(range(households), late), reverse=True):
        served.insert(min(len(served), i + 720), served.pop(i))
    events += served
    events.append(receipt("SHP-2", items=[("maize", "kg", 500)], site_id="CMP-1", time=at(minutes=households // 2)))
    return events


def test_a_big_camp_keeps_every_value_small_and_writes_no_chunk_twice() -> None:
    """However many households a camp serves, no value over_distribution keeps passes a few
    kilobytes, and late services and receipts store the chunks they change under new names."""
    stores: dict[str, dict[str, Any]] = {}

    def store(name: str) -> dict[str, Any]:
        return stores.setdefault(name, WrittenOnce() if name.endswith(("services", "ledgers")) else {})

    monitor = Monitor(stores=store)
    alerts = []
    for event in big_camp(3000, caseload=2000, late=60):
        alerts += monitor.process(event)
    alerts += monitor.flush()
    assert findings({a.alert_id: a for a in alerts}, "over_distribution") == [("site", "CMP-1", "medium")]
    sizes = [
        len(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        for name, kept in stores.items() if name.startswith("over_distribution")
        for value in kept.values()
    ]
    assert len(sizes) > 3000 and max(sizes) < 8192


def test_the_retention_leaves_only_what_the_records_name() -> None:
    """After a sweep, the chunks and tokens kept are those the site's record still names: the
    rounds gone took theirs, the ledgers keep their recent chunks and the totals before."""
    stores: dict[str, dict[str, Any]] = {}
    monitor = Monitor(DetectorConfig(retention_days=3), stores=lambda name: stores.setdefault(name, {}))
    with chunks_of(2):
        for event in big_camp(40, caseload=100):
            monitor.process(event)
        for day in range(1, 9):
            monitor.process(distribution("CMP-1", token(1000 + day), round_id=f"D{day}", time=at(days=day)))
        monitor.process(tick(at(days=10)))
    record = stores["over_distribution"]["CMP-1"]
    assert sorted(record.rounds) == ["D7", "D8"]
    assert sorted(stores["over_distribution.served"]) == [f"CMP-1\x1fD{d}\x1f{token(1000 + d)}" for d in (7, 8)]
    ledgers = stores["over_distribution.ledgers"]
    named = {name for ledger in record.ledgers.values() for name in names(ledgers, ledger)}
    assert set(ledgers) == named and stores["over_distribution.services"] == {}
    assert "maize" in record.base and len(named) < 10
    assert record.totals["maize"] == (1_000_500_000_000, (40 * 50 + 8 * 10) * 1_000_000)  # milligrams
    folded_received, folded_distributed = record.base["maize"]
    lines, received, distributed = weigh(every_entry(ledgers, record.ledgers["maize"]))
    assert lines < 2 + 40 + 8  # some folded away
    assert (folded_received + received, folded_distributed + distributed) == record.totals["maize"]


def test_the_sweep_forgets_a_rounds_tokens_a_part_at_a_time_and_spares_a_round_served_again() -> None:
    """In parts: the sites' records first, then the tokens of the rounds that went,
    `SWEEP_SERVED` a part. Between two parts a late service opens an old round again: it
    counts as its first household, and the round keeps its tokens, until it goes again."""
    stores: dict[str, dict[str, Any]] = {}
    monitor = Monitor(DetectorConfig(retention_days=3), stores=lambda name: stores.setdefault(name, {}),
                      sweeps_at_checkpoints=True)  # swept here, a part at a time, as a worker does
    for n in range(6):
        monitor.process(distribution("CMP-1", token(n), round_id="OLD", time=at(hours=n)))
    monitor.process(distribution("CMP-1", token(99), round_id="NEW", time=at(days=9)))
    detector = next(d for d in monitor.detectors if d.typology == "over_distribution")
    served = stores["over_distribution.served"]
    with mock.patch.object(agents.distribution, "SWEEP_SERVED", 2):
        parts = detector.sweep(stores, at(days=5).timestamp())
        next(parts)  # the records: the old round has gone from the site's, its tokens not yet
        assert sorted(stores["over_distribution"]["CMP-1"].rounds) == ["NEW"] and len(served) == 7
        next(parts)  # the tokens to forget are found
        next(parts)
        assert len(served) == 5  # two of them gone
        late = distribution("CMP-1", token(5), round_id="OLD", time=at(days=6))
        monitor.process(late)  # the round again, after the horizon: its first household
        assert stores["over_distribution"]["CMP-1"].rounds["OLD"][0] == 1
        assert list(parts) == []  # the round is back: the sweep ends there, its tokens kept
    assert sorted(served) == [f"CMP-1\x1fNEW\x1f{token(99)}", *[f"CMP-1\x1fOLD\x1f{token(n)}" for n in (2, 3, 4, 5)]]
    for _ in detector.sweep(stores, at(days=8).timestamp()):  # the old round goes again, with the tokens it kept
        pass
    assert sorted(served) == [f"CMP-1\x1fNEW\x1f{token(99)}"]


def test_a_monitor_made_on_a_state_forgets_the_tokens_of_the_rounds_that_go() -> None:
    """A monitor made on the stores another left (a worker taking a partition over) finds
    the tokens of a round that goes (and the leaves and nodes no record names) as the first
    did: its index of the tokens by round is built from the store."""
    stores: dict[str, dict[str, Any]] = {}
    first = Monitor(DetectorConfig(retention_days=3), stores=lambda name: stores.setdefault(name, {}))
    with chunks_of(2):
        for n in range(9):
            first.process(distribution("CMP-1", token(n), round_id="OLD", time=at(hours=n)))
        stores["over_distribution.services"]["CMP-1\x1f999"] = [(0.0, "left by a checkpoint cut short")]
        second = Monitor(DetectorConfig(retention_days=3), stores=lambda name: stores.setdefault(name, {}))
        second.process(distribution("CMP-1", token(99), round_id="NEW", time=at(days=9)))
    assert sorted(stores["over_distribution.served"]) == [f"CMP-1\x1fNEW\x1f{token(99)}"]
    assert stores["over_distribution.services"] == {}


@settings(max_examples=150, deadline=None)
@given(
    services=st.lists(st.tuples(st.integers(0, 25), st.integers(0, 40)), min_size=1, max_size=90),
    allowed=st.integers(0, 30),
    size=st.sampled_from([1, 2, 3, 16]),
)
def test_the_crossing_is_the_first_service_beyond_the_allowed_households(
    services: list[tuple[int, int]], allowed: int, size: int
) -> None:
    """In any order, and with services of a token moving earlier, the crossing is the
    (allowed + 1)-th first service by time and event id, as counting them all would find it;
    no chunk is written twice under one name."""
    served: Store = {}
    chunks = WrittenOnce()
    head: RoundHead | None = None
    firsts: dict[str, Stamp] = {}
    crossing: Stamp | None = None
    names = Names()
    with chunks_of(size):
        for n, (who, minute) in enumerate(services):
            stamp = (minute * 60.0, f"event-{n:03d}")
            changed = serve(served, chunks, head, f"{AT}\x1f{token(who)}", stamp, allowed, crossing, names)
            if changed is not None:
                head, crossing = changed
            assert head is not None
            assert serve(served, chunks, head, f"{AT}\x1f{token(who)}", stamp, allowed, crossing, names) is None
            firsts[token(who)] = min(firsts.get(token(who), stamp), stamp)
            ordered = sorted(firsts.values())
            assert crossing == (ordered[allowed] if len(ordered) > allowed else None)
            assert crossing_of(chunks, head, allowed) == crossing
    assert head is not None
    households, latest = head
    assert households == len(firsts) and every_entry(chunks, latest) == sorted(firsts.values())


@settings(max_examples=150, deadline=None)
@given(
    moves=st.lists(st.tuples(st.integers(0, 30), st.booleans(), st.sampled_from([0.1, 2.5, 10, 1000])),
                   min_size=1, max_size=90),
    size=st.sampled_from([1, 2, 3, 16]),
)
def test_a_ledger_in_any_order_finds_the_excess_counting_its_lines_in_time_order_finds(
    moves: list[tuple[int, bool, float]], size: int
) -> None:
    """Lines placed in any order, some twice, leave the lines of an in-order stream, and
    from any line on, the first excess is the one counting them all in time order finds."""
    store = WrittenOnce()
    fresh = Names()
    ledger: Sequence | None = None
    placed: list[Line] = []
    with chunks_of(size):
        for n, (minute, received, kilos) in enumerate(moves):
            line: Line = (minute * 60.0, RECEIPT if received else DISTRIBUTION, f"event-{n:03d}", milligrams(kilos))
            if ledger is None:
                ledger = start(line)
            elif line[:3] > ledger[0][-1][:3]:
                append(store, ledger, line, weigh, fresh)
            else:
                assert place(store, ledger, line[:3], line, weigh, fresh)
                assert not place(store, ledger, line[:3], line, weigh, fresh)  # applied already
            placed.append(line)
        assert ledger is not None
        ordered = sorted(placed)
        assert every_entry(store, ledger) == ordered
        for begin in ordered:
            totals = [0, 0]
            expected = None
            for t, kind, eid, amount in ordered:
                totals[kind] += amount
                if expected is None and (t, kind, eid) >= begin[:3] and kind == DISTRIBUTION \
                        and totals[DISTRIBUTION] > totals[RECEIPT]:
                    expected = (t, eid, totals[DISTRIBUTION] / 1e6, totals[RECEIPT] / 1e6)
            assert first_excess(store, ledger, (0, 0), begin[:3], 1.0) == expected
