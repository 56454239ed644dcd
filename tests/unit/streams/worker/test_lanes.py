"""Lanes: each event goes to the partitions that keep the state it feeds."""

from __future__ import annotations

from streams.worker.lanes import SHIPMENT_LANE, SITE_LANE, partition_of, route
from tests import support as s


def test_lanes_send_each_event_where_its_state_lives() -> None:
    """A receipt feeds its shipment's partition and its site's; reference data goes everywhere."""
    receipt = s.receipt("SHP-9", time=s.at(), site_id="DP-9")
    targets = {p: only for p, only, _ in route(receipt, 8)}
    assert targets[partition_of("SHP-9", 8)] >= SHIPMENT_LANE
    assert "over_distribution" in targets[partition_of("DP-9", 8)]
    assert [p for p, _, _ in route(s.site("DP-9"), 8)] == list(range(8))
    assert all(only <= SHIPMENT_LANE | SITE_LANE for only in targets.values())


def test_only_the_named_shipments_partition_learns_the_name() -> None:
    """An incident reaches every partition, but names its shipment in one only."""
    incident = s.incident("INC-1", (0.0, 1.0), time=s.at(), shipment_id="SHP-7")
    copies = route(incident, 5)
    named = [p for p, _, event in copies if event.data.shipment_id == "SHP-7"]
    assert named == [partition_of("SHP-7", 5)] and len(copies) == 5
