"""Job statuses, their exact labels and stages, as fixed by the wire contract."""

from __future__ import annotations

import operator
from enum import StrEnum
from typing import NamedTuple


class WireEnum(StrEnum):
    """A StrEnum whose `.value` is a plain attribute read.

    Python's own `Enum.value` is an `enum.property` that runs two Python functions (about 200 ns
    a read); pydantic reads `.value` of every enum field it serializes, seven times per command
    in the worker. A C-level getter of the same `_value_` costs a third of that.
    """

    value = property(operator.attrgetter("_value_"))  # type: ignore[assignment]


class Mode(WireEnum):
    SNAPSHOT = "snapshot"
    CONTINUOUS = "continuous"


class Stage(WireEnum):
    SNAPSHOT = "snapshot"
    CDC = "cdc"


class StageState(WireEnum):
    NOT_STARTED = "NOT_STARTED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    CANCELLED = "CANCELLED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class Status(WireEnum):
    NOT_STARTED = "NOT_STARTED"
    SNAPSHOT_RUNNING = "SNAPSHOT_RUNNING"
    CANCELLING = "CANCELLING"
    SNAPSHOT_CANCELLED = "SNAPSHOT_CANCELLED"
    COMPLETED = "COMPLETED"
    CDC_RUNNING = "CDC_RUNNING"
    CDC_COMPLETING = "CDC_COMPLETING"
    CDC_COMPLETED = "CDC_COMPLETED"
    FAILED = "FAILED"
    PAUSING = "PAUSING"
    PAUSED = "PAUSED"
    RESUMING = "RESUMING"

    # Plain attributes of each member, set below: the state machine and the store read them
    # several times per command, and a property (a Python call, then a lookup) cost more.
    label: str
    terminal: bool
    # A stop was requested and the engine has not confirmed it yet.
    stopping: bool
    # A pause or resume was requested and the engine has not confirmed it yet.
    changing: bool


class _StatusInfo(NamedTuple):
    label: str
    terminal: bool


_INFO = {
    Status.NOT_STARTED: _StatusInfo("Not started", False),
    Status.SNAPSHOT_RUNNING: _StatusInfo("Snapshot running", False),
    Status.CANCELLING: _StatusInfo("Cancelling", False),
    Status.SNAPSHOT_CANCELLED: _StatusInfo("Snapshot cancelled", True),
    Status.COMPLETED: _StatusInfo("Completed", True),
    Status.CDC_RUNNING: _StatusInfo("CDC running", False),
    Status.CDC_COMPLETING: _StatusInfo("Completing CDC", False),
    Status.CDC_COMPLETED: _StatusInfo("CDC Completed", True),
    Status.FAILED: _StatusInfo("Failed", True),
    Status.PAUSING: _StatusInfo("Pausing", False),
    Status.PAUSED: _StatusInfo("Paused", False),
    Status.RESUMING: _StatusInfo("Resuming", False),
}
for _status, _info in _INFO.items():
    _status.label, _status.terminal = _info
    _status.stopping = _status in (Status.CANCELLING, Status.CDC_COMPLETING)
    _status.changing = _status in (Status.PAUSING, Status.RESUMING)


class RejectionCode(WireEnum):
    """Why an operator command was not applied; where several apply, the first listed wins."""

    UNKNOWN_JOB = "unknown_job"
    JOB_EXISTS = "job_exists"
    ALREADY_STOPPED = "already_stopped"
    STOP_IN_PROGRESS = "stop_in_progress"
    WRONG_STAGE = "wrong_stage"
    CHANGE_IN_PROGRESS = "change_in_progress"
    ALREADY_PAUSED = "already_paused"
    NOT_PAUSED = "not_paused"
    INVALID_SCHEDULE = "invalid_schedule"
    NO_SCHEDULE = "no_schedule"


class InvalidCode(WireEnum):
    """Why a control message went to the dead-letter topic (header `syncctl.error.code`)."""

    TOO_LARGE = "too_large"
    MISSING_KEY = "missing_key"
    MISSING_VALUE = "missing_value"
    NOT_UTF8 = "not_utf8"
    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    UNKNOWN_TYPE = "unknown_type"
    MISSING_FIELD = "missing_field"
    INVALID_FIELD = "invalid_field"
    UNKNOWN_FIELD = "unknown_field"
    KEY_MISMATCH = "key_mismatch"
    BAD_SIGNATURE = "bad_signature"
