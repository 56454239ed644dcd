"""Parties on a shipment's papers whose names are on a sanctions list."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple

from agents.config import SanctionedPartyConfig
from agents.detector import Context, Detector, drop_before, keep_until
from agents.findings import Finding, Proof
from agents.state import Store
from schemas.alerts import Typology
from schemas.events import Event, ShipmentDispatched, ShipmentReceived


class Hit(NamedTuple):
    """A party of one event whose name matched a listed name (ordered by time, then event id)."""

    time: float
    event_id: str
    event_type: str
    role: str  # transporter, consignee or receiver
    written: str  # the name as the event writes it
    reference: str  # the list's reference number
    listed_name: str
    similarity: float


@dataclass(slots=True)
class ScreeningRecord:
    hits: dict[str, Hit] = field(default_factory=dict)  # "event id/role" -> hit
    until: float = -math.inf  # kept until the retention has passed this (agents.detector.keep_until)


class SanctionedPartyDetector(Detector):
    """Transporter, consignee or receiver names matched against every listed name and alias."""

    typology: ClassVar[Typology] = "sanctioned_party"
    consumes = frozenset({ShipmentDispatched.TYPE, ShipmentReceived.TYPE})
    tables = (typology,)

    def __init__(self, config: SanctionedPartyConfig) -> None:
        self.config = config

    def expire(self, state: Mapping[str, Store], horizon: float) -> None:
        drop_before(state[self.typology], horizon)

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
                listed = match.entry
                new_hits.append(
                    Hit(
                        event.at, event.id, event.type, role, name,
                        listed.reference, listed.listed_name, match.similarity,
                    )
                )
        table = state[self.typology]
        key = event.subject
        record: ScreeningRecord | None = table.get(key)
        if record is None:
            if not new_hits:
                return []
            record = ScreeningRecord()
        for hit in new_hits:
            record.hits[f"{hit.event_id}/{hit.role}"] = hit
        record.until = max(record.until, keep_until(event, ctx))
        table[key] = record
        return [self.judge(key, record)]

    def judge(self, key: str, record: ScreeningRecord) -> Finding:
        hits = sorted(record.hits.values())
        evidence = tuple(
            Proof(
                hit.event_id, hit.event_type, hit.time,
                f"{hit.role} {hit.written!r} matches {hit.listed_name!r} ({hit.reference}) "
                f"at {hit.similarity:.0%} similarity",
            )
            for hit in hits
        )
        first = hits[0]
        refs = sorted({hit.reference for hit in hits})
        return Finding(
            typology=self.typology,
            subject_kind="shipment",
            subject_id=key,
            severity=self.config.severity,
            strength=max(hit.similarity for hit in hits),
            summary=(
                f"Shipment {key} names a listed party: {first.role} {first.written!r} matches "
                f"{first.listed_name!r} on the UN sanctions list ({', '.join(refs)}); stop further "
                f"releases to this party and verify its identity."
            ),
            evidence=evidence,
            raised_at=first.time,
        )
