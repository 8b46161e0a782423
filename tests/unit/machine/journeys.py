"""Records in every reachable status, built by driving real inputs through `apply`."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from syncctl.contract import (
    CancelSchedule,
    CompleteCdc,
    ControlMessage,
    Create,
    Draining,
    Failed,
    JobRecord,
    Mode,
    Pause,
    Paused,
    Progress,
    Resume,
    Resumed,
    SnapshotCompleted,
    SnapshotStarted,
    Stats,
    Status,
    Stopped,
    Terminate,
)
from syncctl.machine import DeadlineReached, MachineInput, RetentionReached, apply

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SCHEDULED_AT = T0 + timedelta(minutes=30)  # due by AFTER_DEADLINE
JOB = "job-1"
_ids = itertools.count()

# The shortest path from no record to each state of the state table, per mode: a status, or for
# the statuses a job can have in either stage, the status and its stage ("PAUSED (cdc)").
PATHS: dict[str, list[str]] = {
    Status.NOT_STARTED: [],
    Status.SNAPSHOT_RUNNING: ["snapshot_started"],
    Status.CANCELLING: ["snapshot_started", "terminate"],
    Status.SNAPSHOT_CANCELLED: ["snapshot_started", "terminate", "stopped"],
    Status.COMPLETED: ["snapshot_started", "snapshot_completed"],
    Status.CDC_RUNNING: ["snapshot_started", "snapshot_completed"],
    Status.CDC_COMPLETING: ["snapshot_started", "snapshot_completed", "complete_cdc"],
    Status.CDC_COMPLETED: ["snapshot_started", "snapshot_completed", "complete_cdc", "stopped"],
    Status.FAILED: ["snapshot_started", "failed"],
    "PAUSING (snapshot)": ["snapshot_started", "pause"],
    "PAUSED (snapshot)": ["snapshot_started", "pause", "paused"],
    "RESUMING (snapshot)": ["snapshot_started", "pause", "paused", "resume"],
    "PAUSING (cdc)": ["snapshot_started", "snapshot_completed", "pause"],
    "PAUSED (cdc)": ["snapshot_started", "snapshot_completed", "pause", "paused"],
    "RESUMING (cdc)": ["snapshot_started", "snapshot_completed", "pause", "paused", "resume"],
    "SNAPSHOT_RUNNING (scheduled)": ["snapshot_started", "complete_cdc (at)"],
    "CDC_RUNNING (scheduled)": ["snapshot_started", "snapshot_completed", "complete_cdc (at)"],
}
REACHABLE: dict[str, tuple[Mode, ...]] = {
    state: (Mode.SNAPSHOT, Mode.CONTINUOUS) for state in PATHS
} | {
    Status.COMPLETED: (Mode.SNAPSHOT,),
    Status.CDC_RUNNING: (Mode.CONTINUOUS,),
    Status.CDC_COMPLETING: (Mode.CONTINUOUS,),
    Status.CDC_COMPLETED: (Mode.CONTINUOUS,),
    "PAUSING (cdc)": (Mode.CONTINUOUS,),
    "PAUSED (cdc)": (Mode.CONTINUOUS,),
    "RESUMING (cdc)": (Mode.CONTINUOUS,),
    "SNAPSHOT_RUNNING (scheduled)": (Mode.CONTINUOUS,),  # a snapshot job has no CDC to schedule
    "CDC_RUNNING (scheduled)": (Mode.CONTINUOUS,),
}


def status_of(state: str) -> Status:
    """The status of a state of the table: `PAUSED (cdc)` -> PAUSED."""
    return Status(state.split(" ")[0])


def message(kind: str, job_id: str = JOB, mode: Mode = Mode.SNAPSHOT) -> MachineInput:
    """A fresh input of `kind` (a contract type, or "deadline") with a new command_id."""
    common = {"command_id": f"cmd-{next(_ids)}", "job_id": job_id, "issued_at": T0}
    builders: dict[str, ControlMessage] = {
        "create": lambda: Create(**common, mode=mode),
        "terminate": lambda: Terminate(**common, requested_by="ops"),
        "complete_cdc": lambda: CompleteCdc(**common, requested_by="ops"),
        "snapshot_started": lambda: SnapshotStarted(**common),
        "progress": lambda: Progress(**common, stats=Stats(tables_done=3, rows_migrated=1200)),
        "snapshot_completed": lambda: SnapshotCompleted(**common),
        "stopped": lambda: Stopped(**common, temp_data_cleaned=True),
        "failed": lambda: Failed(**common, error="connection to source lost"),
        "pause": lambda: Pause(**common, requested_by="ops"),
        "resume": lambda: Resume(**common, requested_by="ops"),
        "paused": lambda: Paused(**common),
        "resumed": lambda: Resumed(**common),
        "complete_cdc (at)": lambda: CompleteCdc(**common, requested_by="ops", at=SCHEDULED_AT),
        "cancel_schedule": lambda: CancelSchedule(**common, requested_by="ops"),
        "draining": lambda: Draining(**common, remaining=1500),
    }
    if kind == "deadline":
        return DeadlineReached(job_id)
    if kind == "retention":
        return RetentionReached(job_id)
    return builders[kind]()


def record_in(state: str, mode: Mode) -> JobRecord:
    """A record in `state`; a bare status of either stage (PAUSED) means its snapshot stage."""
    record, *_ = apply(None, message("create", mode=mode), T0)
    for kind in PATHS[state if state in PATHS else f"{state} (snapshot)"]:
        record, *_ = apply(record, message(kind), T0)
    assert record is not None and record.status is status_of(state), (state, mode, record)
    return record


AFTER_DEADLINE = T0 + timedelta(hours=1)
# Past the default retention (30 days) of a job that ended at T0.
AFTER_RETENTION = T0 + timedelta(days=30, seconds=1)
# Within the default stop deadline (60 s): a drain report then moves a pending stop's deadline.
DRAINING_AT = T0 + timedelta(seconds=30)
