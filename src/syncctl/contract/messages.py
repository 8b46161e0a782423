"""Messages on the control topic: operators' commands and runners' reports."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, NonNegativeInt, StringConstraints

from syncctl.contract.statuses import Mode

JobId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,128}$")]
CommandId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
MAX_MESSAGE_BYTES = 64 * 1024


class Stats(BaseModel):
    """A job's latest progress, as the runner reported it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tables_total: NonNegativeInt | None = None
    tables_done: NonNegativeInt | None = None
    rows_migrated: NonNegativeInt | None = None
    events_seen: NonNegativeInt | None = None

    def merged(self, update: Stats) -> Stats:
        """These stats with every field that `update` reports replaced."""
        return self.model_copy(update=update.model_dump(exclude_none=True))


ConnectionName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
# schema.table, as PostgreSQL names them unquoted (Debezium's table.include.list takes them so).
TableName = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}\.[A-Za-z_][A-Za-z0-9_]{0,62}$")
]
DatabaseName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,63}$")]
MAX_SPEC_TABLES = 256


class JobSpec(BaseModel):
    """What a job copies: tables of a named source into a database of a named destination.

    Names, never addresses or passwords: the engine's own settings map a name to a connection
    (docs/engine-connect.md), so no secret ever travels in a Kafka message.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: ConnectionName = Field(description="A source connection configured in the engine.")
    tables: tuple[TableName, ...] = Field(
        min_length=1, max_length=MAX_SPEC_TABLES, description="schema.table names to copy."
    )
    destination: ConnectionName = Field(
        description="A destination connection configured in the engine."
    )
    database: DatabaseName = Field(description="Database to write to at the destination.")


class _ControlMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    command_id: CommandId
    job_id: JobId
    issued_at: AwareDatetime
    requested_by: Annotated[str, StringConstraints(max_length=256)] | None = None


class Create(_ControlMessage):
    type: Literal["create"] = "create"
    mode: Mode
    drop_destination: bool = False
    spec: JobSpec | None = Field(
        None, description="syncctl addition: what to copy, for engines that need it."
    )


class Terminate(_ControlMessage):
    type: Literal["terminate"] = "terminate"


class CompleteCdc(_ControlMessage):
    type: Literal["complete_cdc"] = "complete_cdc"
    at: AwareDatetime | None = Field(
        None,
        description="syncctl addition: complete CDC at this future instant instead of now "
        "(at most a year ahead); the job keeps the schedule until then.",
    )


class CancelSchedule(_ControlMessage):
    """syncctl addition: remove the job's scheduled complete_cdc."""

    type: Literal["cancel_schedule"] = "cancel_schedule"


class Pause(_ControlMessage):
    """syncctl addition: pause a running job; the engine confirms with `paused`."""

    type: Literal["pause"] = "pause"


class Resume(_ControlMessage):
    """syncctl addition: resume a paused job; the engine confirms with `resumed`."""

    type: Literal["resume"] = "resume"


class SnapshotStarted(_ControlMessage):
    type: Literal["snapshot_started"] = "snapshot_started"


class Progress(_ControlMessage):
    type: Literal["progress"] = "progress"
    stats: Stats


class SnapshotCompleted(_ControlMessage):
    type: Literal["snapshot_completed"] = "snapshot_completed"


class Stopped(_ControlMessage):
    type: Literal["stopped"] = "stopped"
    temp_data_cleaned: bool | None = None


class Draining(_ControlMessage):
    """syncctl addition: the engine's drain for a pending stop made progress since its last
    report; the worker moves the stop's deadline (up to the worker's maximum)."""

    type: Literal["draining"] = "draining"
    remaining: NonNegativeInt | None = Field(
        None, description="Changes captured and not yet in the destination, when known."
    )


class Failed(_ControlMessage):
    type: Literal["failed"] = "failed"
    error: Annotated[str, StringConstraints(max_length=8192)]


class Paused(_ControlMessage):
    """syncctl addition: the engine has paused the job (it copies nothing until resumed)."""

    type: Literal["paused"] = "paused"


class Resumed(_ControlMessage):
    """syncctl addition: the engine has resumed the job."""

    type: Literal["resumed"] = "resumed"


ControlMessage = Annotated[
    Create
    | Terminate
    | CompleteCdc
    | SnapshotStarted
    | Progress
    | SnapshotCompleted
    | Stopped
    | Draining
    | Failed
    | Pause
    | Resume
    | Paused
    | Resumed
    | CancelSchedule,
    Field(discriminator="type"),
]
OPERATOR_COMMAND_TYPES = frozenset(
    {"create", "terminate", "complete_cdc", "pause", "resume", "cancel_schedule"}
)
MESSAGE_TYPES = (
    Create,
    Terminate,
    CompleteCdc,
    SnapshotStarted,
    Progress,
    SnapshotCompleted,
    Stopped,
    Draining,
    Failed,
    Pause,
    Resume,
    Paused,
    Resumed,
    CancelSchedule,
)
