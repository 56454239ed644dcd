"""Name normalising and screening against a sanctions list.

Two names match when, after normalising (case, accents, punctuation, token order), their
similarity (rapidfuzz's normalised Indel similarity, 0..1) is at least the threshold.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


@lru_cache(maxsize=65536)
def normalise_name(name: str) -> str:
    """Lower case, accents and punctuation removed, tokens sorted: 'Hàmadou  Ag-X' -> 'ag hamadou x'."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    tokens = _NON_WORD.sub(" ", bare.casefold()).split()
    return " ".join(sorted(tokens))


@dataclass(frozen=True, slots=True)
class ListedName:
    """One name of a list entry: its full name or one of its aliases."""

    reference: str  # the list's reference number, e.g. 'QDe.952'
    listed_name: str  # the entry's primary name as the list writes it
    name: str  # the name or alias this row matches on
    kind: str  # 'individual' | 'entity'


@dataclass(frozen=True, slots=True)
class NameMatch:
    queried: str
    entry: ListedName
    similarity: float


class SanctionsIndex:
    """Screens names against every name and alias of a list."""

    def __init__(self, names: Iterable[ListedName], threshold: float = 0.90) -> None:
        self._rows = [n for n in names if normalise_name(n.name)]
        self._keys = [normalise_name(n.name) for n in self._rows]
        self._threshold = threshold
        self._cache: dict[str, NameMatch | None] = {}

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def references(self) -> frozenset[str]:
        return frozenset(r.reference for r in self._rows)

    def match(self, name: str) -> NameMatch | None:
        """The best listed name at or above the threshold, or None."""
        key = normalise_name(name)
        if key in self._cache:
            return self._cache[key]
        found = None
        if key and self._keys:
            best = process.extractOne(
                key, self._keys, scorer=fuzz.ratio, score_cutoff=self._threshold * 100
            )
            if best is not None:
                _, score, index = best
                found = NameMatch(name, self._rows[index], round(score / 100, 4))
        if len(self._cache) < 100_000:
            self._cache[key] = found
        return found
