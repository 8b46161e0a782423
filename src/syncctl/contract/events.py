"""Events on the events topic: status changes, rejections, schedules and stop extensions (key =
job id)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from syncctl.contract.messages import JobSpec, Stats
from syncctl.contract.records import Stages
from syncctl.contract.statuses import Mode, RejectionCode, Stage, Status


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str
    job_id: str
    occurred_at: AwareDatetime
    command_id: str | None = None
    status: Status | None = Field(
        description="The job's status after the event; null only when the job does not exist."
    )
    status_label: str | None


class StatusChanged(_Event):
    type: Literal["status_changed"] = "status_changed"
    status: Status
    status_label: str
    previous_status: Status | None = Field(description="null when the event creates the job.")
    stage: Stage
    stages: Stages
    forced: bool = False
    stats: Stats
    reason: str | None = None
    completes_command_id: str | None = Field(
        None,
        description="syncctl addition: on the event that ends a stop, the command_id of that "
        "terminate or complete_cdc (also when a runner report caused it).",
    )
    requested_by: str | None = Field(None, description="syncctl addition: who sent the cause.")
    mode: Mode | None = Field(None, description="syncctl addition: the job's mode.")
    drop_destination: bool | None = Field(
        None,
        description="syncctl addition, on the event that creates the job: "
        "whether to drop the destination first.",
    )
    spec: JobSpec | None = Field(
        None, description="syncctl addition, on the event that creates the job: what it copies."
    )


class CommandRejected(_Event):
    type: Literal["command_rejected"] = "command_rejected"
    command_type: str
    code: RejectionCode
    reason: str


class ScheduleChanged(_Event):
    """syncctl addition: a complete_cdc was scheduled for `at`, or (`at` null) the schedule was
    removed by cancel_schedule. The status does not change."""

    type: Literal["schedule_changed"] = "schedule_changed"
    command_type: str
    at: AwareDatetime | None = Field(description="When the scheduled command applies; null: none.")
    requested_by: str | None = None


class StopExtended(_Event):
    """syncctl addition: the engine's drain for a pending stop is making progress, so the stop's
    deadline moved to `deadline_at`. The status does not change; `command_id` is the engine's
    `draining` report."""

    type: Literal["stop_extended"] = "stop_extended"
    stop_command_id: str = Field(description="The terminate or complete_cdc being carried out.")
    deadline_at: AwareDatetime = Field(description="When the stop is now forced at the latest.")
    remaining: int | None = Field(
        None, description="Changes captured and not yet in the destination, when known."
    )


class JobExpired(_Event):
    """syncctl addition: an ended job's record was removed from the state store, its retention
    period (`worker.ended_job_retention`) after it ended. `status` is the status it ended in.
    Its history stays on this topic; from now on its job id is unknown to the worker (a
    `create` with it starts a new job)."""

    type: Literal["job_expired"] = "job_expired"
    status: Status
    status_label: str
    ended_at: AwareDatetime = Field(description="When the job reached its final status.")
    retention_seconds: float = Field(description="The retention period that expired.")


Event = Annotated[
    StatusChanged | CommandRejected | ScheduleChanged | StopExtended | JobExpired,
    Field(discriminator="type"),
]
