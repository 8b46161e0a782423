"""The store's index of ended jobs, which retention reads: restored raw or written parsed, each
ended job is found once its end is old enough, first ended first, and never a job that has
changed since (a new job under the same id, a tombstone)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncctl.contract import JobRecord, Mode, Status
from syncctl.contract.serialization import to_json
from syncctl.store import StateStore
from syncctl.store.partition import PartitionState

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def record(job_id: str, status: Status, ended: datetime | None = None) -> JobRecord:
    return JobRecord(
        job_id=job_id,
        mode=Mode.SNAPSHOT,
        status=status,
        created_at=T0,
        updated_at=ended or T0,
        status_changed_at=ended,
    )


@pytest.mark.parametrize("restored", [True, False], ids=["restored raw", "written parsed"])
def test_ended_jobs_are_found_first_ended_first_once_their_end_is_old_enough(
    restored: bool,
) -> None:
    state = PartitionState(0, index_endings=True)
    jobs = {
        "late": record("late", Status.COMPLETED, T0 + timedelta(days=3)),
        "early": record("early", Status.SNAPSHOT_CANCELLED, T0 + timedelta(days=1)),
        "failed": record("failed", Status.FAILED, T0 + timedelta(days=2)),
        "running": record("running", Status.SNAPSHOT_RUNNING),
    }
    for job_id, job in jobs.items():
        if restored:
            state.restore(job_id.encode(), to_json(job))
        else:
            state.put(job_id, job)
    assert state.ended_jobs() == 3
    assert state.ended_before(T0 + timedelta(days=2), limit=10) == ["early", "failed"]
    assert state.ended_before(T0 + timedelta(days=9), limit=10) == ["late"]
    assert state.ended_before(T0 + timedelta(days=9), limit=10) == []  # each is found once


def test_a_job_changed_since_it_ended_is_not_found_for_its_old_end() -> None:
    state = PartitionState(0, index_endings=True)
    state.put("reused", record("reused", Status.COMPLETED, T0))
    state.put("gone", record("gone", Status.COMPLETED, T0))
    state.put("reused", None)  # expired, then created again: a new job that has not ended
    state.put("reused", record("reused", Status.SNAPSHOT_RUNNING))
    state.restore(b"gone", None)  # a tombstone
    assert state.ended_before(T0 + timedelta(days=90), limit=10) == []
    assert state.ended_jobs() == 0


def test_an_aborted_removal_puts_the_job_back_in_the_index() -> None:
    store = StateStore(index_endings=True)
    store.add_partition(3)
    ended = record("done", Status.CDC_COMPLETED, T0)
    store.put(3, "done", ended)
    assert store.ended_before(T0 + timedelta(days=1), {3}, limit=10) == [(3, "done")]
    store.put(3, "done", None)  # the transaction that removes it...
    store.put_back(3, "done", ended)  # ...aborts
    assert store.ended_before(T0 + timedelta(days=1), {3}, limit=10) == [(3, "done")]


def test_the_limit_spans_partitions_and_unowned_partitions_are_left_alone() -> None:
    store = StateStore(index_endings=True)
    for partition in (0, 1, 2):
        store.add_partition(partition)
        for n in range(3):
            store.put(
                partition, f"j{partition}-{n}", record(f"j{partition}-{n}", Status.FAILED, T0)
            )
    found = store.ended_before(T0 + timedelta(days=1), {0, 1}, limit=4)
    assert len(found) == 4 and {partition for partition, _ in found} <= {0, 1}
    assert len(store.ended_before(T0 + timedelta(days=1), {0, 1}, limit=10)) == 2


def test_without_retention_nothing_is_indexed() -> None:
    state = PartitionState(0)
    state.put("done", record("done", Status.COMPLETED, T0))
    assert state.ended_before(T0 + timedelta(days=900), limit=10) == []


_STATUSES = st.sampled_from(list(Status))
_DAYS = st.integers(0, 3)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["restore", "put", "delete"]),
            st.sampled_from(["job-1", "job-2", "job-3"]),
            _STATUSES,
            _DAYS,
        ),
        max_size=40,
    )
)
def test_the_ended_jobs_found_are_those_the_store_holds_ended_whatever_came_before(
    steps: list[tuple[str, str, Status, int]],
) -> None:
    """Writes that neither end a job nor change an ended one skip the index: whatever the order
    of writes (an aborted transaction's undoing is one), restores and deletes, retention finds
    exactly the ended jobs held, by the end each holds now."""
    state = PartitionState(0, count_statuses=True, index_endings=True)
    for action, job_id, status, days in steps:
        job = record(job_id, status, T0 + timedelta(days=days))
        if action == "restore":
            state.restore(job_id.encode(), to_json(job))
        elif action == "put":
            state.put(job_id, job)
        else:
            state.put(job_id, None)
    held = {job: state.get(job) for job in ("job-1", "job-2", "job-3")}
    ended = {job: r.ended_at for job, r in held.items() if r is not None and r.ended_at}
    assert state.ended_jobs() == len(ended)
    found = state.ended_before(T0 + timedelta(days=9), limit=10)
    assert sorted(found) == sorted(ended)
    assert [ended[job] for job in found] == sorted(ended[job] for job in found)
