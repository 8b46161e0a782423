"""Which operator commands a job refuses now, with the code and the sentence the user reads."""

from __future__ import annotations

from datetime import datetime, timedelta

from syncctl.contract import JobRecord, Mode, RejectionCode, Stage, Status
from syncctl.machine import reasons
from syncctl.machine.model import DEFAULT_RULES, Rules

STOP_COMMANDS = ("terminate", "complete_cdc")
CHANGE_COMMANDS = ("pause", "resume")


def allowed_commands(record: JobRecord) -> tuple[str, ...]:
    """The operator commands `apply` would accept for this record now (CLI, console, client):
    the stop that applies first, then pause or resume."""
    stops = [c for c in STOP_COMMANDS if stop_rejection(record, c) is None]
    changes = [c for c in CHANGE_COMMANDS if change_rejection(record, c) is None]
    cancel = ["cancel_schedule"] if record.scheduled is not None else []
    return (*stops, *changes, *cancel)


def schedulable(record: JobRecord) -> bool:
    """Whether `apply` would accept a complete_cdc for a time to come now (CLI, console)."""
    soon = record.updated_at + timedelta(hours=1)
    return schedule_rejection(record, soon, record.updated_at, DEFAULT_RULES) is None


def _ended_or_busy(record: JobRecord) -> tuple[RejectionCode, str] | None:
    """What refuses every stop, pause and resume: the job has ended, or the engine has not yet
    confirmed a stop, pause or resume."""
    if record.status.terminal:
        return RejectionCode.ALREADY_STOPPED, reasons.already_stopped(record)
    if record.status.stopping:
        return RejectionCode.STOP_IN_PROGRESS, reasons.stop_in_progress(record)
    if record.status.changing:
        return RejectionCode.CHANGE_IN_PROGRESS, reasons.change_in_progress(record)
    return None


def stop_rejection(record: JobRecord, command_type: str) -> tuple[RejectionCode, str] | None:
    """The first rejection code that applies, in the contract's order (unknown_job is checked
    before)."""
    if (busy := _ended_or_busy(record)) is not None:
        return busy
    if command_type == "terminate" and record.stage is Stage.CDC:
        return RejectionCode.WRONG_STAGE, reasons.terminate_in_cdc(record)
    if command_type == "complete_cdc" and record.mode is Mode.SNAPSHOT:
        return RejectionCode.WRONG_STAGE, reasons.complete_cdc_on_snapshot_job(record)
    if command_type == "complete_cdc" and record.stage is not Stage.CDC:
        return RejectionCode.WRONG_STAGE, reasons.complete_cdc_in_snapshot_stage(record)
    return None


def schedule_rejection(
    record: JobRecord, at: datetime, now: datetime, rules: Rules
) -> tuple[RejectionCode, str] | None:
    if record.status.terminal:
        return RejectionCode.ALREADY_STOPPED, reasons.already_stopped(record)
    if record.status.stopping:
        return RejectionCode.STOP_IN_PROGRESS, reasons.stop_in_progress(record)
    if record.mode is Mode.SNAPSHOT:
        return RejectionCode.WRONG_STAGE, reasons.complete_cdc_on_snapshot_job(record)
    if at <= now:
        return RejectionCode.INVALID_SCHEDULE, reasons.schedule_in_the_past(at)
    if at > now + rules.schedule_limit:
        return RejectionCode.INVALID_SCHEDULE, reasons.schedule_too_far(at, rules.schedule_limit)
    return None


def change_rejection(record: JobRecord, command_type: str) -> tuple[RejectionCode, str] | None:
    """The first rejection code that applies to a pause or resume (unknown_job checked before)."""
    if (busy := _ended_or_busy(record)) is not None:
        return busy
    if command_type == "pause" and record.status is Status.PAUSED:
        return RejectionCode.ALREADY_PAUSED, reasons.already_paused(record)
    if command_type == "pause" and record.status is Status.NOT_STARTED:
        return RejectionCode.WRONG_STAGE, reasons.pause_before_start(record)
    if command_type == "resume" and record.status is not Status.PAUSED:
        return RejectionCode.NOT_PAUSED, reasons.not_paused(record)
    return None
