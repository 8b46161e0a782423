"""`replaced` is `model_copy(update=...)` without the generic copying: the same model, the same
fields set, the same JSON, the original untouched."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from syncctl.contract import JobRecord, Stage, Stages, Stats, Status, StatusChanged
from syncctl.machine import apply
from syncctl.machine.model import built, replaced
from tests.unit.machine.test_fuzz_machine import journeys


@settings(max_examples=300, deadline=None)
@given(journeys(), st.data())
def test_replaced_equals_model_copy(journey: tuple, data: st.DataObject) -> None:
    _, rules, steps = journey
    records: list[JobRecord] = []
    record = None
    for now, message in steps:
        record = apply(record, message, now, rules).record
        if record is not None:
            records.append(record)
    if len(records) < 2:
        return
    record, other = data.draw(st.sampled_from(records)), data.draw(st.sampled_from(records))
    names = data.draw(st.sets(st.sampled_from(sorted(JobRecord.model_fields)), max_size=6))
    changes = {name: getattr(other, name) for name in names}
    before = record.model_dump_json()

    fast, reference = replaced(record, changes), record.model_copy(update=changes)

    assert fast == reference
    assert fast.model_fields_set == reference.model_fields_set
    assert fast.model_dump_json() == reference.model_dump_json()
    assert record.model_dump_json() == before, "the original is not changed"
    assert type(fast) is JobRecord


@settings(max_examples=300, deadline=None)
@given(journeys())
def test_built_events_equal_the_same_values_validated(journey: tuple) -> None:
    """Every event the machine builds from values (not validated) is the model that validating
    those values makes: same fields, same fields set, same JSON, and it validates."""
    _, rules, steps = journey
    record = None
    for now, message in steps:
        transition = apply(record, message, now, rules)
        record = transition.record
        for event in transition.events:
            validated = type(event).model_validate(dict(event.__dict__))
            assert event == validated
            if type(event) is StatusChanged:  # built; other events are validated
                assert event.model_fields_set == set(StatusChanged.model_fields)
            assert event.model_dump_json() == validated.model_dump_json()


def test_built_models_of_a_class_share_one_fields_set() -> None:
    """Two models built of one class share the set of their fields (no set per event)."""
    values = StatusChanged.model_validate(
        {
            "event_id": "e",
            "job_id": "j",
            "occurred_at": datetime(2026, 1, 1, tzinfo=UTC),
            "status": Status.NOT_STARTED,
            "status_label": Status.NOT_STARTED.label,
            "previous_status": None,
            "stage": Stage.SNAPSHOT,
            "stages": Stages(),
            "stats": Stats(),
        }
    ).__dict__
    first, second = built(StatusChanged, dict(values)), built(StatusChanged, dict(values))
    assert first == second
    assert first.__pydantic_fields_set__ is second.__pydantic_fields_set__
    assert first.model_fields_set == set(StatusChanged.model_fields)
