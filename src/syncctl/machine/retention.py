"""The timer's other input, `RetentionReached`: an ended job's record goes once the retention
period has passed since it ended, and a `job_expired` event says so. The job id is then unknown,
as if never used: its history stays on the events topic."""

from __future__ import annotations

from datetime import datetime

from syncctl.contract import JobExpired, JobRecord
from syncctl.machine.model import Outcome, Rules, Transition
from syncctl.machine.transitions import event_id


def retention_reached(record: JobRecord | None, now: datetime, rules: Rules) -> Transition:
    ended_at = record.ended_at if record is not None else None
    if record is None or ended_at is None or rules.retention is None:
        return Transition(record, (), Outcome.NOT_DUE)
    if now < ended_at + rules.retention:
        return Transition(record, (), Outcome.NOT_DUE)
    event = JobExpired(
        # Per ending, not per job id: an id used again after it expired ends with another time.
        event_id=event_id(record.job_id, None, f"job_expired:{ended_at.isoformat()}"),
        job_id=record.job_id,
        occurred_at=now,
        status=record.status,
        status_label=record.status.label,
        ended_at=ended_at,
        retention_seconds=rules.retention.total_seconds(),
    )
    return Transition(None, (event,), Outcome.EXPIRED)
