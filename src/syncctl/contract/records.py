"""The job record: what the state topic holds for each job (key = job id)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from syncctl.contract.messages import CommandId, JobId, JobSpec, Stats
from syncctl.contract.statuses import Mode, Stage, StageState, Status


class Stages(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    snapshot: StageState = StageState.NOT_STARTED
    cdc: StageState = StageState.NOT_STARTED


class PendingStop(BaseModel):
    """A stop the engine has been asked for and has not yet confirmed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command_id: CommandId
    command_type: Literal["terminate", "complete_cdc"]
    requested_at: AwareDatetime
    requested_by: str | None = None
    deadline_at: AwareDatetime
    snapshot_completed_meanwhile: bool = False


class PendingChange(BaseModel):
    """syncctl addition: a pause or resume the engine has been asked for and has not confirmed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command_id: CommandId
    command_type: Literal["pause", "resume"]
    requested_at: AwareDatetime
    requested_by: str | None = None
    deadline_at: AwareDatetime


class ScheduledCommand(BaseModel):
    """syncctl addition: an operator command to apply at `at` (today only complete_cdc)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command_id: CommandId
    command_type: Literal["complete_cdc"]
    at: AwareDatetime
    requested_at: AwareDatetime
    requested_by: str | None = None


class TempData(BaseModel):
    """Working data syncctl keeps while a job's CDC stage runs; removed on CDC Completed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cdc_started_at: AwareDatetime
    events_seen_at_cdc_start: int | None = None
    last_report_at: AwareDatetime | None = None


class JobRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    job_id: JobId
    mode: Mode
    drop_destination: bool = False
    spec: JobSpec | None = None
    status: Status
    stages: Stages = Stages()
    stats: Stats = Stats()
    reason: str | None = None
    created_at: AwareDatetime
    created_by: str | None = None
    updated_at: AwareDatetime
    status_changed_at: AwareDatetime | None = None
    last_requested_by: str | None = None
    stop: PendingStop | None = None
    change: PendingChange | None = None
    scheduled: ScheduledCommand | None = None
    snapshot_completed_while_paused: bool = False
    temp_data: TempData | None = None
    engine_temp_data_cleaned: bool | None = None
    applied_command_ids: tuple[CommandId, ...] = ()
    version: int = 1

    @property
    def deadline_at(self) -> AwareDatetime | None:
        """The next time the timer has something to do: the engine's confirmation of a pending
        stop, pause or resume is due, or a scheduled command applies."""
        times = [pending.deadline_at for pending in (self.stop, self.change) if pending is not None]
        if self.scheduled is not None:
            times.append(self.scheduled.at)
        return min(times) if times else None

    @property
    def stage(self) -> Stage:
        """The stage the job is in, or ended in."""
        return Stage.CDC if self.stages.cdc != StageState.NOT_STARTED else Stage.SNAPSHOT
