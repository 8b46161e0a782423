"""The sentences users read: why a command was rejected, and what to do instead."""

from __future__ import annotations

from datetime import datetime, timedelta

from syncctl.contract import JobRecord, Status

_MAX_JOB_ID = 128


def next_job_id(job_id: str) -> str:
    """A job id to suggest for starting over: `orders` -> `orders-v2`, `orders-v2` ->
    `orders-v3`."""
    stem, _, number = job_id.rpartition("-v")
    if stem and number.isdigit():
        version = int(number) + 1
    else:
        stem, version = job_id, 2
    suffix = f"-v{version}"
    return stem[: _MAX_JOB_ID - len(suffix)] + suffix


def _start_over(job_id: str) -> str:
    return (
        f"to migrate again, create a new job with a new job id (e.g. {next_job_id(job_id)}) and "
        "drop_destination=true"
    )


def unknown_job(job_id: str) -> str:
    return (
        f"job {job_id} does not exist; check the job id, or create the job first (an ended job "
        "is forgotten after the retention period: its history stays on the events topic)"
    )


def job_exists(record: JobRecord) -> str:
    return (
        f"job {record.job_id} already exists ({record.status.label}) and a job id is used once; "
        f"choose another job id (e.g. {next_job_id(record.job_id)}), with drop_destination=true "
        "to replace the data this job migrated"
    )


def already_stopped(record: JobRecord) -> str:
    return (
        f"job {record.job_id} has already ended ({record.status.label}) and a stopped job cannot "
        f"be resumed; {_start_over(record.job_id)}"
    )


def stop_in_progress(record: JobRecord) -> str:
    stop = record.stop
    detail = f", requested by {stop.requested_by}" if stop and stop.requested_by else ""
    deadline = f"; it ends by {stop.deadline_at.isoformat()} at the latest" if stop else ""
    return (
        f"job {record.job_id} is already stopping ({record.status.label}{detail}); "
        f"wait for it to finish{deadline}"
    )


def terminate_in_cdc(record: JobRecord) -> str:
    return (
        f"job {record.job_id} is in its CDC stage ({record.status.label}); "
        "use complete_cdc to end it gracefully"
    )


def complete_cdc_on_snapshot_job(record: JobRecord) -> str:
    return f"job {record.job_id} is a snapshot job with no CDC stage; use terminate to stop it"


def complete_cdc_in_snapshot_stage(record: JobRecord) -> str:
    return (
        f"job {record.job_id} is still in its snapshot stage ({record.status.label}); use "
        "terminate to cancel it now, or send complete_cdc once it is CDC running"
    )


def forced_stop(record: JobRecord) -> str:
    stopping = "cancel" if record.status is Status.CANCELLING else "complete CDC"
    return (
        f"the engine did not confirm the {stopping} before the stop deadline; syncctl ended the job"
    )


def snapshot_finished_during_stop() -> str:
    return "the snapshot finished while the stop was in flight; the data copied so far stays"


def _asked(record: JobRecord) -> str:
    """The change a job that is PAUSING or RESUMING waits for the engine to confirm."""
    return "pause" if record.status is Status.PAUSING else "resume"


def change_in_progress(record: JobRecord) -> str:
    change = record.change
    deadline = f" (by {change.deadline_at.isoformat()} at the latest)" if change else ""
    return (
        f"job {record.job_id} is waiting for the engine to confirm a {_asked(record)} "
        f"({record.status.label}); send this again once it is confirmed{deadline}"
    )


def pause_before_start(record: JobRecord) -> str:
    return (
        f"job {record.job_id} has not started yet ({record.status.label}): nothing runs to "
        "pause; use terminate to cancel it at once, or pause it once its snapshot runs"
    )


def already_paused(record: JobRecord) -> str:
    return f"job {record.job_id} is already paused; use resume to continue it"


def not_paused(record: JobRecord) -> str:
    return f"job {record.job_id} is not paused ({record.status.label}); there is nothing to resume"


def change_not_confirmed(record: JobRecord, seconds: float) -> str:
    asked = _asked(record)
    meanwhile = "keeps running" if asked == "pause" else "is still paused"
    return (
        f"the engine did not confirm the {asked} within {seconds:g} s, so the job {meanwhile}; "
        f"send {asked} again to retry"
    )


def schedule_in_the_past(at: datetime) -> str:
    return (
        f"the scheduled time {at.isoformat()} has already passed; send complete_cdc without `at` "
        "to complete CDC now, or choose a future time"
    )


def schedule_too_far(at: datetime, limit: timedelta) -> str:
    return (
        f"the scheduled time {at.isoformat()} is more than {limit.days} days ahead; schedule a "
        "nearer time"
    )


def no_schedule(record: JobRecord) -> str:
    return f"job {record.job_id} has nothing scheduled; there is nothing to cancel"


def at_the_scheduled_time(reason: str) -> str:
    return f"at the scheduled time the complete_cdc could not apply: {reason}"
