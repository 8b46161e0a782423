"""Stops: terminate and complete_cdc (sent for now), and how a pending stop ends: the engine's
`stopped`, or the deadline, which its `draining` reports move while the drain makes progress."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from syncctl.contract import (
    CompleteCdc,
    Draining,
    JobRecord,
    PendingStop,
    Stages,
    StageState,
    Status,
    StopExtended,
    Stopped,
    Terminate,
)
from syncctl.machine import reasons
from syncctl.machine.model import Outcome, Rules, Transition, replaced
from syncctl.machine.rejections import refusal
from syncctl.machine.transitions import (
    answering,
    by_the_timer,
    changed,
    next_record,
    reject,
    reject_unknown_job,
    status_changed,
)

# Frozen, so shared by every job cancelled before it started (validated once, not per command).
_CANCELLED_BEFORE_START = Stages(snapshot=StageState.CANCELLED)


def request_stop(
    record: JobRecord | None, message: Terminate | CompleteCdc, now: datetime, rules: Rules
) -> Transition:
    if record is None:
        return reject_unknown_job(message, now)
    rejection = refusal(record, message.type)
    if rejection is not None:
        return reject(record, message, now, rules, *rejection)
    # A stop now replaces a scheduled one.
    changes: dict[str, Any] = {"last_requested_by": message.requested_by, "scheduled": None}
    if record.status is Status.NOT_STARTED:
        # Nothing runs yet, so nothing needs to confirm: the job is cancelled at once.
        changes.update(status=Status.SNAPSHOT_CANCELLED, stages=_CANCELLED_BEFORE_START)
    else:
        changes.update(
            status=Status.CANCELLING if isinstance(message, Terminate) else Status.CDC_COMPLETING,
            stop=PendingStop(
                command_id=message.command_id,
                command_type=message.type,
                requested_at=now,
                requested_by=message.requested_by,
                deadline_at=now + rules.stop_deadline,
                snapshot_completed_meanwhile=record.snapshot_completed_while_paused,
            ),
        )
    updated = next_record(record, message, now, rules, **changes)
    return Transition(updated, (status_changed(record, updated, message, now),), Outcome.ACCEPTED)


def finish_stop(
    record: JobRecord, message: Stopped | None, now: datetime, rules: Rules, *, forced: bool
) -> Transition:
    """The engine confirmed the stop (`message`), or its deadline passed (`forced`)."""
    stop = record.stop
    assert stop is not None
    if record.status is Status.CANCELLING:
        changes: dict[str, Any] = {
            "status": Status.SNAPSHOT_CANCELLED,
            "stages": replaced(record.stages, {"snapshot": StageState.CANCELLED}),
        }
    else:
        changes = {
            "status": Status.CDC_COMPLETED,
            "stages": Stages(snapshot=StageState.COMPLETED, cdc=StageState.COMPLETED),
            "temp_data": None,
            "engine_temp_data_cleaned": message.temp_data_cleaned if message else None,
        }
    if forced:
        reason: str | None = reasons.forced_stop(record)
    elif stop.snapshot_completed_meanwhile:
        reason = reasons.snapshot_finished_during_stop()
    else:
        reason = None
    fields = {**changes, "stop": None, "reason": reason}
    if message is not None:
        return changed(record, message, now, rules, completes=stop.command_id, **fields)
    return by_the_timer(record, now, stop.command_id, Outcome.CHANGED, **fields)


def extend_stop(record: JobRecord, message: Draining, now: datetime, rules: Rules) -> Transition:
    """A drain that made progress gets the stop deadline again from now, up to the maximum after
    the request; a stalled drain sends no report, so its deadline stays."""
    stop = record.stop
    assert stop is not None
    deadline = min(now + rules.stop_deadline, stop.requested_at + rules.stop_deadline_max)
    if deadline <= stop.deadline_at:
        return Transition(record, (), Outcome.IGNORED, "the stop's deadline cannot move further")
    updated = replaced(
        record,
        {
            "stop": replaced(stop, {"deadline_at": deadline}),
            "updated_at": now,
            "version": record.version + 1,
        },
    )
    event = StopExtended(
        **answering(record, message, now),
        stop_command_id=stop.command_id,
        deadline_at=deadline,
        remaining=message.remaining,
    )
    return Transition(updated, (event,), Outcome.RECORDED)
