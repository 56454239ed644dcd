"""Detector state kept in a table, namespaced by partition, written at checkpoints."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from unittest import mock

import pytest

import agents.chunks
import agents.distribution
import agents.monitor
import agents.rounds
from agents.config import DetectorConfig
from agents.monitor import Monitor
from streams.worker.table_store import CHUNK_BYTES, PartitionStores, dump_state, load_state, write_order
from tests import support as s


def _events() -> list:
    return [
        s.dispatch("SHP-1", time=s.at()),
        s.receipt("SHP-1", items=[("maize", "kg", 500)], time=s.at(hours=3)),
    ]


def test_nothing_reaches_the_table_before_a_checkpoint_and_everything_after() -> None:
    """Changes stay in memory until checkpoint() writes each changed key once."""
    table: dict[bytes, bytes] = {}
    stores = PartitionStores(table, 2)
    monitor = Monitor(stores=stores)
    for event in _events():
        monitor.process(event, source="events-0")
    assert table == {} and stores.pending > 0
    written: list[bytes] = []

    def write(key: bytes, data: bytes | None) -> None:
        written.append(key)
        assert data is not None
        table[key] = data

    assert stores.checkpoint(write) == len(set(written)) == len(written)
    assert all(key.startswith(b"2|") for key in table)
    assert stores.pending == 0


def test_a_checkpoint_writes_its_keys_in_write_order() -> None:
    """Timers and alerts first, then parts, records and deletions, and the events seen and
    the clock last, whatever order they changed in (a partition number of two digits too)."""
    table: dict[bytes, bytes | None] = {}
    stores = PartitionStores(table, 12)
    names = ["monitor", "transit_loss", "timers", *sorted(agents.monitor.PARTS), "seen_events", "alerts"]
    for i, name in enumerate(names):
        stores(name)[f"k{i}"] = {"n": i}
    stores.checkpoint(table.__setitem__)
    for i, name in enumerate(reversed(names)):  # deletions of some, changes of the others
        store = stores(name)
        if i % 2:
            del store[f"k{len(names) - 1 - i}"]
        else:
            store[f"k{len(names) - 1 - i}"] = {"n": -i}
    written: list[tuple[bytes, bytes | None]] = []
    stores.checkpoint(lambda key, data: written.append((key, data)))
    ranks = [write_order(row) for row in written]
    assert len(written) == len(names) and ranks == sorted(ranks) and len(set(ranks)) >= 4
    assert all(key.startswith(b"12|") for key, _ in written)


def test_a_new_monitor_on_the_same_table_takes_over_where_the_last_checkpoint_was() -> None:
    """After a checkpoint, a monitor rebuilt from the table has the alerts and ignores re-sent events."""
    table: dict[bytes, bytes] = {}
    stores = PartitionStores(table, 0)
    first = Monitor(stores=stores)
    for event in _events():
        first.process(event, source="events-0")
    stores.checkpoint(lambda key, data: table.__setitem__(key, data) if data else table.pop(key, None))
    again = Monitor(stores=PartitionStores(table, 0))
    assert [a.alert_id for a in again.alerts()] == [a.alert_id for a in first.alerts()]
    assert again.process(_events()[1], source="events-0") == []  # seen already
    assert again.clock == first.clock


def test_what_the_retention_forgets_is_tombstoned_and_leaves_no_trace() -> None:
    """A shipment forgotten by the retention is deleted from the table and written as a
    tombstone; the store then holds nothing about it, not even the key it deleted."""
    table: dict[bytes, bytes] = {}
    stores = PartitionStores(table, 0)
    monitor = Monitor(stores=stores)
    for event in _events():
        monitor.process(event, source="events-0")
    tombstones: list[bytes] = []

    def write(key: bytes, data: bytes | None) -> None:
        if data is None:
            tombstones.append(key)
            table.pop(key, None)
        else:
            table[key] = data

    stores.checkpoint(write)
    shipment_keys = {key for key in table if b"SHP-1" in key}
    assert shipment_keys
    monitor.process(s.dispatch("SHP-2", time=s.at(days=60)), source="events-0")
    stores.checkpoint(write)
    assert shipment_keys <= set(tombstones)
    assert not any(b"SHP-1" in key for key in table)
    assert all(not store._deleted for store in stores._stores)


def test_a_key_made_and_deleted_between_checkpoints_is_never_written() -> None:
    """A key the changelog never had needs no tombstone: made and deleted between two
    checkpoints (a chunk a later distribution replaced), it is not written at all, while a
    key the table holds is still tombstoned when deleted."""
    table: dict[bytes, bytes] = {}
    written: list[tuple[bytes, bytes | None]] = []

    def write(key: bytes, data: bytes | None) -> None:
        written.append((key, data))
        if data is None:
            table.pop(key, None)
        else:
            table[key] = data

    stores = PartitionStores(table, 0)
    store = stores("s")
    store["kept"] = 1
    stores.checkpoint(write)
    store["passing"] = 2
    del store["passing"]
    del store["kept"]
    assert "passing" not in store and "kept" not in store
    assert stores.checkpoint(write) == 1
    assert written == [(b"0|s|kept", dump_state(1)), (b"0|s|kept", None)]
    assert table == {} and "kept" not in PartitionStores(table, 0)("s")


def test_state_refuses_to_unpickle_anything_but_state_types() -> None:
    """The changelog is not trusted to run code: only the project's records load."""

    class Evil:
        def __reduce__(self) -> tuple:
            return (print, ("owned",))

    with pytest.raises(pickle.UnpicklingError, match="not a state type"):
        load_state(pickle.dumps(Evil()))


def _writer(table: dict[bytes, bytes], sizes: list[int]) -> Callable[[bytes, bytes | None], None]:
    def write(key: bytes, data: bytes | None) -> None:
        if data is None:
            table.pop(key, None)
        else:
            sizes.append(len(key) + len(data))
            table[key] = data

    return write


def test_a_large_record_is_written_in_chunks_and_read_back_whole() -> None:
    """A value over CHUNK_BYTES goes out as chunks no message of which exceeds the chunk size;
    a fresh store reads it back equal, and iterating the store shows only the real key."""
    table: dict[bytes, bytes] = {}
    sizes: list[int] = []
    big = {"ledger": [(float(i), 1, f"event-{i:08d}", 50.0, 0.0, 50.0 * i) for i in range(40_000)]}
    stores = PartitionStores(table, 3)
    stores("over_distribution")["DP-MBERA"] = big
    stores.checkpoint(_writer(table, sizes))
    assert len(table) > 3 and max(sizes) <= CHUNK_BYTES + 200
    fresh = PartitionStores(table, 3)("over_distribution")
    assert fresh["DP-MBERA"] == big
    assert list(fresh) == ["DP-MBERA"]


def test_a_large_part_keeps_its_chunks_before_its_header_when_sorted_again() -> None:
    """The changelog writer sorts a checkpoint's rows by `write_order` again: a chunked value
    of a store of parts (which ranks before the detectors' records) still has its chunks
    written before the header that names them."""
    table: dict[bytes, bytes] = {}
    written: list[tuple[bytes, bytes | None]] = []
    stores = PartitionStores(table, 4)
    stores("transit_loss")["SHP-1"] = {"n": 1}
    stores(sorted(agents.monitor.PARTS)[0])["big"] = [f"tok_{i:020d}" for i in range(30_000)]
    stores.checkpoint(lambda key, data: written.append((key, data)))
    again = [key for key, _ in sorted(written, key=write_order)]
    chunks = [i for i, key in enumerate(again) if b"\x1fchunks|" in key]
    header = again.index(f"4|{sorted(agents.monitor.PARTS)[0]}|big".encode())
    assert len(chunks) >= 2 and max(chunks) < header < again.index(b"4|transit_loss|SHP-1")


def test_rewriting_or_deleting_a_chunked_record_leaves_no_stale_chunk() -> None:
    """A new version replaces the old chunks; a small one or a deletion removes them all."""
    table: dict[bytes, bytes] = {}
    stores = PartitionStores(table, 0)
    store = stores("rounds")
    write = _writer(table, [])
    for n in (30_000, 50_000):
        store["R1"] = [f"tok_{i:020d}" for i in range(n)]
        stores.checkpoint(write)
        assert PartitionStores(table, 0)("rounds")["R1"] == store["R1"]
        assert len(table) == 1 + -(-len(dump_state(store["R1"])) // CHUNK_BYTES)
    store["R1"] = ["small"]
    stores.checkpoint(write)
    assert list(table) == [b"0|rounds|R1"]
    store["R2"] = [f"tok_{i:020d}" for i in range(30_000)]
    stores.checkpoint(write)
    del store["R2"]
    stores.checkpoint(write)
    assert list(table) == [b"0|rounds|R1"]


def test_a_checkpoint_cut_short_leaves_the_previous_version_readable() -> None:
    """Chunks go first and the header last, named by digest: a worker dying between them
    leaves the old header pointing at the old, intact chunks."""
    table: dict[bytes, bytes] = {}
    stores = PartitionStores(table, 1)
    old = [f"a{i:010d}" for i in range(60_000)]
    stores("s")["k"] = old
    stores.checkpoint(_writer(table, []))
    stores("s")["k"] = [f"b{i:010d}" for i in range(60_000)]
    full = _writer(table, [])

    def dies_before_the_header(key: bytes, data: bytes | None) -> None:
        if key == b"1|s|k":
            raise RuntimeError("killed")
        full(key, data)

    with pytest.raises(RuntimeError):
        stores.checkpoint(dies_before_the_header)
    assert PartitionStores(table, 1)("s")["k"] == old


def _season_of_trouble() -> tuple[list, list]:
    """Events before a checkpoint, and after it: shipments that arrive short or never (transit
    loss, overdue), reports of aid not received at a site, and the clock moving on."""
    before = [s.dispatch(f"SHP-{n}", time=s.at(hours=n), expected_arrival=s.at(hours=n + 30)) for n in range(4)]
    before += [s.feedback("DP-1", time=s.at(hours=5 + n)) for n in range(3)]
    after = [s.receipt("SHP-0", items=[("maize", "kg", 500)], time=s.at(hours=20)),
             s.receipt("SHP-1", items=[("maize", "kg", 1000)], time=s.at(hours=21))]
    after += [s.feedback("DP-1", time=s.at(hours=22 + n)) for n in range(3)]
    after += [s.dispatch("SHP-9", time=s.at(hours=23), expected_arrival=s.at(hours=40))]
    after += [s.tick(s.at(days=3))]
    return before, after


def _alerts_after(table: dict[bytes, bytes], events: list, config: DetectorConfig | None = None) -> dict[str, str]:
    """The alerts a monitor rebuilt from `table` ends with once `events` are applied again."""
    monitor = Monitor(config, stores=PartitionStores(table, 0))
    for event in events:
        monitor.process(event, source="events-0")
    monitor.flush()
    return {alert.alert_id: alert.model_dump_json() for alert in monitor.alerts()}


Writes = list[tuple[bytes, bytes | None]]


def _two_checkpoints(config: DetectorConfig | None, before: list, after: list) -> tuple[dict[bytes, bytes], Writes,
                                                                                       dict[str, str]]:
    """A monitor on a table given `before`, a checkpoint written whole, then `after` and a
    second checkpoint kept aside: the table after the first, the second's writes, and the
    alerts of the monitor never interrupted (flushed)."""
    whole: dict[bytes, bytes] = {}
    stores = PartitionStores(whole, 0)
    monitor = Monitor(config, stores=stores)
    for event in before:
        monitor.process(event, source="events-0")
    stores.checkpoint(lambda key, data: whole.__setitem__(key, data) if data else whole.pop(key, None))
    for event in after:
        monitor.process(event, source="events-0")
    writes: Writes = []
    stores.checkpoint(lambda key, data: writes.append((key, data)))
    monitor.flush()
    return whole, writes, {alert.alert_id: alert.model_dump_json() for alert in monitor.alerts()}


def _cut_after(whole: dict[bytes, bytes], writes: list[tuple[bytes, bytes | None]], cut: int) -> dict[bytes, bytes]:
    """The table a checkpoint cut short leaves: `whole`, then the first `cut` of its `writes`."""
    table = dict(whole)
    for key, data in writes[:cut]:
        if data is None:
            table.pop(key, None)
        else:
            table[key] = data
    return table


def test_a_checkpoint_cut_short_anywhere_loses_nothing_when_its_events_come_again() -> None:
    """A worker killed half-way through writing a checkpoint leaves the table with a prefix
    of its writes; the events since the last whole checkpoint are then applied again. From
    every prefix, they give the alerts of a monitor that was never interrupted. (Written
    in the opposite order, the events seen go first and some prefix loses them.)"""
    before, after = _season_of_trouble()
    whole, writes, expected = _two_checkpoints(None, before, after)
    typologies = {json.loads(value)["typology"] for value in expected.values()}
    assert {"transit_loss", "overdue_shipment", "non_receipt_feedback"} <= typologies
    for cut in range(len(writes) + 1):
        table = _cut_after(whole, writes, cut)
        assert _alerts_after(table, after) == expected, f"the checkpoint cut after {cut} of {len(writes)} writes"


def _camp_in_trouble() -> tuple[list, list]:
    """A camp before a checkpoint (a round past its caseload) and after it, four days on: a
    round past its caseload again, with services that come late (before the crossing, a
    token served again earlier), a receipt and distributions that come late and leave a
    commodity short, a commodity never received, and the clock moved on so that the
    retention forgets the first round and folds the ledgers' first lines."""
    items = [("maize", "kg", 30), ("oil", "kg", 2)]
    before = [s.site("CMP-1", kind="camp", caseload=6),
              s.receipt("SHP-1", items=[("maize", "kg", 400), ("oil", "kg", 40)], site_id="CMP-1", time=s.at())]
    before += [s.distribution("CMP-1", s.token(n), round_id="R0", items=items, time=s.at(minutes=10 + 10 * n))
               for n in range(9)]
    after = [s.distribution("CMP-1", s.token(n), items=items, time=s.at(days=4, minutes=10 + 10 * n))
             for n in range(10)]
    after += [s.distribution("CMP-1", s.token(20), items=items[:1], time=s.at(days=4, minutes=15)),
              s.distribution("CMP-1", s.token(7), items=items[1:], time=s.at(days=4, minutes=5)),
              s.receipt("SHP-2", items=[("maize", "kg", 20)], site_id="CMP-1", time=s.at(days=4, minutes=12)),
              s.distribution("CMP-1", s.token(21), items=items[:1], time=s.at(days=4, minutes=25)),
              s.distribution("CMP-1", s.token(22), items=[("csb", "kg", 9)], time=s.at(days=5)),
              s.tick(s.at(days=7))]
    return before, after


def test_a_checkpoint_cut_short_anywhere_leaves_a_sites_chunked_state_whole() -> None:
    """over_distribution keeps a site's rounds and ledgers in several stores (leaves and
    nodes of two entries here, so that late events rewrite several); a checkpoint cut after
    any of its writes, the events since the last whole one applied again, gives the alerts
    of a monitor never interrupted: nodes go before the record that names them, deletions
    after."""
    config = DetectorConfig(retention_days=3)
    before, after = _camp_in_trouble()
    with (
        mock.patch.object(agents.chunks, "LEAF", 2), mock.patch.object(agents.chunks, "FAN", 2),
        mock.patch.object(agents.distribution, "LEAF", 2), mock.patch.object(agents.rounds, "LEAF", 2),
    ):
        whole, writes, expected = _two_checkpoints(config, before, after)
        assert sorted((json.loads(value)["typology"], json.loads(value)["severity"]) for value in expected.values()) \
            == [("duplicate_collection", "medium"), ("over_distribution", "high")]
        assert {key.split(b"|")[1] for key, _ in writes} >= {
            b"over_distribution", b"over_distribution.served", b"over_distribution.services",
            b"over_distribution.ledgers"}
        assert any(data is None and b"over_distribution." in key for key, data in writes)
        for cut in range(len(writes) + 1):
            table = _cut_after(whole, writes, cut)
            assert _alerts_after(table, after, config) == expected, f"cut after {cut} of {len(writes)} writes"


def _served_again_across_a_sweep() -> tuple[list, list]:
    """A token served at the start of a round, its service arriving late, then the clock
    moved three days on (with a retention of two, the token is forgotten), then the token
    served again in the same round."""
    before = [s.tick(s.at())]
    after = [s.distribution("DP-1", s.token(1), time=s.at(hours=10)),
             s.tick(s.at(days=3)),
             s.distribution("DP-1", s.token(1), time=s.at(days=3, hours=1)),
             s.tick(s.at(days=3, hours=2))]
    return before, after


def _cut_short_everywhere(sweeps_at_checkpoints: bool) -> list[int]:
    """The cuts of the second checkpoint after which the events since the first, applied
    again, give alerts other than those the uninterrupted monitor sent."""
    config = DetectorConfig(retention_days=2)
    before, after = _served_again_across_a_sweep()
    whole: dict[bytes, bytes] = {}
    stores = PartitionStores(whole, 0)
    monitor = Monitor(config, stores=stores, sweeps_at_checkpoints=sweeps_at_checkpoints)
    for event in before:
        monitor.process(event, source="events-0")
    stores.checkpoint(lambda key, data: whole.__setitem__(key, data) if data else whole.pop(key, None))
    monitor.sweep()
    sent = {alert.alert_id: alert.model_dump_json() for event in after
            for alert in monitor.process(event, source="events-0")}
    writes: list[tuple[bytes, bytes | None]] = []
    stores.checkpoint(lambda key, data: writes.append((key, data)))
    wrong = []
    for cut in range(len(writes) + 1):
        table = _cut_after(whole, writes, cut)
        again = Monitor(config, stores=PartitionStores(table, 0), sweeps_at_checkpoints=sweeps_at_checkpoints)
        resent = {alert.alert_id: alert.model_dump_json() for event in after
                  for alert in again.process(event, source="events-0")}
        if {**sent, **resent} != sent:
            wrong.append(cut)
    return wrong


def test_a_checkpoint_never_holds_a_sweep_between_its_events() -> None:
    """The worker's monitors sweep only between checkpoints: a checkpoint cut short anywhere,
    its events applied again, sends only the alerts already sent. Swept within it, a token
    the sweep forgot and a later service started anew is written, and its forgotten service,
    applied again, makes a duplicate collection never seen (the fault this prevents)."""
    assert _cut_short_everywhere(sweeps_at_checkpoints=False)
    assert _cut_short_everywhere(sweeps_at_checkpoints=True) == []
