"""`allowed_commands` says exactly which stops `apply` accepts, for every status and mode."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from syncctl.contract import CompleteCdc, JobRecord, Mode, Status, Terminate
from syncctl.machine import DEFAULT_RULES, Outcome, allowed_commands, apply

NOW = datetime(2026, 11, 28, tzinfo=UTC)


@pytest.mark.parametrize("mode", list(Mode))
@pytest.mark.parametrize("status", list(Status))
def test_allowed_commands_are_those_the_machine_accepts(mode: Mode, status: Status) -> None:
    record = JobRecord(job_id="j", mode=mode, status=status, created_at=NOW, updated_at=NOW)
    accepted = {
        kind(command_id="c1", job_id="j", issued_at=NOW).type
        for kind in (Terminate, CompleteCdc)
        if apply(
            record, kind(command_id="c1", job_id="j", issued_at=NOW), NOW, DEFAULT_RULES
        ).outcome
        is Outcome.ACCEPTED
    }
    assert set(allowed_commands(record)) == accepted


def test_terminate_in_the_snapshot_stage_and_complete_cdc_only_in_cdc() -> None:
    def record(status: Status) -> JobRecord:
        return JobRecord(
            job_id="j", mode=Mode.CONTINUOUS, status=status, created_at=NOW, updated_at=NOW
        )

    assert allowed_commands(record(Status.SNAPSHOT_RUNNING)) == ("terminate",)
    assert allowed_commands(record(Status.CDC_RUNNING)) == ("complete_cdc",)
    assert allowed_commands(record(Status.CANCELLING)) == ()
