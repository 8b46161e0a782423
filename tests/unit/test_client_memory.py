"""A long-lived client (the runner sends every progress report through one) stays small."""

from __future__ import annotations

from datetime import UTC, datetime

from syncctl.client import SENT_COMMANDS_REMEMBERED, SyncJobsClient
from syncctl.contract import Progress, Stats, Terminate

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def test_the_client_remembers_a_bounded_number_of_operator_commands_and_no_reports() -> None:
    client = SyncJobsClient("127.0.0.1:1")
    for number in range(SENT_COMMANDS_REMEMBERED + 5):
        client._remember_sent(Terminate(command_id=f"c{number}", job_id="j", issued_at=NOW))
    for number in range(100):
        report = Progress(
            command_id=f"p{number}", job_id="j", issued_at=NOW, stats=Stats(rows_migrated=number)
        )
        client._remember_sent(report)
    remembered = client._sent_at
    assert len(remembered) == SENT_COMMANDS_REMEMBERED
    assert "c0" not in remembered and f"c{SENT_COMMANDS_REMEMBERED + 4}" in remembered
    assert not any(command_id.startswith("p") for command_id in remembered)


def test_listing_a_large_fleet_keeps_a_few_hundred_bytes_a_job_not_its_record() -> None:
    """`syncctl jobs --limit N` (FleetIndex without values) holds per job its change time, key
    and position, never the record: well under the record's own size (about 900 bytes here)."""
    import tracemalloc
    from datetime import timedelta

    from syncctl.contract import JobRecord, Status
    from syncctl.listing import FleetIndex

    jobs = 20_000
    template = JobRecord(
        job_id="JOB",
        mode="continuous",
        status=Status.CDC_RUNNING,
        created_at=NOW,
        updated_at=NOW,
        created_by="alice",
        applied_command_ids=("a" * 32, "b" * 32, "c" * 32),
    ).model_dump_json()
    values = [
        template.replace('"JOB"', f'"orders-{n:07d}"')
        .replace(
            '"updated_at":"2026-11-28T00:00:00Z"',
            f'"updated_at":"{NOW + timedelta(seconds=n):%Y-%m-%dT%H:%M:%SZ}"',
        )
        .encode()
        for n in range(jobs)
    ]
    record_bytes = sum(map(len, values)) / jobs
    tracemalloc.start()
    try:
        index = FleetIndex()
        for offset, value in enumerate(values):
            index.add(f"orders-{offset:07d}".encode(), value, offset % 12, offset)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert index.total_matching == jobs
    assert [e[1] for e in index.ranked(2)] == [b"orders-0019999", b"orders-0019998"]
    per_job = held / jobs
    assert per_job < 350, f"{per_job:.0f} bytes a job"
    assert per_job < record_bytes / 2, f"{per_job:.0f} bytes a job, records {record_bytes:.0f}"
