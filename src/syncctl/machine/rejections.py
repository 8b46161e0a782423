"""Which operator commands a job refuses now, with the code and the sentence the user reads.

Each refusal is written once, below; each command lists the refusals it checks in the contract's
order, and the first that applies is the answer. The two that need no record are answered where
the record is looked up: unknown_job (transitions.reject_unknown_job) and job_exists (create.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NamedTuple

from syncctl.contract import JobRecord, Mode, RejectionCode, Stage, Status
from syncctl.machine import reasons
from syncctl.machine.model import DEFAULT_RULES, Rules

Rejection = tuple[RejectionCode, str]


class Refusal(NamedTuple):
    """One reason to refuse a command: its code, when it applies, and the sentence users read."""

    code: RejectionCode
    applies: Callable[[JobRecord], bool]
    reason: Callable[[JobRecord], str]


_ENDED = Refusal(
    RejectionCode.ALREADY_STOPPED, lambda job: job.status.terminal, reasons.already_stopped
)
_STOPPING = Refusal(
    RejectionCode.STOP_IN_PROGRESS, lambda job: job.status.stopping, reasons.stop_in_progress
)
_CHANGING = Refusal(
    RejectionCode.CHANGE_IN_PROGRESS, lambda job: job.status.changing, reasons.change_in_progress
)
_IN_CDC = Refusal(
    RejectionCode.WRONG_STAGE, lambda job: job.stage is Stage.CDC, reasons.terminate_in_cdc
)
_NO_CDC_STAGE = Refusal(
    RejectionCode.WRONG_STAGE,
    lambda job: job.mode is Mode.SNAPSHOT,
    reasons.complete_cdc_on_snapshot_job,
)
_BEFORE_CDC = Refusal(
    RejectionCode.WRONG_STAGE,
    lambda job: job.stage is not Stage.CDC,
    reasons.complete_cdc_in_snapshot_stage,
)
_NOT_STARTED = Refusal(
    RejectionCode.WRONG_STAGE,
    lambda job: job.status is Status.NOT_STARTED,
    reasons.pause_before_start,
)
_PAUSED = Refusal(
    RejectionCode.ALREADY_PAUSED, lambda job: job.status is Status.PAUSED, reasons.already_paused
)
_NOT_PAUSED = Refusal(
    RejectionCode.NOT_PAUSED, lambda job: job.status is not Status.PAUSED, reasons.not_paused
)
_NOTHING_SCHEDULED = Refusal(
    RejectionCode.NO_SCHEDULE, lambda job: job.scheduled is None, reasons.no_schedule
)

# What refuses every stop, pause and resume: the job has ended, or the engine has not yet
# confirmed a stop, pause or resume.
_ENDED_OR_BUSY = (_ENDED, _STOPPING, _CHANGING)
REFUSALS: dict[str, tuple[Refusal, ...]] = {
    "terminate": (*_ENDED_OR_BUSY, _IN_CDC),
    "complete_cdc": (*_ENDED_OR_BUSY, _NO_CDC_STAGE, _BEFORE_CDC),
    "pause": (*_ENDED_OR_BUSY, _PAUSED, _NOT_STARTED),
    "resume": (*_ENDED_OR_BUSY, _NOT_PAUSED),
    "cancel_schedule": (_NOTHING_SCHEDULED,),
    # A complete_cdc for later may be set during the snapshot, or while a pause or resume waits
    # for the engine: it is checked again, as a complete_cdc sent then, at its time.
    "complete_cdc (at)": (_ENDED, _STOPPING, _NO_CDC_STAGE),
}
# In the order the CLI and the console offer them: the stop that applies, then pause or resume.
_OFFERED = ("terminate", "complete_cdc", "pause", "resume", "cancel_schedule")


def refusal(record: JobRecord, command_type: str) -> Rejection | None:
    """Why the job refuses `command_type` now (a key of REFUSALS), or None if it accepts it."""
    for candidate in REFUSALS[command_type]:
        if candidate.applies(record):
            return candidate.code, candidate.reason(record)
    return None


def schedule_refusal(
    record: JobRecord, at: datetime, now: datetime, rules: Rules
) -> Rejection | None:
    """Why the job refuses a complete_cdc for `at`: the job's refusals first, then the time's."""
    if (refused := refusal(record, "complete_cdc (at)")) is not None:
        return refused
    if at <= now:
        return RejectionCode.INVALID_SCHEDULE, reasons.schedule_in_the_past(at)
    if at > now + rules.schedule_limit:
        return RejectionCode.INVALID_SCHEDULE, reasons.schedule_too_far(at, rules.schedule_limit)
    return None


def allowed_commands(record: JobRecord) -> tuple[str, ...]:
    """The operator commands `apply` would accept for this record now (CLI, console, client)."""
    return tuple(command for command in _OFFERED if refusal(record, command) is None)


def schedulable(record: JobRecord) -> bool:
    """Whether `apply` would accept a complete_cdc for a time to come now (CLI, console)."""
    soon = record.updated_at + timedelta(hours=1)
    return schedule_refusal(record, soon, record.updated_at, DEFAULT_RULES) is None
