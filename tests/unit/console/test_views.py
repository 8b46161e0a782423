"""What History and the Job overview show of a job's end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from syncctl.console.views import job_view
from syncctl.contract import JobRecord, Mode, StageState, Stats, Status
from syncctl.contract.records import ScheduledCommand, Stages

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
COPIED = Stats(tables_total=4, tables_done=2, rows_migrated=12_345, events_seen=77)


def record(mode: Mode, status: Status, stages: Stages, stats: Stats = COPIED) -> JobRecord:
    return JobRecord(
        job_id="j",
        mode=mode,
        status=status,
        stages=stages,
        stats=stats,
        created_at=NOW,
        updated_at=NOW,
    )


def test_a_cancelled_job_shows_a_cross_and_keeps_what_its_snapshot_copied() -> None:
    view = job_view(
        record(Mode.CONTINUOUS, Status.SNAPSHOT_CANCELLED, Stages(snapshot=StageState.CANCELLED)),
        NOW,
    )
    assert view["mark"] == {"symbol": "×", "text": "Cancelled"}
    snapshot, cdc = view["stages"]
    assert (snapshot["label"], snapshot["progress"]) == ("Cancelled", "tables 2/4, 12,345 rows")
    assert (cdc["label"], cdc["progress"]) == ("Not run", "")  # the job ended before CDC began


def test_cdc_completed_shows_a_checkmark_and_every_stage_completed_with_its_figures() -> None:
    done = Stages(snapshot=StageState.COMPLETED, cdc=StageState.COMPLETED)
    view = job_view(record(Mode.CONTINUOUS, Status.CDC_COMPLETED, done), NOW)
    assert view["mark"] == {"symbol": "✓", "text": "Completed"}
    assert [(s["name"], s["label"], s["progress"]) for s in view["stages"]] == [
        ("Snapshot", "Completed", "tables 2/4, 12,345 rows"),
        ("CDC", "Completed", "77 CDC events"),
    ]


def test_a_running_job_has_no_mark_and_a_not_started_stage_is_just_not_started() -> None:
    view = job_view(
        record(Mode.CONTINUOUS, Status.SNAPSHOT_RUNNING, Stages(snapshot=StageState.RUNNING)), NOW
    )
    assert view["mark"] is None
    assert [s["label"] for s in view["stages"]] == ["Running", "Not started"]
    fresh = job_view(
        record(
            Mode.SNAPSHOT, Status.SNAPSHOT_RUNNING, Stages(snapshot=StageState.RUNNING), Stats()
        ),
        NOW,
    )
    assert fresh["stages"][0]["progress"] == ""


def test_a_paused_job_offers_its_stop_and_resume_and_its_stage_reads_paused() -> None:
    paused = Stages(snapshot=StageState.COMPLETED, cdc=StageState.PAUSED)
    view = job_view(record(Mode.CONTINUOUS, Status.PAUSED, paused), NOW)
    assert view["actions"] == ["complete-cdc", "resume"]
    assert [s["label"] for s in view["stages"]] == ["Completed", "Paused"]
    assert view["mark"] is None and not view["final"]


def test_a_scheduled_complete_is_shown_on_the_job_and_in_its_timeline() -> None:
    from syncctl.console.views import event_view
    from syncctl.contract import ScheduleChanged, ScheduledCommand

    at = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    plan = ScheduledCommand(
        command_id="c9", command_type="complete_cdc", at=at, requested_at=NOW, requested_by="alice"
    )
    running = record(
        Mode.CONTINUOUS,
        Status.CDC_RUNNING,
        Stages(snapshot=StageState.COMPLETED, cdc=StageState.RUNNING),
    )
    view = job_view(running.model_copy(update={"scheduled": plan}), NOW)
    assert view["scheduled"] == "Complete CDC at 2026-12-01 01:00 UTC (by alice)"
    assert "cancel-schedule" in view["actions"]
    line = event_view(
        ScheduleChanged(
            event_id="e",
            job_id="j",
            occurred_at=NOW,
            command_id="c9",
            status=Status.CDC_RUNNING,
            status_label="CDC running",
            command_type="complete_cdc",
            at=at,
            requested_by="alice",
        )
    )
    assert (
        line["kind"] == "schedule"
        and line["text"] == "complete_cdc scheduled for 2026-12-01 01:00 UTC (by alice)"
    )


def test_a_scheduled_complete_cdc_is_shown_in_utc_with_its_moment_for_the_viewers_zone() -> None:
    running = record(
        Mode.CONTINUOUS,
        Status.CDC_RUNNING,
        Stages(snapshot=StageState.COMPLETED, cdc=StageState.RUNNING),
    )
    assert job_view(running, NOW)["may_schedule"] and job_view(running, NOW)["scheduled_at"] is None
    at = datetime(2026, 11, 29, 2, 0, tzinfo=UTC) + timedelta(minutes=30)
    plan = ScheduledCommand(
        command_id="c", command_type="complete_cdc", at=at, requested_at=NOW, requested_by="alice"
    )
    view = job_view(running.model_copy(update={"scheduled": plan}), NOW)
    assert view["scheduled"] == "Complete CDC at 2026-11-29 02:30 UTC (by alice)"
    assert (view["scheduled_at"], view["scheduled_by"]) == ("2026-11-29T02:30:00+00:00", "alice")
    assert view["may_schedule"]  # it can be moved
    assert "cancel-schedule" in view["actions"]
    snapshot_only = record(Mode.SNAPSHOT, Status.SNAPSHOT_RUNNING, Stages())
    assert not job_view(snapshot_only, NOW)["may_schedule"]
