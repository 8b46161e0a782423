"""What `relocate-state` writes: every job ends with one live record, on its id's partition."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from syncctl.contract import Mode, Status
from syncctl.kafka.partitioning import partition_for
from syncctl.store.relocate import plan_relocation
from tests.unit.machine.journeys import record_in

PARTITIONS = 5
job_ids = st.from_regex(r"[a-z0-9-]{1,12}", fullmatch=True)


def _value(job_id: str, age_minutes: int = 0) -> bytes:
    record = record_in(Status.SNAPSHOT_RUNNING, Mode.SNAPSHOT).model_copy(update={"job_id": job_id})
    record = record.model_copy(
        update={"updated_at": record.updated_at - timedelta(minutes=age_minutes)}
    )
    return record.model_dump_json().encode()


def _after(latest: dict[tuple[int, bytes], bytes | None]) -> dict[tuple[int, bytes], bytes | None]:
    result = dict(latest)
    for write in plan_relocation(latest, PARTITIONS).writes:
        result[(write.partition, write.job_id)] = write.value
    return result


@given(
    st.dictionaries(
        job_ids, st.lists(st.integers(0, PARTITIONS - 1), min_size=1, max_size=3, unique=True)
    )
)
def test_every_job_ends_with_one_record_on_its_home_partition(
    placements: dict[str, list[int]],
) -> None:
    latest = {
        (partition, job.encode()): _value(job, age_minutes=n)
        for job, partitions in placements.items()
        for n, partition in enumerate(partitions)
    }
    after = _after(latest)
    for job, partitions in placements.items():
        live = {p for (p, key), value in after.items() if key == job.encode() and value is not None}
        assert live == {partition_for(job.encode(), PARTITIONS)}
        # The record kept is the one updated last (the first placement here).
        kept = after[(partition_for(job.encode(), PARTITIONS), job.encode())]
        assert kept == latest[(partitions[0], job.encode())]


def test_records_already_in_place_and_removed_jobs_are_left_alone() -> None:
    home = next(
        f"job-{n}" for n in range(100) if partition_for(f"job-{n}".encode(), PARTITIONS) == 2
    )
    elsewhere = 3
    latest = {(2, home.encode()): _value(home), (elsewhere, b"gone"): None}
    assert plan_relocation(latest, PARTITIONS).writes == []
