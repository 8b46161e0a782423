"""The wire contract: every message, record and event syncctl reads or writes (pydantic v2)."""

from syncctl.contract.events import CommandRejected, Event, StatusChanged
from syncctl.contract.messages import (
    MAX_MESSAGE_BYTES,
    CompleteCdc,
    ControlMessage,
    Create,
    Failed,
    JobSpec,
    Progress,
    SnapshotCompleted,
    SnapshotStarted,
    Stats,
    Stopped,
    Terminate,
)
from syncctl.contract.parsing import Invalid, parse_control_message
from syncctl.contract.records import JobRecord, PendingStop, Stages, TempData
from syncctl.contract.statuses import (
    InvalidCode,
    Mode,
    RejectionCode,
    Stage,
    StageState,
    Status,
)

__all__ = [
    "MAX_MESSAGE_BYTES",
    "CommandRejected",
    "CompleteCdc",
    "ControlMessage",
    "Create",
    "Event",
    "Failed",
    "Invalid",
    "InvalidCode",
    "JobRecord",
    "JobSpec",
    "Mode",
    "PendingStop",
    "Progress",
    "RejectionCode",
    "SnapshotCompleted",
    "SnapshotStarted",
    "Stage",
    "StageState",
    "Stages",
    "Stats",
    "Status",
    "StatusChanged",
    "Stopped",
    "TempData",
    "Terminate",
    "parse_control_message",
]
