"""Engine reports: what each report does in each status. A report is never rejected: one that
does not apply is ignored, with a note saying why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from syncctl.contract import (
    ControlMessage,
    Draining,
    Failed,
    JobRecord,
    Paused,
    Progress,
    Resumed,
    SnapshotCompleted,
    SnapshotStarted,
    Stage,
    Stages,
    StageState,
    Status,
    Stopped,
)
from syncctl.machine.changes import confirmed_pause, confirmed_resume
from syncctl.machine.model import Outcome, Rules, Transition, replaced
from syncctl.machine.stages import current_stage_as, snapshot_done
from syncctl.machine.stops import extend_stop, finish_stop
from syncctl.machine.transitions import changed, next_record

_PAUSE_STATUSES = (Status.PAUSING, Status.PAUSED, Status.RESUMING)


def report(
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
            return changed(
                record,
                message,
                now,
                rules,
                status=Status.SNAPSHOT_RUNNING,
                stages=Stages(snapshot=StageState.RUNNING),
            )
        case SnapshotCompleted() if record.status is Status.SNAPSHOT_RUNNING:
            return changed(record, message, now, rules, **snapshot_done(record, now))
        case SnapshotCompleted() if record.status is Status.CANCELLING and record.stop:
            # The snapshot finished before the engine saw the terminate: the stop still wins,
            # and the engine's `stopped` (or the deadline) ends the job as Snapshot cancelled.
            stop = replaced(record.stop, {"snapshot_completed_meanwhile": True})
            updated = next_record(record, message, now, rules, stop=stop)
            return Transition(updated, (), Outcome.RECORDED, "snapshot completed during a stop")
        case SnapshotCompleted() if (
            record.status in _PAUSE_STATUSES and record.stage is Stage.SNAPSHOT
        ):
            # The engine finished the snapshot around the pause: it counts once the job runs
            # again, so that a paused job never ends or enters CDC behind the operator's back.
            updated = next_record(record, message, now, rules, snapshot_completed_while_paused=True)
            return Transition(updated, (), Outcome.RECORDED, "snapshot completed around a pause")
        case Stopped() if record.stop is not None:
            return finish_stop(record, message, now, rules, forced=False)
        case Draining() if record.stop is not None:
            return extend_stop(record, message, now, rules)
        case Paused() if record.status is Status.PAUSING:
            return confirmed_pause(record, message, now, rules)
        case Resumed() if record.status is Status.RESUMING:
            return confirmed_resume(record, message, now, rules)
        case Failed():
            return _failed(record, message, now, rules)
    return Transition(
        record, (), Outcome.IGNORED, f"{message.type} does not apply in {record.status}"
    )


def _progress(record: JobRecord, message: Progress, now: datetime) -> Transition:
    # Progress is not remembered by command_id: replaying it sets the same stats again.
    changes: dict[str, Any] = {"stats": record.stats.merged(message.stats), "updated_at": now}
    if record.temp_data is not None:
        changes["temp_data"] = replaced(record.temp_data, {"last_report_at": now})
    updated = replaced(record, {**changes, "version": record.version + 1})
    return Transition(updated, (), Outcome.RECORDED)


def _failed(record: JobRecord, message: Failed, now: datetime, rules: Rules) -> Transition:
    pending = record.stop or record.change
    completes = pending.command_id if pending else None
    return changed(
        record,
        message,
        now,
        rules,
        status=Status.FAILED,
        stages=current_stage_as(record, StageState.FAILED),
        reason=message.error,
        stop=None,
        change=None,
        scheduled=None,
        temp_data=None,
        completes=completes,
    )
