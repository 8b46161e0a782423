"""The job state machine: `apply(record, input, now) -> Transition`, pure and deterministic.

Every (status, input) pair has exactly one outcome; docs/state-table.md lists them all and
tests/unit/machine/test_state_table.py checks this module against that table row by row.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from syncctl.contract import (
    CancelSchedule,
    CommandRejected,
    CompleteCdc,
    ControlMessage,
    Create,
    Draining,
    Event,
    Failed,
    JobRecord,
    Mode,
    Pause,
    Paused,
    PendingChange,
    PendingStop,
    Progress,
    RejectionCode,
    Resume,
    Resumed,
    ScheduleChanged,
    ScheduledCommand,
    SnapshotCompleted,
    SnapshotStarted,
    Stage,
    Stages,
    StageState,
    Status,
    StatusChanged,
    StopExtended,
    Stopped,
    TempData,
    Terminate,
)
from syncctl.machine import reasons
from syncctl.machine.model import DeadlineReached, MachineInput, Outcome, Rules, Transition

_PAUSE_STATUSES = (Status.PAUSING, Status.PAUSED, Status.RESUMING)
_EVENT_NAMESPACE = uuid.UUID("6f1c1d1e-7d43-4a53-9a4e-2b7f3d0c5a11")
_EVENT_NAMESPACE_BYTES = _EVENT_NAMESPACE.bytes
DEFAULT_RULES = Rules()


def apply(
    record: JobRecord | None, message: MachineInput, now: datetime, rules: Rules = DEFAULT_RULES
) -> Transition:
    """Apply one input to a job's record; return the new record, its events and the outcome."""
    if isinstance(message, DeadlineReached):
        return _deadline(record, now, rules)
    if record is not None and message.command_id in record.applied_command_ids:
        return Transition(record, (), Outcome.DUPLICATE, "command_id already applied to this job")
    match message:
        case Create():
            return _create(record, message, now, rules)
        case CompleteCdc() if message.at is not None:
            return _schedule(record, message, now, rules)
        case CancelSchedule():
            return _cancel_schedule(record, message, now, rules)
        case Terminate() | CompleteCdc():
            return _stop(record, message, now, rules)
        case Pause() | Resume():
            return _change(record, message, now, rules)
        case _:
            return _report(record, message, now, rules)


# -- operator commands -------------------------------------------------------------------------
def _create(record: JobRecord | None, message: Create, now: datetime, rules: Rules) -> Transition:
    if record is not None:
        return _reject(
            record, message, now, rules, RejectionCode.JOB_EXISTS, reasons.job_exists(record)
        )
    created = JobRecord(
        job_id=message.job_id,
        mode=message.mode,
        drop_destination=message.drop_destination,
        spec=message.spec,
        status=Status.NOT_STARTED,
        created_at=now,
        created_by=message.requested_by,
        updated_at=now,
        status_changed_at=now,
        last_requested_by=message.requested_by,
        applied_command_ids=(message.command_id,),
    )
    return Transition(created, (_status_changed(None, created, message, now),), Outcome.ACCEPTED)


def _stop(
    record: JobRecord | None, message: Terminate | CompleteCdc, now: datetime, rules: Rules
) -> Transition:
    if record is None:
        return _reject_unknown(message, now)
    rejection = _stop_rejection(record, message.type)
    if rejection is not None:
        return _reject(record, message, now, rules, *rejection)
    # A stop now replaces a scheduled one.
    changes: dict[str, Any] = {"last_requested_by": message.requested_by, "scheduled": None}
    if record.status is Status.NOT_STARTED:
        # Nothing runs yet, so nothing needs to confirm: the job is cancelled at once.
        changes.update(
            status=Status.SNAPSHOT_CANCELLED, stages=Stages(snapshot=StageState.CANCELLED)
        )
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
    updated = _updated(record, message, now, rules, **changes)
    return Transition(updated, (_status_changed(record, updated, message, now),), Outcome.ACCEPTED)


STOP_COMMANDS = ("terminate", "complete_cdc")
CHANGE_COMMANDS = ("pause", "resume")


def allowed_commands(record: JobRecord) -> tuple[str, ...]:
    """The operator commands `apply` would accept for this record now (CLI, console, client):
    the stop that applies first, then pause or resume."""
    stops = [c for c in STOP_COMMANDS if _stop_rejection(record, c) is None]
    changes = [c for c in CHANGE_COMMANDS if _change_rejection(record, c) is None]
    cancel = ["cancel_schedule"] if record.scheduled is not None else []
    return (*stops, *changes, *cancel)


def schedulable(record: JobRecord) -> bool:
    """Whether `apply` would accept a complete_cdc for a time to come now (CLI, console)."""
    soon = record.updated_at + timedelta(hours=1)
    return _schedule_rejection(record, soon, record.updated_at, DEFAULT_RULES) is None


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


def _stop_rejection(record: JobRecord, command_type: str) -> tuple[RejectionCode, str] | None:
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


# -- scheduled commands ------------------------------------------------------------------------
def _schedule(
    record: JobRecord | None, message: CompleteCdc, now: datetime, rules: Rules
) -> Transition:
    assert message.at is not None
    if record is None:
        return _reject_unknown(message, now)
    rejection = _schedule_rejection(record, message.at, now, rules)
    if rejection is not None:
        return _reject(record, message, now, rules, *rejection)
    scheduled = ScheduledCommand(
        command_id=message.command_id,
        command_type="complete_cdc",
        at=message.at,
        requested_at=now,
        requested_by=message.requested_by,
    )
    updated = _updated(
        record, message, now, rules, scheduled=scheduled, last_requested_by=message.requested_by
    )
    return Transition(
        updated, (_schedule_changed(updated, message, now, message.at),), Outcome.ACCEPTED
    )


def _schedule_rejection(
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


def _cancel_schedule(
    record: JobRecord | None, message: CancelSchedule, now: datetime, rules: Rules
) -> Transition:
    if record is None:
        return _reject_unknown(message, now)
    if record.scheduled is None:
        return _reject(
            record, message, now, rules, RejectionCode.NO_SCHEDULE, reasons.no_schedule(record)
        )
    updated = _updated(
        record, message, now, rules, scheduled=None, last_requested_by=message.requested_by
    )
    return Transition(updated, (_schedule_changed(updated, message, now, None),), Outcome.ACCEPTED)


def _apply_schedule(record: JobRecord, now: datetime, rules: Rules) -> Transition:
    """The scheduled complete_cdc is due: apply it as if sent now, under its own command_id."""
    scheduled = record.scheduled
    assert scheduled is not None
    rejection = _stop_rejection(record, "complete_cdc")
    if rejection is not None:
        code, reason = rejection
        updated = record.model_copy(
            update={"scheduled": None, "updated_at": now, "version": record.version + 1}
        )
        event = CommandRejected(
            event_id=_event_id(record.job_id, scheduled.command_id, "scheduled"),
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
    return _by_the_timer(
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
        **_answering(record, message, now),
        command_type="complete_cdc",
        at=at,
        requested_by=message.requested_by,
    )


# -- pause and resume --------------------------------------------------------------------------
def _change(
    record: JobRecord | None, message: Pause | Resume, now: datetime, rules: Rules
) -> Transition:
    if record is None:
        return _reject_unknown(message, now)
    rejection = _change_rejection(record, message.type)
    if rejection is not None:
        return _reject(record, message, now, rules, *rejection)
    change = PendingChange(
        command_id=message.command_id,
        command_type=message.type,
        requested_at=now,
        requested_by=message.requested_by,
        deadline_at=now + rules.stop_deadline,
    )
    status = Status.PAUSING if isinstance(message, Pause) else Status.RESUMING
    updated = _updated(
        record,
        message,
        now,
        rules,
        status=status,
        change=change,
        last_requested_by=message.requested_by,
    )
    return Transition(updated, (_status_changed(record, updated, message, now),), Outcome.ACCEPTED)


def _change_rejection(record: JobRecord, command_type: str) -> tuple[RejectionCode, str] | None:
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


def _confirmed_pause(record: JobRecord, message: Paused, now: datetime, rules: Rules) -> Transition:
    assert record.change is not None
    return _changed(
        record,
        message,
        now,
        rules,
        status=Status.PAUSED,
        stages=_stage_set(record, StageState.PAUSED),
        change=None,
        completes=record.change.command_id,
    )


def _confirmed_resume(
    record: JobRecord, message: Resumed, now: datetime, rules: Rules
) -> Transition:
    assert record.change is not None
    return _changed(
        record,
        message,
        now,
        rules,
        completes=record.change.command_id,
        change=None,
        **_running_again(record, now),
    )


def _running_again(record: JobRecord, now: datetime) -> dict[str, Any]:
    """The status and stages of a job that runs again after a pause (resumed, or a pause that
    was never confirmed), including a snapshot the engine finished meanwhile."""
    if record.snapshot_completed_while_paused and record.stage is Stage.SNAPSHOT:
        if record.mode is Mode.SNAPSHOT:
            return {
                "status": Status.COMPLETED,
                "stages": Stages(snapshot=StageState.COMPLETED),
                "snapshot_completed_while_paused": False,
            }
        return {
            "status": Status.CDC_RUNNING,
            "stages": Stages(snapshot=StageState.COMPLETED, cdc=StageState.RUNNING),
            "temp_data": TempData(
                cdc_started_at=now, events_seen_at_cdc_start=record.stats.events_seen
            ),
            "snapshot_completed_while_paused": False,
        }
    running = Status.CDC_RUNNING if record.stage is Stage.CDC else Status.SNAPSHOT_RUNNING
    return {"status": running, "stages": _stage_set(record, StageState.RUNNING)}


def _expire_change(record: JobRecord, now: datetime) -> Transition:
    """The engine did not confirm a pause or resume in time: the job stays as it was."""
    change = record.change
    assert change is not None
    seconds = (change.deadline_at - change.requested_at).total_seconds()
    if record.status is Status.PAUSING:
        fields = {**_running_again(record, now), "reason": reasons.pause_not_confirmed(seconds)}
    else:
        fields = {"status": Status.PAUSED, "reason": reasons.resume_not_confirmed(seconds)}
    return _by_the_timer(record, now, change.command_id, Outcome.CHANGED, change=None, **fields)


def _stage_set(record: JobRecord, state: StageState) -> Stages:
    return record.stages.model_copy(update={record.stage.value: state})


# -- runner reports ----------------------------------------------------------------------------
def _report(
    record: JobRecord | None, message: ControlMessage, now: datetime, rules: Rules
) -> Transition:
    if record is None:
        return Transition(None, (), Outcome.IGNORED, "report for a job that does not exist")
    if record.status.terminal:
        return Transition(
            record, (), Outcome.IGNORED, f"report for a job that has ended ({record.status})"
        )
    match message:
        case Progress():
            return _progress(record, message, now)
        case SnapshotStarted() if record.status is Status.NOT_STARTED:
            return _changed(
                record,
                message,
                now,
                rules,
                status=Status.SNAPSHOT_RUNNING,
                stages=Stages(snapshot=StageState.RUNNING),
            )
        case SnapshotCompleted() if record.status is Status.SNAPSHOT_RUNNING:
            return _snapshot_completed(record, message, now, rules)
        case SnapshotCompleted() if record.status is Status.CANCELLING and record.stop:
            # The snapshot finished before the engine saw the terminate: the stop still wins,
            # and the engine's `stopped` (or the deadline) ends the job as Snapshot cancelled.
            stop = record.stop.model_copy(update={"snapshot_completed_meanwhile": True})
            updated = _updated(record, message, now, rules, stop=stop)
            return Transition(updated, (), Outcome.RECORDED, "snapshot completed during a stop")
        case SnapshotCompleted() if (
            record.status in _PAUSE_STATUSES and record.stage is Stage.SNAPSHOT
        ):
            # The engine finished the snapshot around the pause: it counts once the job runs
            # again, so that a paused job never ends or enters CDC behind the operator's back.
            updated = _updated(record, message, now, rules, snapshot_completed_while_paused=True)
            return Transition(updated, (), Outcome.RECORDED, "snapshot completed around a pause")
        case Stopped() if record.stop is not None:
            return _finish_stop(record, message, now, rules, forced=False)
        case Draining() if record.stop is not None:
            return _extend_stop(record, message, now, rules)
        case Paused() if record.status is Status.PAUSING:
            return _confirmed_pause(record, message, now, rules)
        case Resumed() if record.status is Status.RESUMING:
            return _confirmed_resume(record, message, now, rules)
        case Failed():
            return _failed(record, message, now, rules)
    return Transition(
        record, (), Outcome.IGNORED, f"{message.type} does not apply in {record.status}"
    )


def _progress(record: JobRecord, message: Progress, now: datetime) -> Transition:
    # Progress is not remembered by command_id: replaying it sets the same stats again.
    changes: dict[str, Any] = {"stats": record.stats.merged(message.stats), "updated_at": now}
    if record.temp_data is not None:
        changes["temp_data"] = record.temp_data.model_copy(update={"last_report_at": now})
    updated = record.model_copy(update={**changes, "version": record.version + 1})
    return Transition(updated, (), Outcome.RECORDED)


def _snapshot_completed(
    record: JobRecord, message: SnapshotCompleted, now: datetime, rules: Rules
) -> Transition:
    if record.mode is Mode.SNAPSHOT:
        return _changed(
            record,
            message,
            now,
            rules,
            status=Status.COMPLETED,
            stages=Stages(snapshot=StageState.COMPLETED),
        )
    return _changed(
        record,
        message,
        now,
        rules,
        status=Status.CDC_RUNNING,
        stages=Stages(snapshot=StageState.COMPLETED, cdc=StageState.RUNNING),
        temp_data=TempData(cdc_started_at=now, events_seen_at_cdc_start=record.stats.events_seen),
    )


def _failed(record: JobRecord, message: Failed, now: datetime, rules: Rules) -> Transition:
    stages = record.stages.model_copy(update={record.stage.value: StageState.FAILED})
    pending = record.stop or record.change
    completes = pending.command_id if pending else None
    return _changed(
        record,
        message,
        now,
        rules,
        status=Status.FAILED,
        stages=stages,
        reason=message.error,
        stop=None,
        change=None,
        scheduled=None,
        temp_data=None,
        completes=completes,
    )


# -- stops -------------------------------------------------------------------------------------
def _deadline(record: JobRecord | None, now: datetime, rules: Rules) -> Transition:
    if record is None or record.deadline_at is None or now < record.deadline_at:
        return Transition(record, (), Outcome.NOT_DUE)
    if record.stop is not None and now >= record.stop.deadline_at:
        return _finish_stop(record, None, now, rules, forced=True)
    if record.change is not None and now >= record.change.deadline_at:
        return _expire_change(record, now)
    return _apply_schedule(record, now, rules)


def _finish_stop(
    record: JobRecord, message: Stopped | None, now: datetime, rules: Rules, *, forced: bool
) -> Transition:
    stop = record.stop
    assert stop is not None
    if record.status is Status.CANCELLING:
        changes: dict[str, Any] = {
            "status": Status.SNAPSHOT_CANCELLED,
            "stages": record.stages.model_copy(update={"snapshot": StageState.CANCELLED}),
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
        return _changed(record, message, now, rules, completes=stop.command_id, **fields)
    return _by_the_timer(record, now, stop.command_id, Outcome.CHANGED, **fields)


def _extend_stop(record: JobRecord, message: Draining, now: datetime, rules: Rules) -> Transition:
    """A drain that made progress gets the stop deadline again from now, up to the maximum after
    the request; a stalled drain sends no report, so its deadline stays."""
    stop = record.stop
    assert stop is not None
    deadline = min(now + rules.stop_deadline, stop.requested_at + rules.stop_deadline_max)
    if deadline <= stop.deadline_at:
        return Transition(record, (), Outcome.IGNORED, "the stop's deadline cannot move further")
    updated = record.model_copy(
        update={
            "stop": stop.model_copy(update={"deadline_at": deadline}),
            "updated_at": now,
            "version": record.version + 1,
        }
    )
    event = StopExtended(
        **_answering(record, message, now),
        stop_command_id=stop.command_id,
        deadline_at=deadline,
        remaining=message.remaining,
    )
    return Transition(updated, (event,), Outcome.RECORDED)


# -- building blocks ---------------------------------------------------------------------------
def _by_the_timer(
    record: JobRecord,
    now: datetime,
    command_id: str,
    outcome: Outcome,
    requested_by: str | None = None,
    **changes: Any,
) -> Transition:
    """A status change the timer makes for `command_id`: a deadline that forces a stop or undoes
    an unconfirmed pause or resume (the event is `forced` and completes the command), or a
    scheduled command that applies now (its own event, by whoever scheduled it)."""
    updated = record.model_copy(
        update={
            **changes,
            "updated_at": now,
            "status_changed_at": now,
            "version": record.version + 1,
        }
    )
    scheduled = outcome is Outcome.ACCEPTED
    event = _status_changed(
        record,
        updated,
        None,
        now,
        command_id=command_id,
        forced=not scheduled,
        completes=None if scheduled else command_id,
        kind="scheduled" if scheduled else "deadline",
        requested_by=requested_by,
    )
    return Transition(updated, (event,), outcome)


def _updated(
    record: JobRecord, message: ControlMessage, now: datetime, rules: Rules, **changes: Any
) -> JobRecord:
    history = (*record.applied_command_ids, message.command_id)[-rules.history_limit :]
    if changes.get("status", record.status) is not record.status:
        changes["status_changed_at"] = now
    return record.model_copy(
        update={
            **changes,
            "updated_at": now,
            "applied_command_ids": history,
            "version": record.version + 1,
        }
    )


def _changed(
    record: JobRecord,
    message: ControlMessage,
    now: datetime,
    rules: Rules,
    completes: str | None = None,
    **changes: Any,
) -> Transition:
    updated = _updated(record, message, now, rules, **changes)
    event = _status_changed(record, updated, message, now, completes=completes)
    return Transition(updated, (event,), Outcome.CHANGED)


def _reject(
    record: JobRecord,
    message: ControlMessage,
    now: datetime,
    rules: Rules,
    code: RejectionCode,
    reason: str,
) -> Transition:
    # Remembering the rejected command_id keeps a redelivered copy from being answered twice.
    updated = _updated(record, message, now, rules)
    event = CommandRejected(
        **_answering(record, message, now),
        command_type=message.type,
        code=code,
        reason=reason,
    )
    return Transition(updated, (event,), Outcome.REJECTED)


def _answering(record: JobRecord, message: ControlMessage, now: datetime) -> dict[str, Any]:
    """The fields every event that answers `message` without a status change starts with."""
    return {
        "event_id": _event_id(record.job_id, message.command_id, message.type),
        "job_id": record.job_id,
        "occurred_at": now,
        "command_id": message.command_id,
        "status": record.status,
        "status_label": record.status.label,
    }


def _reject_unknown(message: ControlMessage, now: datetime) -> Transition:
    event = CommandRejected(
        event_id=_event_id(message.job_id, message.command_id, message.type),
        job_id=message.job_id,
        occurred_at=now,
        command_id=message.command_id,
        status=None,
        status_label=None,
        command_type=message.type,
        code=RejectionCode.UNKNOWN_JOB,
        reason=reasons.unknown_job(message.job_id),
    )
    return Transition(None, (event,), Outcome.REJECTED)


def _status_changed(
    previous: JobRecord | None,
    record: JobRecord,
    message: ControlMessage | None,
    now: datetime,
    *,
    command_id: str | None = None,
    forced: bool = False,
    completes: str | None = None,
    kind: str | None = None,
    requested_by: str | None = None,
) -> Event:
    command_id = command_id or (message.command_id if message else None)
    return StatusChanged(
        event_id=_event_id(record.job_id, command_id, kind or (message.type if message else "")),
        job_id=record.job_id,
        occurred_at=now,
        command_id=command_id,
        status=record.status,
        status_label=record.status.label,
        previous_status=previous.status if previous else None,
        stage=record.stage,
        stages=record.stages,
        forced=forced,
        stats=record.stats,
        reason=record.reason,
        completes_command_id=completes,
        requested_by=message.requested_by if message else requested_by,
        mode=record.mode,
        # An engine learns what to copy from the event that creates the job.
        drop_destination=record.drop_destination if previous is None else None,
        spec=record.spec if previous is None else None,
    )


def _event_id(job_id: str, command_id: str | None, kind: str) -> str:
    """The UUIDv5 of (job, command, kind): `str(uuid.uuid5(...))`, computed without the UUID class.

    Derived, not random: replaying the same input yields the same event, byte for byte. Written
    out because `uuid.uuid5` and `UUID.__str__` cost a tenth of the worker's time per command.
    """
    name = f"{job_id}\x00{command_id}\x00{kind}".encode()
    digest = bytearray(hashlib.sha1(_EVENT_NAMESPACE_BYTES + name).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    hex_ = digest.hex()
    return f"{hex_[:8]}-{hex_[8:12]}-{hex_[12:16]}-{hex_[16:20]}-{hex_[20:]}"
