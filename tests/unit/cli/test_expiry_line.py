"""An expired job's event reads as what happened to it in `syncctl watch`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from syncctl.cli.render import event_line
from syncctl.contract import JobExpired, Status

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_an_expired_job_says_what_it_ended_as_and_after_how_long_it_went() -> None:
    expired = JobExpired(
        event_id="e",
        job_id="orders",
        occurred_at=NOW,
        status=Status.SNAPSHOT_CANCELLED,
        status_label=Status.SNAPSHOT_CANCELLED.label,
        ended_at=NOW - timedelta(days=30),
        retention_seconds=30 * 86_400,
    )
    assert event_line(expired) == (
        "12:00:00  orders  record removed: ended Snapshot cancelled 30 days ago "
        "(the retention period)"
    )


def test_the_console_timeline_says_the_same() -> None:
    from syncctl.console.views import event_view

    expired = JobExpired(
        event_id="e",
        job_id="orders",
        occurred_at=NOW,
        status=Status.CDC_COMPLETED,
        status_label=Status.CDC_COMPLETED.label,
        ended_at=NOW - timedelta(days=7),
        retention_seconds=7 * 86_400,
    )
    shown = event_view(expired)
    assert (shown["kind"], shown["text"]) == (
        "expired",
        "record removed: ended CDC Completed 7 days ago (the retention period)",
    )
