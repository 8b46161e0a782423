"""The job state machine: `apply(record, input, now) -> Transition`, pure and deterministic.

Every (status, input) pair has exactly one outcome; docs/state-table.md lists them all and
tests/unit/machine/test_state_table.py checks this module against that table row by row.

`apply` only dispatches: each kind of input has its module (create, stops, schedules, changes for
pause and resume, reports from the engine, timer, retention); rejections.py says which commands a
job refuses, transitions.py builds what every kind returns.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

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
    timer = _TIMER_INPUTS.get(type(message))
    if timer is not None:
        return timer(record, now, rules)
    assert not isinstance(message, (DeadlineReached, RetentionReached))
    if record is not None and message.command_id in record.applied_command_ids:
        return Transition(record, (), Outcome.DUPLICATE, "command_id already applied to this job")
    return _COMMANDS.get(type(message), report)(record, message, now, rules)


def _complete_cdc(
    record: JobRecord | None, message: CompleteCdc, now: datetime, rules: Rules
) -> Transition:
    if message.at is not None:
        return schedule(record, message, now, rules)
    return request_stop(record, message, now, rules)


# Who handles each kind of input, by its exact class (every message class is final): a dict
# lookup instead of a `match` whose class patterns ran an isinstance per case, up to seven for an
# engine report. Anything else is an engine report.
_TIMER_INPUTS: dict[type, Callable[[JobRecord | None, datetime, Rules], Transition]] = {
    DeadlineReached: deadline_reached,
    RetentionReached: retention_reached,
}
_COMMANDS: dict[type, Callable[[Any, Any, datetime, Rules], Transition]] = {
    Create: create,
    CompleteCdc: _complete_cdc,
    CancelSchedule: cancel_schedule,
    Terminate: request_stop,
    Pause: request_change,
    Resume: request_change,
}
