"""docs/state-table.md is the specification: every row is checked against `apply`."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from syncctl.contract import (
    CommandRejected,
    JobExpired,
    Mode,
    ScheduleChanged,
    StatusChanged,
    StopExtended,
)
from syncctl.machine import apply
from tests.unit.machine.journeys import (
    AFTER_DEADLINE,
    AFTER_RETENTION,
    DRAINING_AT,
    PATHS,
    REACHABLE,
    T0,
    message,
    record_in,
)

TABLE = Path(__file__).resolve().parents[3] / "docs" / "state-table.md"
INPUTS = (
    "create",
    "terminate",
    "complete_cdc",
    "snapshot_started",
    "progress",
    "snapshot_completed",
    "stopped",
    "failed",
    "deadline (due)",
    "deadline (not due)",
    "retention (due)",
    "retention (not due)",
    "pause",
    "resume",
    "paused",
    "resumed",
    "complete_cdc (at)",
    "cancel_schedule",
    "draining",
)


class Row(NamedTuple):
    status: str | None  # a state of journeys.PATHS: a status, or "PAUSED (cdc)" and the like
    mode: Mode
    input: str
    outcome: str
    new_status: str
    event: str


def table_rows() -> list[Row]:
    lines = TABLE.read_text().splitlines()
    start = lines.index("| status | mode | input | outcome | new status | event |") + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("| "):
            break
        status, mode, input_, outcome, new_status, event = (
            c.strip() for c in line.strip("|").split("|")
        )
        job_status = None if status == "(no job)" else status
        modes = (Mode.SNAPSHOT, Mode.CONTINUOUS) if job_status is None else REACHABLE[job_status]
        for each in modes if mode == "any" else (Mode(mode),):
            rows.append(Row(job_status, each, input_, outcome, new_status, event))
    return rows


ROWS = table_rows()


def test_the_table_covers_every_reachable_status_mode_and_input_exactly_once() -> None:
    expected = {
        (status, mode, input_)
        for status in (None, *PATHS)
        for mode in ((Mode.SNAPSHOT, Mode.CONTINUOUS) if status is None else REACHABLE[status])
        for input_ in INPUTS
    }
    listed = [(row.status, row.mode, row.input) for row in ROWS]
    assert len(listed) == len(set(listed)), "a row is listed twice"
    assert set(listed) == expected


def describe(
    event: StatusChanged | CommandRejected | ScheduleChanged | StopExtended | JobExpired,
) -> str:
    if isinstance(event, JobExpired):
        return "job_expired"
    if isinstance(event, StopExtended):
        return "stop_extended"
    if isinstance(event, CommandRejected):
        return f"command_rejected `{event.code}`"
    if isinstance(event, ScheduleChanged):
        return "schedule_changed"
    return "status_changed forced" if event.forced else "status_changed"


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.status}-{r.mode}-{r.input}")
def test_apply_does_what_the_table_says(row: Row) -> None:
    record = None if row.status is None else record_in(row.status, row.mode)
    now = {
        "deadline (due)": AFTER_DEADLINE,
        "retention (due)": AFTER_RETENTION,
        "draining": DRAINING_AT,
    }.get(row.input, T0)
    kind = (
        row.input.split(" (")[0] if row.input.startswith(("deadline", "retention")) else row.input
    )
    result = apply(record, message(kind, mode=row.mode), now)

    assert result.outcome.value == row.outcome
    assert (result.record.status.value if result.record else "—") == row.new_status
    assert [describe(e) for e in result.events] == ([] if row.event == "—" else [row.event])
    for event in result.events:
        if isinstance(event, JobExpired):  # says what the job ended as; the record is gone
            assert record is not None and event.status_label == record.status.label
            continue
        assert event.status_label == (result.record.status.label if result.record else None)
