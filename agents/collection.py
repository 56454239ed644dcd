"""People who collect twice: the same beneficiary token served more than once in a round."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from operator import itemgetter
from typing import ClassVar

from agents.config import DuplicateCollectionConfig
from agents.detector import Context, Detector
from agents.expiry import DayIndex
from agents.findings import Finding, Proof
from agents.state import Store
from schemas.alerts import Typology
from schemas.events import DistributionRecorded, Event

Visit = tuple[float, str, str]
"""A beneficiary served once: `time, event_id, site_id`, read by unpacking. A plain tuple:
see `agents.state`."""

SWEEP_TOKENS = 250  # tokens a part of a sweep in parts judges (`sweep`): about 2 ms, and as many rewritten records

_event_id = itemgetter(1)  # a Visit's event id, second as in every time-ordered record (see `insort_once`)

CollectionRecord = dict[str, tuple[Visit, ...]]
"""A beneficiary's record: round id -> its visits. A plain dict of tuples: there is one per
beneficiary token, so it is kept as small as it can be."""


class DuplicateCollectionDetector(Detector):
    """The same beneficiary token served more than once in a round, at any sites."""

    typology: ClassVar[Typology] = "duplicate_collection"
    consumes = frozenset({DistributionRecorded.TYPE})
    tables = (typology,)

    def __init__(self, config: DuplicateCollectionConfig) -> None:
        self.config = config
        self._days = DayIndex()  # tokens by the days of their visits: what a sweep looks at

    def _follow(self, table: Store) -> None:
        records: list[tuple[str, CollectionRecord]] = list(table.items())
        self._days.rebuild(table, [(key, max(visits)[0]) for key, record in records for visits in record.values()])

    def expire(self, state: Mapping[str, Store], horizon: float) -> None:
        """Rounds whose last visit is before `horizon` go, unless they are part of a finding
        (the tokens served before `horizon` are looked at, not every token)."""
        for _ in self.sweep(state, horizon):
            pass

    def sweep(self, state: Mapping[str, Store], horizon: float) -> Iterator[None]:
        """`expire`, `SWEEP_TOKENS` tokens a part: each token's record is judged alone, and a
        visit an event adds meanwhile is after `horizon`, so it keeps its round."""
        table = state[self.typology]
        if not self._days.follows(table):
            self._follow(table)
        keys = self._days.before(horizon)
        for start in range(0, len(keys), SWEEP_TOKENS):
            if start:
                yield
            self._forget(table, keys[start:start + SWEEP_TOKENS], horizon)

    def _forget(self, table: Store, keys: list[str], horizon: float) -> None:
        least = self.config.min_collections
        for key in keys:
            record: CollectionRecord | None = table.get(key)
            if record is None:
                continue
            if len(record) == 1:  # one round, the usual record: the test below, without a list
                for visits in record.values():
                    if len(visits) < least and max(visits)[0] < horizon:
                        del table[key]
                continue
            old = [r for r, visits in record.items() if len(visits) < least and max(visits)[0] < horizon]
            if not old:
                continue
            for round_id in old:
                del record[round_id]
            if record:
                table[key] = record
            else:
                del table[key]

    def on_event(self, event: Event, state: Mapping[str, Store], ctx: Context) -> list[Finding]:
        if not isinstance(event, DistributionRecorded):
            return []
        table = state[self.typology]
        days = self._days
        if days.table is not table:
            self._follow(table)
        data = event.data
        key = data.beneficiary
        record: CollectionRecord | None = table.get(key)
        t, event_id, round_id = event.at, event.id, data.round_id
        visit = (t, event_id, data.site_id)
        if record is None:
            table[key] = {round_id: (visit,)}
            days.add(key, t)
            return []
        visits = record.get(round_id)
        if visits is None:
            visits = record[round_id] = (visit,)
        elif event_id in map(_event_id, visits):
            return []
        else:
            visits = record[round_id] = (*visits, visit)
        table[key] = record
        days.add(key, t)
        if len(visits) < self.config.min_collections:
            return []
        return [self.judge(key, record)]

    def judge(self, key: str, record: CollectionRecord) -> Finding:
        evidence = []
        raised = []
        rounds = []
        sites: set[str] = set()
        for round_id, served in sorted(record.items()):
            if len(served) < self.config.min_collections:
                continue
            visits = sorted(served)
            rounds.append(f"{len(visits)} times in round {round_id}")
            reached_at, _, _ = visits[self.config.min_collections - 1]
            raised.append(reached_at)
            sites.update(site for _, _, site in visits)
            evidence += [
                Proof(eid, DistributionRecorded.TYPE, t, f"served at {site} in round {round_id}")
                for t, eid, site in visits
            ]
        return Finding(
            typology=self.typology,
            subject_kind="beneficiary",
            subject_id=key,
            severity=self.config.severity,
            strength=min(1.0, (len(evidence) - 1) / 4),
            summary=(
                f"Beneficiary {key} collected {', '.join(rounds)} (at {', '.join(sorted(sites))}); "
                f"check the registration and the distribution lists for a duplicate card."
            ),
            evidence=tuple(evidence),
            raised_at=min(raised),
        )
