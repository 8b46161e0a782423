"""`replaced` is `model_copy(update=...)` without the generic copying: the same model, the same
fields set, the same JSON, the original untouched."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from syncctl.contract import JobRecord
from syncctl.machine import apply
from syncctl.machine.model import replaced
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
