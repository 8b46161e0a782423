"""The job record: what the state topic holds for each job (key = job id)."""

from __future__ import annotations

from operator import itemgetter
from typing import ClassVar, Literal

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

    @property
    def due_at(self) -> AwareDatetime:
        """When the timer ends the stop if the engine has not confirmed it."""
        return self.deadline_at


class PendingChange(BaseModel):
    """syncctl addition: a pause or resume the engine has been asked for and has not confirmed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command_id: CommandId
    command_type: Literal["pause", "resume"]
    requested_at: AwareDatetime
    requested_by: str | None = None
    deadline_at: AwareDatetime

    @property
    def due_at(self) -> AwareDatetime:
        """When the timer undoes the pause or resume if the engine has not confirmed it."""
        return self.deadline_at


class ScheduledCommand(BaseModel):
    """syncctl addition: an operator command to apply at `at` (today only complete_cdc)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command_id: CommandId
    command_type: Literal["complete_cdc"]
    at: AwareDatetime
    requested_at: AwareDatetime
    requested_by: str | None = None

    @property
    def due_at(self) -> AwareDatetime:
        """When the timer applies the command."""
        return self.at


class TempData(BaseModel):
    """Working data syncctl keeps while a job's CDC stage runs; removed on CDC Completed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cdc_started_at: AwareDatetime
    events_seen_at_cdc_start: int | None = None
    last_report_at: AwareDatetime | None = None


class JobRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # The fields that carry a deadline: each holds, when set, a model whose `due_at` says when
    # the timer acts on the job. `deadline_at` reads them, and the store indexes a restored
    # record only if one of them is set: a new field that carries a deadline is declared here,
    # and nowhere else (tests/unit/store/test_deadline_index.py fails until it is).
    DEADLINE_FIELDS: ClassVar[tuple[str, ...]] = ("stop", "change", "scheduled")

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
        carriers = _deadline_carriers(self.__dict__)
        if not any(carriers):  # most records: no list, no min (this runs on every write)
            return None
        return min(pending.due_at for pending in carriers if pending is not None)

    @property
    def ended_at(self) -> AwareDatetime | None:
        """When the job reached its final status; None while it has not ended."""
        if not self.status.terminal:
            return None
        return self.status_changed_at or self.updated_at

    @property
    def stage(self) -> Stage:
        """The stage the job is in, or ended in."""
        return _CDC if self.stages.cdc != _NOT_STARTED else _SNAPSHOT


# Enum members read through their class cost about 50 ns each; `stage` runs several times per
# command.
_CDC, _SNAPSHOT, _NOT_STARTED = Stage.CDC, Stage.SNAPSHOT, StageState.NOT_STARTED

# The values of JobRecord.DEADLINE_FIELDS, fetched in one call from the record's __dict__
# (`deadline_at` runs on every write to the store; a pydantic model's attribute read goes through
# BaseModel.__getattr__'s slot, ~4x a dict read).
_deadline_carriers = itemgetter(*JobRecord.DEADLINE_FIELDS)
