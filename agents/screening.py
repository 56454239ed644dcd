"""Parties on a shipment's papers whose names are on a sanctions list."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from agents.config import SanctionedPartyConfig
from agents.detector import Context, Detector
from agents.findings import Finding, Proof
from agents.state import Store
from schemas.alerts import Typology
from schemas.events import Event, ShipmentDispatched, ShipmentReceived

# a hit: (time, event id, event type, role, name written, list reference, listed name, similarity)
Hit = tuple[float, str, str, str, str, str, str, float]


@dataclass(slots=True)
class ScreeningRecord:
    hits: dict[str, Hit] = field(default_factory=dict)  # "event id/role" -> hit


class SanctionedPartyDetector(Detector):
    """Transporter, consignee or receiver names matched against every listed name and alias."""

    typology: ClassVar[Typology] = "sanctioned_party"
    consumes = frozenset({"shipment.dispatched", "shipment.received"})
    tables = ("sanctioned_party",)

    def __init__(self, config: SanctionedPartyConfig) -> None:
        self.config = config

    def on_event(self, event: Event, state: Mapping[str, Store], ctx: Context) -> list[Finding]:
        if ctx.sanctions is None:
            return []
        if isinstance(event, ShipmentDispatched):
            parties = [("transporter", event.data.transporter.name), ("consignee", event.data.consignee.name)]
        elif isinstance(event, ShipmentReceived):
            parties = [("receiver", event.data.receiver.name)]
        else:
            return []
        new_hits = []
        for role, name in parties:
            match = ctx.sanctions.match(name)
            if match is not None:
                entry = match.entry
                new_hits.append(
                    (event.at, event.id, event.type, role, name, entry.reference, entry.listed_name, match.similarity)
                )
        table = state["sanctioned_party"]
        key = event.subject
        record: ScreeningRecord | None = table.get(key)
        if record is None:
            if not new_hits:
                return []
            record = ScreeningRecord()
        for hit in new_hits:
            record.hits[f"{hit[1]}/{hit[3]}"] = hit
        table[key] = record
        return [self.judge(key, record)]

    def judge(self, key: str, record: ScreeningRecord) -> Finding:
        hits = sorted(record.hits.values())
        evidence = tuple(
            Proof(
                eid, etype, t,
                f"{role} {written!r} matches {listed!r} ({ref}) at {similarity:.0%} similarity",
            )
            for t, eid, etype, role, written, ref, listed, similarity in hits
        )
        first = hits[0]
        refs = sorted({h[5] for h in hits})
        return Finding(
            typology=self.typology,
            subject_kind="shipment",
            subject_id=key,
            severity=self.config.severity,
            strength=max(h[7] for h in hits),
            summary=(
                f"Shipment {key} names a listed party: {first[3]} {first[4]!r} matches "
                f"{first[6]!r} on the UN sanctions list ({', '.join(refs)}); stop further "
                f"releases to this party and verify its identity."
            ),
            evidence=evidence,
            raised_at=first[0],
        )
