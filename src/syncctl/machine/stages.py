"""How a job's stages move, for the inputs that move them: reports, and pause and resume."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from syncctl.contract import JobRecord, Mode, Stages, StageState, Status, TempData
from syncctl.machine.model import replaced


def current_stage_as(record: JobRecord, state: StageState) -> Stages:
    """The record's stages with the one it is in now set to `state`."""
    return replaced(record.stages, {record.stage.value: state})


def snapshot_done(record: JobRecord, now: datetime) -> dict[str, Any]:
    """The record's changes once its snapshot counts as done: a snapshot job has completed, a
    continuous one runs CDC from now."""
    if record.mode is Mode.SNAPSHOT:
        return {"status": Status.COMPLETED, "stages": Stages(snapshot=StageState.COMPLETED)}
    return {
        "status": Status.CDC_RUNNING,
        "stages": Stages(snapshot=StageState.COMPLETED, cdc=StageState.RUNNING),
        "temp_data": TempData(
            cdc_started_at=now, events_seen_at_cdc_start=record.stats.events_seen
        ),
    }
