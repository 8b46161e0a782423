"""Pause and resume: the operator's request, the engine's `paused` or `resumed` confirming it,
and the deadline undoing a request the engine never confirmed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from syncctl.contract import (
    JobRecord,
    Pause,
    Paused,
    PendingChange,
    Resume,
    Resumed,
    Stage,
    StageState,
    Status,
)
from syncctl.machine import reasons
from syncctl.machine.model import Outcome, Rules, Transition
from syncctl.machine.rejections import refusal
from syncctl.machine.stages import current_stage_as, snapshot_done
from syncctl.machine.transitions import (
    by_the_timer,
    changed,
    next_record,
    reject,
    reject_unknown_job,
    status_changed,
)


def request_change(
    record: JobRecord | None, message: Pause | Resume, now: datetime, rules: Rules
) -> Transition:
    if record is None:
        return reject_unknown_job(message, now)
    rejection = refusal(record, message.type)
    if rejection is not None:
        return reject(record, message, now, rules, *rejection)
    change = PendingChange(
        command_id=message.command_id,
        command_type=message.type,
        requested_at=now,
        requested_by=message.requested_by,
        deadline_at=now + rules.stop_deadline,
    )
    status = Status.PAUSING if isinstance(message, Pause) else Status.RESUMING
    updated = next_record(
        record,
        message,
        now,
        rules,
        status=status,
        change=change,
        last_requested_by=message.requested_by,
    )
    return Transition(updated, (status_changed(record, updated, message, now),), Outcome.ACCEPTED)


def confirmed_pause(record: JobRecord, message: Paused, now: datetime, rules: Rules) -> Transition:
    assert record.change is not None
    return changed(
        record,
        message,
        now,
        rules,
        status=Status.PAUSED,
        stages=current_stage_as(record, StageState.PAUSED),
        change=None,
        completes=record.change.command_id,
    )


def confirmed_resume(
    record: JobRecord, message: Resumed, now: datetime, rules: Rules
) -> Transition:
    assert record.change is not None
    return changed(
        record,
        message,
        now,
        rules,
        completes=record.change.command_id,
        change=None,
        **_running_again(record, now),
    )


def expire_change(record: JobRecord, now: datetime) -> Transition:
    """The engine did not confirm a pause or resume in time: the job stays as it was."""
    change = record.change
    assert change is not None
    seconds = (change.deadline_at - change.requested_at).total_seconds()
    fields: dict[str, Any] = (
        _running_again(record, now)
        if record.status is Status.PAUSING
        else {"status": Status.PAUSED}
    )
    reason = reasons.change_not_confirmed(record, seconds)
    return by_the_timer(
        record, now, change.command_id, Outcome.CHANGED, change=None, reason=reason, **fields
    )


def _running_again(record: JobRecord, now: datetime) -> dict[str, Any]:
    """The status and stages of a job that runs again after a pause (resumed, or a pause that
    was never confirmed), including a snapshot the engine finished meanwhile."""
    if record.snapshot_completed_while_paused and record.stage is Stage.SNAPSHOT:
        return {**snapshot_done(record, now), "snapshot_completed_while_paused": False}
    running = Status.CDC_RUNNING if record.stage is Stage.CDC else Status.SNAPSHOT_RUNNING
    return {"status": running, "stages": current_stage_as(record, StageState.RUNNING)}
