"""Load the UN Security Council Consolidated List (XML) as names to screen against.

The file is untrusted input: it is parsed with defusedxml, which refuses DTDs, entity
expansion and external references. Each individual or entity yields its name (the list's
name parts joined) and every alias.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, parse

from agents.names import ListedName
from schemas.exceptions import SanctionsListError

_NAME_PARTS = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")


def load_sanctions(path: Path) -> list[ListedName]:
    """Every name and alias of the list at `path`; raises SanctionsListError if unusable."""
    try:
        root = parse(str(path), forbid_dtd=True).getroot()
    except FileNotFoundError:
        raise SanctionsListError(str(path), "no such file") from None
    except (ParseError, DefusedXmlException) as exc:
        raise SanctionsListError(str(path), f"not a safe, well-formed XML file ({exc})") from None
    if root.tag != "CONSOLIDATED_LIST":
        raise SanctionsListError(str(path), f"root element is <{root.tag}>, expected <CONSOLIDATED_LIST>")
    names: list[ListedName] = []
    for kind, tag, alias_tag in (
        ("individual", "INDIVIDUALS/INDIVIDUAL", "INDIVIDUAL_ALIAS"),
        ("entity", "ENTITIES/ENTITY", "ENTITY_ALIAS"),
    ):
        for entry in root.iterfind(tag):
            names += _entry_names(entry, kind, alias_tag)
    if not names:
        raise SanctionsListError(str(path), "the list holds no individual or entity names")
    return names


def _text(element: Element, tag: str) -> str:
    found = element.find(tag)
    return " ".join((found.text or "").split()) if found is not None else ""


def _entry_names(entry: Element, kind: str, alias_tag: str) -> list[ListedName]:
    reference = _text(entry, "REFERENCE_NUMBER") or _text(entry, "DATAID")
    primary = " ".join(part for part in (_text(entry, p) for p in _NAME_PARTS) if part)
    rows = [ListedName(reference, primary, primary, kind)] if primary else []
    for alias in entry.iterfind(alias_tag):
        name = _text(alias, "ALIAS_NAME")
        if name:
            rows.append(ListedName(reference, primary or name, name, kind))
    return rows
