"""How a job's figures and moments read for people: the same words in the CLI and the console."""

from __future__ import annotations

from datetime import UTC, datetime

from syncctl.contract import JobExpired, Stats, StopExtended


def progress(stats: Stats) -> str:
    """`tables 2/4, 12,345 rows, 77 CDC events`, or `—` before any report."""
    parts = []
    if stats.tables_total is not None or stats.tables_done is not None:
        parts.append(
            f"tables {stats.tables_done or 0}/"
            f"{stats.tables_total if stats.tables_total is not None else '?'}"
        )
    if stats.rows_migrated is not None:
        parts.append(f"{stats.rows_migrated:,} rows")
    if stats.events_seen is not None:
        parts.append(f"{stats.events_seen:,} CDC events")
    return ", ".join(parts) or "—"


def when(moment: datetime, now: datetime | None = None) -> str:
    """`12 s ago`, `3 min ago`, or the UTC time for older moments (console.js says the same)."""
    seconds = int(((now or datetime.now(UTC)) - moment).total_seconds())
    if seconds < 60:
        return f"{max(seconds, 0)} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def drain(event: StopExtended) -> str:
    """`Completing CDC: the drain is making progress, 1,200 changes left; deadline now 12:01:30
    UTC`: a stop's deadline that moved."""
    left = f", {event.remaining:,} changes left" if event.remaining is not None else ""
    deadline = event.deadline_at.astimezone(UTC).strftime("%H:%M:%S")
    return f"{event.status_label}: the drain is making progress{left}; deadline now {deadline} UTC"


def expiry(event: JobExpired) -> str:
    """`record removed: ended Snapshot cancelled 30 days ago (the retention period)`."""
    kept = event.retention_seconds
    period = f"{kept / 86_400:g} days" if kept >= 86_400 else f"{kept:g} s"
    return f"record removed: ended {event.status_label} {period} ago (the retention period)"
