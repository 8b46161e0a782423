"""create: a new job, not started until its engine reports."""

from __future__ import annotations

from datetime import datetime

from syncctl.contract import Create, JobRecord, RejectionCode, Status
from syncctl.machine import reasons
from syncctl.machine.model import Outcome, Rules, Transition
from syncctl.machine.transitions import reject, status_changed


def create(record: JobRecord | None, message: Create, now: datetime, rules: Rules) -> Transition:
    if record is not None:
        return reject(
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
    return Transition(created, (status_changed(None, created, message, now),), Outcome.ACCEPTED)
