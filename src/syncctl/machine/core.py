"""The job state machine: `apply(record, input, now) -> Transition`, pure and deterministic.

Every (status, input) pair has exactly one outcome; docs/state-table.md lists them all and
tests/unit/machine/test_state_table.py checks this module against that table row by row.

`apply` only dispatches: each kind of input has its module (create, stops, schedules, changes for
pause and resume, reports from the engine, timer, retention); rejections.py says which commands a
job refuses, transitions.py builds what every kind returns.
"""

from __future__ import annotations

from datetime import datetime

from syncctl.contract import (
    CancelSchedule,
    CompleteCdc,
    Create,
    JobRecord,
    Pause,
    Resume,
    Terminate,
)
from syncctl.machine.changes import request_change
from syncctl.machine.create import create
from syncctl.machine.model import (
    DEFAULT_RULES,
    DeadlineReached,
    MachineInput,
    Outcome,
    RetentionReached,
    Rules,
    Transition,
)
from syncctl.machine.reports import report
from syncctl.machine.retention import retention_reached
from syncctl.machine.schedules import cancel_schedule, schedule
from syncctl.machine.stops import request_stop
from syncctl.machine.timer import deadline_reached

# Importable from here, where they were defined first (tests/unit/machine/test_event_ids.py).
from syncctl.machine.transitions import EVENT_NAMESPACE as _EVENT_NAMESPACE  # noqa: F401
from syncctl.machine.transitions import event_id as _event_id  # noqa: F401


def apply(
    record: JobRecord | None, message: MachineInput, now: datetime, rules: Rules = DEFAULT_RULES
) -> Transition:
    """Apply one input to a job's record; return the new record, its events and the outcome."""
    if isinstance(message, DeadlineReached):
        return deadline_reached(record, now, rules)
    if isinstance(message, RetentionReached):
        return retention_reached(record, now, rules)
    if record is not None and message.command_id in record.applied_command_ids:
        return Transition(record, (), Outcome.DUPLICATE, "command_id already applied to this job")
    match message:
        case Create():
            return create(record, message, now, rules)
        case CompleteCdc() if message.at is not None:
            return schedule(record, message, now, rules)
        case CancelSchedule():
            return cancel_schedule(record, message, now, rules)
        case Terminate() | CompleteCdc():
            return request_stop(record, message, now, rules)
        case Pause() | Resume():
            return request_change(record, message, now, rules)
        case _:
            return report(record, message, now, rules)
