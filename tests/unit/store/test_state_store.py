"""The store after an aborted transaction is what the changelog says; restore indexes deadlines."""

from __future__ import annotations

from datetime import timedelta

from syncctl.contract import Mode, Status
from syncctl.machine import apply
from syncctl.store import StateStore
from tests.unit.machine.journeys import T0, message, record_in


def test_rollback_puts_back_every_record_the_aborted_transaction_touched() -> None:
    store = StateStore()
    store.add_partition(0)
    running = record_in(Status.SNAPSHOT_RUNNING, Mode.SNAPSHOT)
    store.put(0, "job-1", running)
    store.commit()

    cancelling = apply(running, message("terminate"), T0).record
    store.put(0, "job-1", cancelling)
    store.put(0, "job-2", record_in(Status.NOT_STARTED, Mode.SNAPSHOT))
    store.put(0, "job-1", None)
    store.rollback()

    assert store.get(0, "job-1") == running
    assert store.get(0, "job-2") is None
    assert store.due(T0 + timedelta(hours=1), {0}) == []


def test_a_committed_stop_is_due_at_its_deadline_and_not_before() -> None:
    store = StateStore()
    store.add_partition(3)
    cancelling = record_in(Status.CANCELLING, Mode.SNAPSHOT)
    store.put(3, "job-1", cancelling)
    store.commit()
    assert cancelling.stop is not None
    assert store.due(cancelling.stop.deadline_at - timedelta(seconds=1), {3}) == []
    assert store.due(cancelling.stop.deadline_at, {3}) == [(3, "job-1")]
    assert store.due(cancelling.stop.deadline_at, {4}) == []


def test_restored_records_read_back_equal_and_pending_stops_are_indexed() -> None:
    store = StateStore()
    partition = store.add_partition(0)
    plain = record_in(Status.SNAPSHOT_RUNNING, Mode.SNAPSHOT)
    stopping = record_in(Status.CDC_COMPLETING, Mode.CONTINUOUS).model_copy(update={"job_id": "job-2"})
    partition.restore(b"job-1", plain.model_dump_json().encode())
    partition.restore(b"job-2", stopping.model_dump_json().encode())
    partition.restore(b"job-3", plain.model_dump_json().encode())
    partition.restore(b"job-3", None)  # a tombstone deletes

    assert store.get(0, "job-1") == plain
    assert store.get(0, "job-2") == stopping
    assert store.get(0, "job-3") is None
    assert partition.pending_stops() == 1
