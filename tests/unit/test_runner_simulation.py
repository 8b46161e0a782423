"""The reference runner's engine simulation reports what docs/runner-protocol.md promises."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from syncctl.contract import JobRecord, Mode, Stages, StageState, Stats, Status
from syncctl.runner.simulation import Phase, SimulatedJob
from syncctl.settings import RunnerSettings

FAST = RunnerSettings(
    rows_per_second=1000,
    tables_min=2,
    tables_max=2,
    rows_per_table_min=500,
    rows_per_table_max=500,
    cdc_events_per_second=10,
    progress_interval=0.5,
    start_delay=0.1,
    stop_delay=2.0,
)


def run(job: SimulatedJob, until: float, step: float = 0.1) -> list[str]:
    kinds, now = [], job.last_tick
    while now < until:
        now = round(now + step, 6)
        kinds += [report.type for report in job.advance(now)]
    return kinds


def test_a_snapshot_job_starts_reports_progress_and_completes() -> None:
    job = SimulatedJob.new("j", Mode.SNAPSHOT, 0.0, FAST, random.Random(1))
    kinds = run(job, until=2.0)
    assert kinds[0] == "snapshot_started"
    assert kinds[-2:] == ["progress", "snapshot_completed"]
    assert "progress" in kinds[1:-2]
    assert (
        job.phase is Phase.DONE and job.stats.tables_done == 2 and job.stats.rows_migrated == 1000
    )


def test_a_continuous_job_keeps_reporting_cdc_events_until_asked_to_stop() -> None:
    job = SimulatedJob.new("j", Mode.CONTINUOUS, 0.0, FAST, random.Random(1))
    run(job, until=5.0)
    assert job.phase is Phase.CDC and (job.stats.events_seen or 0) > 0
    job.request_stop(5.0)
    assert run(job, until=6.9) == []  # the engine takes stop_delay to wind down
    kinds = [(r.type, r.fields) for r in job.advance(7.0)]
    assert kinds[-1] == ("stopped", {"temp_data_cleaned": True})
    assert job.phase is Phase.DONE


def test_a_stop_during_the_snapshot_freezes_progress_and_confirms() -> None:
    job = SimulatedJob.new("j", Mode.SNAPSHOT, 0.0, FAST, random.Random(1))
    run(job, until=0.5)
    rows = job.stats.rows_migrated
    job.request_stop(0.5)
    reports = job.advance(2.5)
    assert [r.type for r in reports] == ["progress", "stopped"]
    assert reports[1].fields == {} and job.stats.rows_migrated == rows


SLOW = FAST.model_copy(update={"rows_per_second": 100})  # a 10 s snapshot


def test_a_paused_job_copies_nothing_until_resumed_and_confirms_both() -> None:
    job = SimulatedJob.new("j", Mode.SNAPSHOT, 0.0, SLOW, random.Random(1))
    run(job, until=0.4)
    job.request_change("pause", 0.4)
    kinds = run(job, until=2.5)  # the engine takes stop_delay (2 s) to pause
    assert kinds[-2:] == ["progress", "paused"] and job.paused
    copied = job.rows_done
    assert run(job, until=10.0) == [] and job.rows_done == copied, "a paused job copies nothing"

    job.request_change("resume", 10.0)
    kinds = run(job, until=12.1)
    assert kinds[:2] == ["progress", "resumed"] and not job.paused
    run(job, until=14.0)
    assert job.rows_done > copied


def test_a_paused_job_can_still_be_stopped() -> None:
    job = SimulatedJob.new("j", Mode.SNAPSHOT, 0.0, SLOW, random.Random(1))
    run(job, until=0.4)
    job.request_change("pause", 0.4)
    run(job, until=2.5)
    job.request_stop(2.5)
    assert run(job, until=5.0)[-1] == "stopped" and job.phase is Phase.DONE


def _record(status: str, **stats: int) -> JobRecord:
    now = datetime(2026, 12, 7, tzinfo=UTC)
    cdc = status == "CDC_RUNNING"
    return JobRecord(
        job_id="old",
        mode=Mode.CONTINUOUS,
        status=Status(status),
        stages=Stages(
            snapshot=StageState.COMPLETED if cdc else StageState.RUNNING,
            cdc=StageState.RUNNING if cdc else StageState.NOT_STARTED,
        ),
        stats=Stats(**stats),
        created_at=now,
        updated_at=now,
    )


def test_a_job_in_cdc_carries_on_after_a_restart_with_the_figures_it_had() -> None:
    """A second `make run` once showed 'tables 3/7' for a job that had shown 'tables 4/4'."""
    record = _record("CDC_RUNNING", tables_total=4, tables_done=4, rows_migrated=110_993)
    for seed in range(20):
        job = SimulatedJob.resumed(record, 0.0, FAST, random.Random(seed))
        assert job.phase is Phase.CDC
        assert (job.stats.tables_done, job.stats.tables_total) == (4, 4)
        assert job.stats.rows_migrated == 110_993


def test_a_job_mid_snapshot_carries_on_from_its_tables_and_rows() -> None:
    record = _record("SNAPSHOT_RUNNING", tables_total=7, tables_done=3, rows_migrated=12_345)
    job = SimulatedJob.resumed(record, 0.0, FAST, random.Random(3))
    assert (job.stats.tables_done, job.stats.tables_total, job.stats.rows_migrated) == (
        3,
        7,
        12_345,
    )
    run(job, until=60.0)
    assert job.stats.tables_done == 7 and job.stats.rows_migrated > 12_345


def test_snapshot_mode_jobs_can_be_given_more_tables_than_continuous_ones() -> None:
    settings = FAST.model_copy(update={"snapshot_job_tables_min": 9, "snapshot_job_tables_max": 9})
    snapshot = SimulatedJob.new("s", Mode.SNAPSHOT, 0.0, settings, random.Random(1))
    continuous = SimulatedJob.new("c", Mode.CONTINUOUS, 0.0, settings, random.Random(1))
    assert (len(snapshot.table_rows), len(continuous.table_rows)) == (9, 2)
