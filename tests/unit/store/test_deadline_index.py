"""Restore indexes a record's deadline from the fields the contract declares carry one.

`JobRecord.DEADLINE_FIELDS` is the one place that says which record fields carry a deadline;
the store searches the raw JSON of restored records for those fields being null, so that
records with no deadline stay unparsed. These tests fail when a field carries a deadline but is
not declared, or is declared but a record that sets it would not be indexed.
"""

from __future__ import annotations

from typing import get_args

import pytest
from pydantic import BaseModel

from syncctl.contract import JobRecord
from syncctl.contract.serialization import to_json
from syncctl.store import PartitionState
from syncctl.store.partition import NO_DEADLINE_MARKERS, has_no_deadline
from tests.unit.machine.journeys import REACHABLE, record_in

# A record in every state of docs/state-table.md, in each mode it is reachable in.
RECORDS = [record_in(state, mode) for state, modes in REACHABLE.items() for mode in modes]


def _models_in(annotation: object) -> list[type[BaseModel]]:
    """The pydantic models a field annotation can hold (`PendingStop | None` -> [PendingStop])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _models_in(arg)]


def _nested_models(model: type[BaseModel]) -> set[type[BaseModel]]:
    found: set[type[BaseModel]] = set()
    for field in model.model_fields.values():
        for nested in _models_in(field.annotation):
            if nested not in found:
                found |= {nested} | _nested_models(nested)
    return found


def _carries_a_deadline(model: type[BaseModel]) -> bool:
    return hasattr(model, "due_at") or bool({"deadline_at", "at"} & set(model.model_fields))


def test_the_contract_declares_every_record_field_that_carries_a_deadline() -> None:
    carriers = {
        name
        for name, field in JobRecord.model_fields.items()
        if any(_carries_a_deadline(model) for model in _models_in(field.annotation))
    }
    assert carriers == set(JobRecord.DEADLINE_FIELDS)
    for name in JobRecord.DEADLINE_FIELDS:
        for model in _models_in(JobRecord.model_fields[name].annotation):
            assert hasattr(model, "due_at"), f"{model.__name__} must say when it is due"


def test_every_declared_field_has_a_marker_that_a_record_without_deadlines_holds() -> None:
    assert len(NO_DEADLINE_MARKERS) == len(JobRecord.DEADLINE_FIELDS)
    plain = next(record for record in RECORDS if record.deadline_at is None)
    for name, marker in zip(JobRecord.DEADLINE_FIELDS, NO_DEADLINE_MARKERS, strict=True):
        assert name.encode() in marker and marker in to_json(plain)


def test_declared_field_names_are_keys_of_the_record_alone() -> None:
    # The markers are searched for in the raw JSON: a nested model with a field of the same name
    # could make a record that has a deadline look as if it had none.
    for model in _nested_models(JobRecord):
        assert not set(model.model_fields) & set(JobRecord.DEADLINE_FIELDS), model.__name__


@pytest.mark.parametrize("field", JobRecord.DEADLINE_FIELDS)
def test_a_restored_record_with_a_declared_field_set_is_indexed(field: str) -> None:
    with_field = [record for record in RECORDS if getattr(record, field) is not None]
    assert with_field, f"no state in tests/unit/machine/journeys.py sets {field}: add one"
    for record in with_field:
        value = to_json(record)
        assert not has_no_deadline(value)
        partition = PartitionState(0)
        partition.restore(record.job_id.encode(), value)
        assert partition.pending_deadlines() == 1
        assert partition.due(getattr(record, field).due_at) == [record.job_id]
        assert partition.get(record.job_id) == record


def test_a_restored_record_without_deadlines_is_not_indexed() -> None:
    plain = [record for record in RECORDS if record.deadline_at is None]
    assert plain
    for record in plain:
        value = to_json(record)
        assert has_no_deadline(value)
        partition = PartitionState(0)
        partition.restore(record.job_id.encode(), value)
        assert partition.pending_deadlines() == 0
        assert partition.get(record.job_id) == record
