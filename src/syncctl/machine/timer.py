"""The timer's input, `DeadlineReached`: whichever of the job's deadlines is due acts, a pending
stop's first, then a pending pause's or resume's, then a scheduled command's."""

from __future__ import annotations

from datetime import datetime

from syncctl.contract import JobRecord
from syncctl.machine.changes import expire_change
from syncctl.machine.model import Outcome, Rules, Transition
from syncctl.machine.schedules import apply_due_schedule
from syncctl.machine.stops import finish_stop


def deadline_reached(record: JobRecord | None, now: datetime, rules: Rules) -> Transition:
    if record is None or record.deadline_at is None or now < record.deadline_at:
        return Transition(record, (), Outcome.NOT_DUE)
    if record.stop is not None and now >= record.stop.deadline_at:
        return finish_stop(record, None, now, rules, forced=True)
    if record.change is not None and now >= record.change.deadline_at:
        return expire_change(record, now)
    return apply_due_schedule(record, now, rules)
