"""`allowed_commands` says exactly which stops `apply` accepts, for every status and mode."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from syncctl.contract import (
    CancelSchedule,
    CompleteCdc,
    JobRecord,
    Mode,
    Pause,
    Resume,
    Status,
    Terminate,
)
from syncctl.machine import DEFAULT_RULES, Outcome, allowed_commands, apply, schedulable
from tests.unit.machine.journeys import record_in

NOW = datetime(2026, 11, 28, tzinfo=UTC)


@pytest.mark.parametrize("mode", list(Mode))
@pytest.mark.parametrize("status", list(Status))
def test_allowed_commands_are_those_the_machine_accepts(mode: Mode, status: Status) -> None:
    record = JobRecord(job_id="j", mode=mode, status=status, created_at=NOW, updated_at=NOW)
    accepted = {
        kind(command_id="c1", job_id="j", issued_at=NOW).type
        for kind in (Terminate, CompleteCdc, Pause, Resume, CancelSchedule)
        if apply(
            record, kind(command_id="c1", job_id="j", issued_at=NOW), NOW, DEFAULT_RULES
        ).outcome
        is Outcome.ACCEPTED
    }
    assert set(allowed_commands(record)) == accepted


def test_the_stop_that_applies_comes_first_then_pause_or_resume() -> None:
    def allowed(state: str) -> tuple[str, ...]:
        return allowed_commands(record_in(state, Mode.CONTINUOUS))

    assert allowed("SNAPSHOT_RUNNING") == ("terminate", "pause")
    assert allowed("CDC_RUNNING") == ("complete_cdc", "pause")
    assert allowed("PAUSED (snapshot)") == ("terminate", "resume")
    assert allowed("PAUSED (cdc)") == ("complete_cdc", "resume")
    assert allowed("CANCELLING") == allowed("PAUSING (cdc)") == allowed("RESUMING (snapshot)") == ()


@pytest.mark.parametrize("mode", list(Mode))
@pytest.mark.parametrize("status", list(Status))
def test_schedulable_is_whether_the_machine_accepts_a_complete_cdc_for_later(
    mode: Mode, status: Status
) -> None:
    record = JobRecord(job_id="j", mode=mode, status=status, created_at=NOW, updated_at=NOW)
    later = CompleteCdc(command_id="c1", job_id="j", issued_at=NOW, at=NOW + timedelta(days=2))
    accepted = apply(record, later, NOW, DEFAULT_RULES).outcome is Outcome.ACCEPTED
    assert schedulable(record) == accepted
