"""How jobs and events look on a terminal."""

from __future__ import annotations

from datetime import UTC

from syncctl.contract import CommandRejected, Event, JobRecord, ScheduleChanged, Stats
from syncctl.describe import progress, when
from syncctl.machine import allowed_commands


def jobs_table(records: list[JobRecord]) -> str:
    header = ("JOB", "MODE", "STATUS", "STAGE", "PROGRESS", "LAST CHANGE", "ASKED BY", "NEXT")
    rows = [
        (
            r.job_id,
            r.mode.value,
            r.status.label,
            r.stage.value,
            progress(r.stats),
            when(r.status_changed_at or r.updated_at),
            r.last_requested_by or r.created_by or "—",
            " / ".join(command.replace("_", "-") for command in allowed_commands(r)) or "—",
        )
        for r in records
    ]
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    )


def event_line(event: Event) -> str:
    stamp = event.occurred_at.astimezone(UTC).strftime("%H:%M:%S")
    if isinstance(event, CommandRejected):
        return (
            f"{stamp}  {event.job_id}  {event.command_type} rejected ({event.code.value}): "
            f"{event.reason}"
        )
    if isinstance(event, ScheduleChanged):
        what = (
            f"{event.command_type} scheduled for {event.at.isoformat()}"
            if event.at
            else f"scheduled {event.command_type} cancelled"
        )
        by = f"  (by {event.requested_by})" if event.requested_by else ""
        return f"{stamp}  {event.job_id}  {what}{by}"
    before = event.previous_status.label if event.previous_status else "created"
    line = f"{stamp}  {event.job_id}  {before} → {event.status_label}"
    details = []
    if event.stats != Stats():
        details.append(progress(event.stats))
    if event.forced and event.status.terminal:
        details.append("forced at the stop deadline")
    elif event.forced:  # a pause or resume the engine did not confirm: the reason says what now
        details.append("forced at the deadline")
    if event.requested_by:
        details.append(f"by {event.requested_by}")
    if event.reason and not (event.forced and event.status.terminal):
        details.append(event.reason)
    return line + (f"  ({'; '.join(details)})" if details else "")
