"""The contract's enums read and write as their plain values."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from syncctl.contract.statuses import Status, WireEnum
from syncctl.machine.model import Outcome

# Every enum the worker writes: the contract's and the machine's outcomes (imported above).
ENUMS: list[type[WireEnum]] = WireEnum.__subclasses__()


def test_the_enums_found_include_the_contracts_and_the_machines() -> None:
    assert {Status, Outcome} <= set(ENUMS) and len(ENUMS) >= 7


@pytest.mark.parametrize("enum", ENUMS, ids=lambda e: e.__name__)
def test_every_member_value_is_its_plain_string(enum: type[WireEnum]) -> None:
    for member in enum:
        assert type(member.value) is str
        assert member.value == str(member) == member._value_
        assert enum(member.value) is member


@pytest.mark.parametrize("enum", ENUMS, ids=lambda e: e.__name__)
def test_a_model_writes_each_member_as_its_value_and_reads_it_back(enum: type[WireEnum]) -> None:
    class Holder(BaseModel):
        field: enum  # type: ignore[valid-type]

    for member in enum:
        written = Holder(field=member).model_dump_json()
        assert written == f'{{"field":"{member._value_}"}}'
        assert Holder.model_validate_json(written).field is member
