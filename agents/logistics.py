"""Shipments that lose cargo between dispatch and receipt, or never arrive."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from agents.config import OverdueShipmentConfig, TransitLossConfig
from agents.detector import Context, Detector, drop_before, epoch, first_dispatch, keep_until
from agents.findings import Finding, Proof
from agents.state import Store
from agents.text import kg, moment, percent
from schemas.alerts import Typology
from schemas.events import Event, ShipmentDispatched, ShipmentReceived


@dataclass(slots=True)
class LossRecord:
    dispatch: tuple[float, str] | None = None  # time, event id of the dispatch that stands
    waybill: str = ""
    dispatched_kg: dict[str, float] = field(default_factory=dict)
    receipts: dict[str, float] = field(default_factory=dict)  # event id -> time
    received_kg: dict[str, float] = field(default_factory=dict)
    until: float = -math.inf  # kept until the retention has passed this (agents.detector.keep_until)


class TransitLossDetector(Detector):
    """(dispatched - received) / dispatched above the threshold for any commodity."""

    typology: ClassVar[Typology] = "transit_loss"
    consumes = frozenset({ShipmentDispatched.TYPE, ShipmentReceived.TYPE})
    tables = (typology,)

    def __init__(self, config: TransitLossConfig) -> None:
        self.config = config

    def expire(self, state: Mapping[str, Store], horizon: float) -> None:
        drop_before(state[self.typology], horizon)

    def on_event(self, event: Event, state: Mapping[str, Store], ctx: Context) -> list[Finding]:
        table = state[self.typology]
        key = event.subject
        record: LossRecord = table.get(key) or LossRecord()
        if isinstance(event, ShipmentDispatched):
            if not first_dispatch(event, record.dispatch):
                return []
            record.dispatch = (event.at, event.id)
            record.waybill = event.data.waybill
            record.dispatched_kg = {}
            for item in event.data.items:
                record.dispatched_kg[item.commodity] = record.dispatched_kg.get(item.commodity, 0.0) + item.kilograms
        elif isinstance(event, ShipmentReceived):
            if event.id in record.receipts:
                return []  # applied already
            record.receipts[event.id] = event.at
            for ritem in event.data.items:
                record.received_kg[ritem.commodity] = record.received_kg.get(ritem.commodity, 0.0) + ritem.kilograms
        record.until = max(record.until, keep_until(event, ctx))
        table[key] = record
        finding = self.judge(key, record)
        return [finding] if finding else []

    def judge(self, shipment_id: str, record: LossRecord) -> Finding | None:
        if record.dispatch is None or not record.receipts:
            return None
        losses = []
        for commodity, sent in sorted(record.dispatched_kg.items()):
            got = record.received_kg.get(commodity, 0.0)
            ratio = (sent - got) / sent
            if ratio > self.config.loss_ratio:
                losses.append((ratio, commodity, sent, got))
        if not losses:
            return None
        ratio, commodity, sent, got = max(losses)
        high = ratio > self.config.high_loss_ratio
        dispatch_time, dispatch_id = record.dispatch
        waybill = record.waybill
        lines = "; ".join(
            f"{c}: {kg(s)} dispatched, {kg(g)} received ({percent(r)} lost)" for r, c, s, g in losses
        )
        evidence = [Proof(dispatch_id, ShipmentDispatched.TYPE, dispatch_time, f"waybill {waybill}")]
        evidence += [Proof(rid, ShipmentReceived.TYPE, t, lines) for rid, t in sorted(record.receipts.items())]
        return Finding(
            typology=self.typology,
            subject_kind="shipment",
            subject_id=shipment_id,
            severity=self.config.high_severity if high else self.config.severity,
            strength=min(1.0, ratio / (2 * self.config.high_loss_ratio or 1.0)),
            summary=(
                f"Shipment {shipment_id} (waybill {waybill}) arrived short: {percent(ratio)} of "
                f"{commodity} lost in transit ({kg(sent - got)} missing); reconcile the waybill "
                f"with the receipt and question the transporter."
            ),
            evidence=tuple(evidence),
            raised_at=max(dispatch_time, *record.receipts.values()),
        )


@dataclass(slots=True)
class OverdueRecord:
    dispatch: tuple[float, str] | None = None  # time, event id of the dispatch that stands
    waybill: str = ""
    destination: str = ""  # site id
    deadline: float = math.inf
    receipts: dict[str, float] = field(default_factory=dict)  # event id -> time
    overdue: bool = False
    until: float = -math.inf  # kept until the retention has passed this (agents.detector.keep_until)


class OverdueShipmentDetector(Detector):
    """No receipt by `expected_arrival` + grace, judged on the monitor's clock."""

    typology: ClassVar[Typology] = "overdue_shipment"
    consumes = frozenset({ShipmentDispatched.TYPE, ShipmentReceived.TYPE})
    tables = (typology,)

    def __init__(self, config: OverdueShipmentConfig) -> None:
        self.config = config

    def expire(self, state: Mapping[str, Store], horizon: float) -> None:
        drop_before(state[self.typology], horizon)  # `until` holds the deadline: judged by then

    def on_event(self, event: Event, state: Mapping[str, Store], ctx: Context) -> list[Finding]:
        table = state[self.typology]
        key = event.subject
        record: OverdueRecord = table.get(key) or OverdueRecord()
        if isinstance(event, ShipmentDispatched):
            if not first_dispatch(event, record.dispatch):
                return []
            data = event.data
            record.dispatch = (event.at, event.id)
            record.waybill, record.destination = data.waybill, data.destination.site_id
            record.deadline = epoch(data.expected_arrival) + self.config.grace_hours * 3600
            # judged once the watermark is strictly past the deadline
            ctx.schedule(self.typology, key, math.nextafter(record.deadline, math.inf))
        elif isinstance(event, ShipmentReceived):
            record.receipts[event.id] = event.at
        record.until = max(record.until, keep_until(event, ctx))
        table[key] = record
        finding = self.judge(key, record) if record.overdue else None
        return [finding] if finding else []

    def on_timer(self, key: str, state: Mapping[str, Store], ctx: Context) -> list[Finding]:
        table = state[self.typology]
        record: OverdueRecord | None = table.get(key)
        if record is None or record.dispatch is None or record.overdue:
            return []
        if ctx.watermark <= record.deadline:
            ctx.schedule(self.typology, key, math.nextafter(record.deadline, math.inf))  # not yet
            return []
        if any(t <= record.deadline for t in record.receipts.values()):
            return []
        record.overdue = True
        table[key] = record
        finding = self.judge(key, record)
        return [finding] if finding else []

    def judge(self, shipment_id: str, record: OverdueRecord) -> Finding | None:
        if record.dispatch is None:
            return None
        dispatch_time, dispatch_id = record.dispatch
        waybill, destination = record.waybill, record.destination
        evidence = [
            Proof(
                dispatch_id,
                ShipmentDispatched.TYPE,
                dispatch_time,
                f"waybill {waybill} to {destination}, due by {moment(record.deadline)} with grace",
            )
        ]
        late = ""
        if record.receipts:
            first = min(record.receipts.values())
            late = f" (received only at {moment(first)})"
            evidence += [
                Proof(rid, ShipmentReceived.TYPE, t, f"received {moment(t)}, after the deadline")
                for rid, t in sorted(record.receipts.items())
            ]
        return Finding(
            typology=self.typology,
            subject_kind="shipment",
            subject_id=shipment_id,
            severity=self.config.severity,
            strength=0.5,
            summary=(
                f"Shipment {shipment_id} (waybill {waybill}) to {destination} was not received by "
                f"{moment(record.deadline)}{late}; locate the convoy and contact the transporter."
            ),
            evidence=tuple(evidence),
            raised_at=record.deadline,
        )
