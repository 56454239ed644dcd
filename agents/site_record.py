"""What over_distribution keeps per site, and the finding it makes of it."""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.chunks import Sequence
from agents.config import OverDistributionConfig
from agents.detector import Site
from agents.findings import Finding, Proof
from agents.rounds import RoundHead, Stamp
from agents.stock import Excess, LineStamp, Totals
from agents.text import kg, moment
from schemas.events import DistributionRecorded


@dataclass(slots=True)
class SiteRecord:
    """What a site's finding rests on, and the open parts of its rounds and ledgers, whose
    closed leaves and nodes are kept apart (`agents.rounds`, `agents.stock`): its size grows
    only as the trees' height does (a node of up to 16 index entries a height, 3 for a
    sequence of 20,000 entries), not with the households served or the movements of stock."""

    rounds: dict[str, RoundHead] = field(default_factory=dict)
    crossings: dict[str, Stamp] = field(default_factory=dict)
    """round id -> the first service beyond the caseload limit, for rounds over it"""
    ledgers: dict[str, Sequence] = field(default_factory=dict)  # commodity -> its ledger's open part
    totals: dict[str, Totals] = field(default_factory=dict)
    """commodity -> milligrams received and distributed so far (the folded lines' included)"""
    candidates: dict[str, Excess] = field(default_factory=dict)
    """commodity -> the first excess in the movements known so far (a late receipt may undo it)"""
    excess: dict[str, Excess] = field(default_factory=dict)
    """commodity -> a candidate confirmed once the watermark passed it"""
    changed: bool = False  # crossings or excess changed since the last finding
    base: dict[str, Totals] = field(default_factory=dict)
    """commodity -> milligrams received and distributed in the lines the retention folded away"""
    stale: dict[str, LineStamp] = field(default_factory=dict)
    """commodity -> the earliest late line since the first excess was last looked for: it
    is looked for again from there before the stock is judged"""
    site_id: str = ""
    named: int = 0  # leaves and nodes of the site named so far: names are never used twice

    def new_name(self) -> str:
        """A new name for a leaf or node of the site's rounds or ledgers."""
        number = self.named
        self.named = number + 1
        return f"{self.site_id}\x1f{number}"


def site_finding(config: OverDistributionConfig, key: str, record: SiteRecord, site: Site | None) -> list[Finding]:
    """The site's finding, when its crossings or excess changed since the last one."""
    if not record.changed:
        return []
    record.changed = False
    if not record.crossings and not record.excess:
        return []
    caseload = site.caseload_households if site else None
    evidence: list[Proof] = []
    parts = []
    raised = []
    for round_id, (t, eid) in sorted(record.crossings.items()):
        evidence.append(Proof(eid, DistributionRecorded.TYPE, t, (
            f"round {round_id}: beneficiary beyond {config.caseload_ratio:.0%} of the caseload "
            f"of {caseload} households")))
        parts.append(
            f"round {round_id} served more households than {config.caseload_ratio:.0%} "
            f"of its caseload of {caseload}"
        )
        raised.append(t)
    for commodity, excess in sorted(record.excess.items()):
        distributed, received = kg(excess.distributed), kg(excess.received)
        evidence.append(Proof(excess.event_id, DistributionRecorded.TYPE, excess.time, (
            f"{commodity}: {distributed} distributed against {received} received by {moment(excess.time)}")))
        parts.append(f"{commodity} distributed beyond stock ({distributed} against {received} received)")
        raised.append(excess.time)
    both = bool(record.crossings) and bool(record.excess)
    return [Finding(
        typology="over_distribution",
        subject_kind="site",
        subject_id=key,
        severity=config.both_severity if both else config.severity,
        strength=min(1.0, len(parts) / 4),
        summary=(
            f"Site {key} over-distributed: {'; '.join(parts[:3])}; "
            f"audit the distribution lists and the stock ledger."
        ),
        evidence=tuple(evidence),
        raised_at=min(raised),
    )]
