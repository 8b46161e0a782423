"""Schedules: complete_cdc with `at`, cancel_schedule, and the scheduled complete_cdc once due."""

from __future__ import annotations

from datetime import datetime

from syncctl.contract import (
    CancelSchedule,
    CommandRejected,
    CompleteCdc,
    JobRecord,
    PendingStop,
    ScheduleChanged,
    ScheduledCommand,
    Status,
)
from syncctl.machine import reasons
from syncctl.machine.model import Outcome, Rules, Transition, replaced
from syncctl.machine.rejections import refusal, schedule_refusal
from syncctl.machine.transitions import (
    answering,
    by_the_timer,
    event_id,
    next_record,
    reject,
    reject_unknown_job,
)


def schedule(
    record: JobRecord | None, message: CompleteCdc, now: datetime, rules: Rules
) -> Transition:
    assert message.at is not None
    if record is None:
        return reject_unknown_job(message, now)
    rejection = schedule_refusal(record, message.at, now, rules)
    if rejection is not None:
        return reject(record, message, now, rules, *rejection)
    scheduled = ScheduledCommand(
        command_id=message.command_id,
        command_type="complete_cdc",
        at=message.at,
        requested_at=now,
        requested_by=message.requested_by,
    )
    updated = next_record(
        record, message, now, rules, scheduled=scheduled, last_requested_by=message.requested_by
    )
    return Transition(
        updated, (_schedule_changed(updated, message, now, message.at),), Outcome.ACCEPTED
    )


def cancel_schedule(
    record: JobRecord | None, message: CancelSchedule, now: datetime, rules: Rules
) -> Transition:
    if record is None:
        return reject_unknown_job(message, now)
    rejection = refusal(record, message.type)
    if rejection is not None:
        return reject(record, message, now, rules, *rejection)
    updated = next_record(
        record, message, now, rules, scheduled=None, last_requested_by=message.requested_by
    )
    return Transition(updated, (_schedule_changed(updated, message, now, None),), Outcome.ACCEPTED)


def apply_due_schedule(record: JobRecord, now: datetime, rules: Rules) -> Transition:
    """The scheduled complete_cdc is due: apply it as if sent now, under its own command_id."""
    scheduled = record.scheduled
    assert scheduled is not None
    rejection = refusal(record, "complete_cdc")
    if rejection is not None:
        code, reason = rejection
        updated = replaced(
            record, {"scheduled": None, "updated_at": now, "version": record.version + 1}
        )
        event = CommandRejected(
            event_id=event_id(record.job_id, scheduled.command_id, "scheduled"),
            job_id=record.job_id,
            occurred_at=now,
            command_id=scheduled.command_id,
            status=record.status,
            status_label=record.status.label,
            command_type="complete_cdc",
            code=code,
            reason=reasons.at_the_scheduled_time(reason),
        )
        return Transition(updated, (event,), Outcome.REJECTED)
    stop = PendingStop(
        command_id=scheduled.command_id,
        command_type="complete_cdc",
        requested_at=now,
        requested_by=scheduled.requested_by,
        deadline_at=now + rules.stop_deadline,
    )
    return by_the_timer(
        record,
        now,
        scheduled.command_id,
        Outcome.ACCEPTED,
        requested_by=scheduled.requested_by,
        status=Status.CDC_COMPLETING,
        stop=stop,
        scheduled=None,
        last_requested_by=scheduled.requested_by,
    )


def _schedule_changed(
    record: JobRecord, message: CompleteCdc | CancelSchedule, now: datetime, at: datetime | None
) -> ScheduleChanged:
    return ScheduleChanged(
        **answering(record, message, now),
        command_type="complete_cdc",
        at=at,
        requested_by=message.requested_by,
    )
