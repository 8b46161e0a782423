"""What reaches a terminal: untrusted text from messages never carries a raw control character."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncctl.cli.render import event_line, jobs_table, visible
from syncctl.contract import (
    CommandRejected,
    JobRecord,
    Mode,
    Stage,
    StageState,
    Status,
    StatusChanged,
)
from syncctl.contract.events import ScheduleChanged
from syncctl.contract.messages import Stats
from syncctl.contract.records import ScheduledCommand, Stages
from syncctl.contract.statuses import RejectionCode

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
HOSTILE = "mallory\x1b[31m red \x1b]0;owned title\x07 \u202eevil\nnext line\x9b2J"


def _raw_controls(text: str) -> list[str]:
    return [
        c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) < 0xA0 or c == "\u202e"
    ]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31m", "\\x1b[31m"),
        ("\x1b]0;t\x07", "\\x1b]0;t\\x07"),
        ("a\nb\tc\r", "a\\nb\\tc\\r"),
        ("\x9b\x7f", "\\x9b\\x7f"),
        ("\u202eabc\u2066", "\\u202eabc\\u2066"),
        ("ordinary text, é ü 名前 ✓", "ordinary text, é ü 名前 ✓"),
    ],
)
def test_control_characters_are_written_out(raw: str, shown: str) -> None:
    assert visible(raw) == shown


@given(st.text())
def test_nothing_visible_returns_holds_a_control_character(text: str) -> None:
    assert _raw_controls(visible(text)) == []


def test_the_jobs_table_shows_who_asked_with_escapes_visible_and_columns_aligned() -> None:
    record = JobRecord(
        job_id="orders-1",
        mode=Mode.CONTINUOUS,
        status=Status.CDC_RUNNING,
        stages=Stages(snapshot=StageState.COMPLETED, cdc=StageState.RUNNING),
        created_at=NOW,
        updated_at=NOW,
        created_by=HOSTILE,
        scheduled=ScheduledCommand(
            command_id="c-1",
            command_type="complete_cdc",
            at=NOW + timedelta(hours=3),
            requested_at=NOW,
            requested_by=HOSTILE,
        ),
    )
    table = jobs_table([record])
    assert len(table.splitlines()) == 2
    assert all(_raw_controls(line) == [] for line in table.splitlines())
    assert "mallory\\x1b[31m red \\x1b]0;owned title\\x07 \\u202eevil\\nnext line" in table
    assert "cancel-schedule (complete-cdc due 2026-12-04 15:00 UTC)" in table
    header, row = table.splitlines()
    assert header.index("NEXT") == row.index("complete-cdc /")


def test_every_kind_of_event_line_shows_escapes_visible() -> None:
    common = {"event_id": "e", "job_id": "orders-1", "occurred_at": NOW, "command_id": "c"}
    changed = StatusChanged(
        **common,
        status=Status.CANCELLING,
        status_label="Cancelling",
        previous_status=Status.SNAPSHOT_RUNNING,
        stage=Stage.SNAPSHOT,
        stages=Stages(),
        stats=Stats(),
        reason=HOSTILE,
        requested_by=HOSTILE,
    )
    rejected = CommandRejected(
        **common,
        status=Status.CDC_COMPLETED,
        status_label=HOSTILE,
        command_type="terminate",
        code=RejectionCode.ALREADY_STOPPED,
        reason=HOSTILE,
    )
    scheduled = ScheduleChanged(
        **common,
        status=Status.CDC_RUNNING,
        status_label="CDC running",
        command_type="complete_cdc",
        at=NOW,
        requested_by=HOSTILE,
    )
    for event in (changed, rejected, scheduled):
        line = event_line(event)
        assert _raw_controls(line) == []
        assert "\\x1b]0;owned title\\x07" in line


def test_a_stop_whose_drain_makes_progress_reads_as_such_in_the_cli_and_the_console() -> None:
    from syncctl.console.views import event_view
    from syncctl.contract import StopExtended

    extended = StopExtended(
        event_id="e",
        job_id="orders",
        occurred_at=NOW,
        command_id="draining-1",
        status=Status.CDC_COMPLETING,
        status_label=Status.CDC_COMPLETING.label,
        stop_command_id="stop-1",
        deadline_at=NOW + timedelta(seconds=60),
        remaining=12_345,
    )
    expected = (
        "Completing CDC: the drain is making progress, 12,345 changes left; "
        "deadline now 12:01:00 UTC"
    )
    assert event_line(extended) == f"12:00:00  orders  {expected}"
    shown = event_view(extended)
    assert (shown["kind"], shown["text"]) == ("drain", expected)
