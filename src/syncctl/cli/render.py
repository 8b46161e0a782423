"""How jobs and events look on a terminal."""

from __future__ import annotations

from datetime import UTC, datetime

from syncctl.contract import CommandRejected, Event, JobRecord, Stats, Status


def progress(stats: Stats, status: Status | None = None) -> str:
    parts = []
    if stats.tables_total is not None or stats.tables_done is not None:
        parts.append(
            f"tables {stats.tables_done or 0}/{stats.tables_total if stats.tables_total is not None else '?'}"
        )
    if stats.rows_migrated is not None:
        parts.append(f"{stats.rows_migrated:,} rows")
    if stats.events_seen is not None:
        parts.append(f"{stats.events_seen:,} CDC events")
    return ", ".join(parts) or "—"


def when(moment: datetime, now: datetime | None = None) -> str:
    seconds = int(((now or datetime.now(UTC)) - moment).total_seconds())
    if seconds < 60:
        return f"{max(seconds, 0)} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def jobs_table(records: list[JobRecord]) -> str:
    header = ("JOB", "MODE", "STATUS", "STAGE", "PROGRESS", "LAST CHANGE", "ASKED BY")
    rows = [
        (
            r.job_id,
            r.mode.value,
            r.status.label,
            r.stage.value,
            progress(r.stats),
            when(r.status_changed_at or r.updated_at),
            r.last_requested_by or r.created_by or "—",
        )
        for r in records
    ]
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip()
        for row in (header, *rows)
    )


def event_line(event: Event) -> str:
    stamp = event.occurred_at.astimezone(UTC).strftime("%H:%M:%S")
    if isinstance(event, CommandRejected):
        return f"{stamp}  {event.job_id}  {event.command_type} rejected ({event.code.value}): {event.reason}"
    before = event.previous_status.label if event.previous_status else "created"
    line = f"{stamp}  {event.job_id}  {before} → {event.status_label}"
    details = []
    if event.stats != Stats():
        details.append(progress(event.stats))
    if event.forced:
        details.append("forced at the stop deadline")
    if event.requested_by:
        details.append(f"by {event.requested_by}")
    if event.reason and not event.forced:
        details.append(event.reason)
    return line + (f"  ({'; '.join(details)})" if details else "")
