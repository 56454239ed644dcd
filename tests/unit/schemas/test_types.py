"""What the contract states once: the unit conversion, and each event type's name."""

from __future__ import annotations

from typing import get_args

import pytest

from schemas.envelope import Envelope
from schemas.events import EVENT_TYPES, ReceivedItem
from schemas.types import KG_PER_UNIT, Item, Unit


def test_every_unit_has_a_conversion() -> None:
    """Each unit the contract allows converts to kilograms, and no other unit does."""
    assert set(KG_PER_UNIT) == set(get_args(Unit))


@pytest.mark.parametrize(("unit", "kilograms"), [("kg", 2.5), ("mt", 2500.0), ("l", 2.5)])
def test_dispatched_and_received_items_convert_alike(unit: Unit, kilograms: float) -> None:
    """`mt` is 1000 kg and `l` counts as kg, for an item dispatched and an item received."""
    assert Item(commodity="maize", unit=unit, quantity=2.5).kilograms == kilograms
    assert ReceivedItem(commodity="maize", unit=unit, quantity=2.5, damaged=1.0).kilograms == kilograms


@pytest.mark.parametrize(("name", "model"), list(EVENT_TYPES.items()))
def test_each_envelope_knows_the_type_it_decodes(name: str, model: type[Envelope]) -> None:
    """An envelope's `TYPE` is the `type` its schema accepts, and the name `EVENT_TYPES` maps."""
    assert name == model.TYPE
    assert model.model_json_schema()["properties"]["type"]["const"] == name
