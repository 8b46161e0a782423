"""The store holds what it is given and what restore reads; it indexes deadlines and counts
jobs by status as records come and go (undoing an aborted transaction: test_checkpoint.py)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from syncctl.contract import JobRecord, Mode, Status
from syncctl.machine import apply
from syncctl.store import StateStore
from tests.unit.machine.journeys import T0, message, record_in


def test_put_answers_what_was_there_and_put_back_restores_it_unless_the_partition_went() -> None:
    store = StateStore()
    store.add_partition(0)
    running = record_in(Status.SNAPSHOT_RUNNING, Mode.SNAPSHOT)
    assert store.put(0, "job-1", running) is None
    cancelling = apply(running, message("terminate"), T0).record
    assert store.put(0, "job-1", cancelling) == running
    assert store.due(T0 + timedelta(hours=1), {0}) == [(0, "job-1")]

    store.put_back(0, "job-1", running)  # an aborted transaction's change undone
    assert store.get(0, "job-1") == running
    assert store.due(T0 + timedelta(hours=1), {0}) == []
    store.drop_partition(0)
    store.put_back(0, "job-1", None)  # the partition went with a rebalance: nothing to undo
    assert store.partitions() == []


def test_a_committed_stop_is_due_at_its_deadline_and_not_before() -> None:
    store = StateStore()
    store.add_partition(3)
    cancelling = record_in(Status.CANCELLING, Mode.SNAPSHOT)
    store.put(3, "job-1", cancelling)
    assert cancelling.stop is not None
    assert store.due(cancelling.stop.deadline_at - timedelta(seconds=1), {3}) == []
    assert store.due(cancelling.stop.deadline_at, {3}) == [(3, "job-1")]
    assert store.due(cancelling.stop.deadline_at, {4}) == []


def test_restored_records_read_back_equal_and_pending_stops_are_indexed() -> None:
    store = StateStore()
    partition = store.add_partition(0)
    plain = record_in(Status.SNAPSHOT_RUNNING, Mode.SNAPSHOT)
    stopping = record_in(Status.CDC_COMPLETING, Mode.CONTINUOUS).model_copy(
        update={"job_id": "job-2"}
    )
    partition.restore(b"job-1", plain.model_dump_json().encode())
    partition.restore(b"job-2", stopping.model_dump_json().encode())
    partition.restore(b"job-3", plain.model_dump_json().encode())
    partition.restore(b"job-3", None)  # a tombstone deletes

    assert store.get(0, "job-1") == plain
    assert store.get(0, "job-2") == stopping
    assert store.get(0, "job-3") is None
    assert partition.pending_deadlines() == 1


def _a_record_in(status: Status) -> JobRecord:
    mode = Mode.SNAPSHOT if status is Status.COMPLETED else Mode.CONTINUOUS
    return record_in(status, mode)


RECORDS = {status: _a_record_in(status) for status in Status}


@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["restore", "put", "delete", "put_back"]),
            st.sampled_from(["job-1", "job-2", "job-3"]),
            st.sampled_from(list(Status)),
        ),
        max_size=40,
    )
)
def test_jobs_by_status_always_match_the_records_the_store_holds(
    steps: list[tuple[str, str, Status]],
) -> None:
    """The `syncctl_jobs{status}` gauge is counted as records come and go, never by a recount."""
    store = StateStore(count_statuses=True)
    partition = store.add_partition(0)
    for action, job_id, status in steps:
        record = RECORDS[status].model_copy(update={"job_id": job_id})
        if action == "restore":
            partition.restore(job_id.encode(), record.model_dump_json().encode())
        elif action == "put":
            store.put(0, job_id, record)
        elif action == "delete":
            store.put(0, job_id, None)
        else:  # an aborted transaction puts back what the job held before it
            store.put_back(0, job_id, record)
        held = [store.get(0, job) for job in ("job-1", "job-2", "job-3")]
        expected = Counter(record.status.value for record in held if record is not None)
        assert store.statuses() == dict(expected)


_KEYS = st.sampled_from([f"job-{n}" for n in range(4)])
_STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), _KEYS, st.none() | st.integers(0, 6)),
        st.tuples(st.just("delete"), _KEYS, st.none()),
        st.tuples(st.just("due"), st.none(), st.integers(0, 7)),
    ),
    max_size=40,
)


@given(_STEPS)
def test_due_answers_every_job_whose_deadline_has_passed_whatever_came_before(steps: list) -> None:
    """The timer's order of deadlines stays true to the records as they change, are removed,
    and are found due again while nothing acted on them."""
    store = StateStore()
    store.add_partition(0)
    cancelling = record_in(Status.CANCELLING, Mode.SNAPSHOT)
    running = record_in(Status.SNAPSHOT_RUNNING, Mode.SNAPSHOT)
    assert cancelling.stop is not None and running.deadline_at is None
    deadlines: dict[str, int | None] = {}
    for action, job_id, minutes in steps:
        if action == "put":
            stop = cancelling.stop.model_copy(
                update={"deadline_at": T0 + timedelta(minutes=minutes or 0)}
            )
            record = running if minutes is None else cancelling.model_copy(update={"stop": stop})
            store.put(0, job_id, record.model_copy(update={"job_id": job_id}))
            deadlines[job_id] = minutes
        elif action == "delete":
            store.put(0, job_id, None)
            deadlines.pop(job_id, None)
        else:
            due = store.due(T0 + timedelta(minutes=minutes), {0})
            expected = {j for j, m in deadlines.items() if m is not None and m <= minutes}
            assert sorted(j for _, j in due) == sorted(expected)
            assert len(due) == len(expected), "each job once"


def test_a_dropped_partition_is_gone_at_once_and_its_records_are_freed_a_slice_at_a_time() -> None:
    store = StateStore()
    state = store.add_partition(0)
    store.add_partition(1)
    running = record_in(Status.SNAPSHOT_RUNNING, Mode.SNAPSHOT)
    cancelling = record_in(Status.CANCELLING, Mode.SNAPSHOT)
    for n in range(25):
        store.put(0, f"job-{n}", cancelling if n % 5 == 0 else running)
    store.put(1, "kept", running)

    store.drop_partition(0)
    assert store.partitions() == [1]
    assert store.due(T0 + timedelta(days=1), {0, 1}) == []
    assert [store.release(limit=10) for _ in range(4)] == [10, 10, 5, 0]
    assert len(state) == 0 and state.pending_deadlines() == 0
    assert store.get(1, "kept") == running, "other partitions keep theirs"
