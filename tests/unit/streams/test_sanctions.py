"""Loading the UN consolidated list safely, and screening names against it."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.names import SanctionsIndex, normalise_name
from schemas.exceptions import SanctionsListError
from streams.sanctions import load_sanctions
from tests.paths import SAMPLE, SANCTIONS, require


@pytest.mark.parametrize(
    ("file", "entries", "individuals"),
    [("un_consolidated_2020-11-30.xml", 1018, 713), ("un_consolidated_2025-04-19.xml", 877, 684)],
)
def test_real_list_yields_every_entry(file: str, entries: int, individuals: int) -> None:
    """Every individual and entity of the real list gives at least its name."""
    names = load_sanctions(require(SANCTIONS / file))
    references = {n.reference for n in names}
    assert len(references) == entries
    assert len({n.reference for n in names if n.kind == "individual"}) == individuals
    assert len(names) > entries  # aliases too


def test_real_2020_list_carries_the_mali_regime() -> None:
    """The 2020 list holds MLi.001 to MLi.008, with their names joined from the name parts."""
    names = load_sanctions(require(SANCTIONS / "un_consolidated_2020-11-30.xml"))
    mali = sorted({n.reference for n in names if n.reference.startswith("MLi.")})
    assert mali == [f"MLi.00{i}" for i in range(1, 9)]
    primary = {n.name for n in names if n.reference == "MLi.001" and n.name == n.listed_name}
    assert len(primary) == 1 and len(next(iter(primary)).split()) >= 2


def test_sample_list_names_and_aliases() -> None:
    """The sample list gives joined names and every alias, for individuals and entities."""
    names = load_sanctions(require(SAMPLE / "sanctions.xml"))
    by_name = {n.name: n for n in names}
    assert by_name["Oumar Sidi Traorabe"].reference == "MLi.901"
    assert by_name["Oumar Ould Sidi"].listed_name == "Oumar Sidi Traorabe"
    assert by_name["Tilemsi Logistique"].kind == "entity"


@pytest.mark.parametrize(
    ("written", "matches"),
    [
        ("Oumar Sidi Traorabe", True),
        ("OUMAR SIDI TRAORABE", True),
        ("Traorabé, Oumar Sidi", True),  # accents, punctuation and order
        ("Tilemsi Logistique SA", True),  # a short extra word: similarity 0.92
        ("Tilemsi Logistiques", True),  # one letter off
        ("Oumar Sidi Traore", True),  # 0.94
        ("Oumar Sidi Kone", False),  # another surname: 0.80 at best (the alias)
        ("Oumar Sangare", False),
        ("Boubacar Keita", False),
    ],
)
def test_screening_normalises_before_comparing(written: str, matches: bool) -> None:
    """Case, accents, punctuation and token order do not hide a listed name; a different one is not matched."""
    index = SanctionsIndex(load_sanctions(require(SAMPLE / "sanctions.xml")), threshold=0.90)
    assert (index.match(written) is not None) is matches


def test_normalise_name() -> None:
    """Lower case, no accents, no punctuation, tokens sorted."""
    assert normalise_name("  Hàmadou Ag-Intalbéye ") == "ag hamadou intalbeye"


def test_screening_the_real_list_finds_an_alias() -> None:
    """A real alias, re-ordered and upper-cased, is found in the 2025 list."""
    index = SanctionsIndex(load_sanctions(require(SANCTIONS / "un_consolidated_2025-04-19.xml")))
    match = index.match("ANWARI MOHAMMAD TAHER")
    assert match is not None and match.entry.reference == "TAi.005"


HOSTILE = {
    "entity expansion": """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><FIRST_NAME>&lol2;</FIRST_NAME></INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>""",
    "external entity": """<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY ext SYSTEM "file:///etc/passwd">]>
<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><FIRST_NAME>&ext;</FIRST_NAME></INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>""",
    "not xml": "this is not xml",
    "another document": "<html><body>sanctions</body></html>",
    "empty list": "<CONSOLIDATED_LIST><INDIVIDUALS/><ENTITIES/></CONSOLIDATED_LIST>",
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_unusable_or_hostile_lists_are_refused(case: str, tmp_path: Path) -> None:
    """DTDs, entities, non-XML, a wrong root or an empty list raise a clear SanctionsListError."""
    path = tmp_path / "list.xml"
    path.write_text(HOSTILE[case], encoding="utf-8")
    with pytest.raises(SanctionsListError) as info:
        load_sanctions(path)
    assert str(path) in str(info.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    """A wrong path names the file."""
    with pytest.raises(SanctionsListError, match="no such file"):
        load_sanctions(tmp_path / "absent.xml")
