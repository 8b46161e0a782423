"""How jobs and events look on a terminal.

Every field that came from a message is untrusted: a `requested_by` or a reason can hold
terminal escape sequences (colours, window titles, cursor moves) or bidi overrides. They are
printed with such characters made visible (`\\x1b`), never raw.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import UTC

from syncctl.contract import (
    CommandRejected,
    Event,
    JobExpired,
    JobRecord,
    ScheduleChanged,
    Stats,
    StopExtended,
)
from syncctl.describe import drain, expiry, progress, when
from syncctl.machine import allowed_commands

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Characters that reorder or hide text without being control characters (Trojan Source).
_FORMAT_CONTROLS = [0x200E, 0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_VISIBLE = {
    code: _NAMED.get(chr(code), f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    for code in [
        *(c for c in range(0x100) if unicodedata.category(chr(c)) == "Cc"),
        *_FORMAT_CONTROLS,
    ]
}


def visible(text: str) -> str:
    """`text` with control characters written out (`\\x1b`, `\\n`, `\\u202e`), safe to print."""
    return text.translate(_VISIBLE)


def jobs_table(records: Iterable[JobRecord]) -> str:
    """A table of `records` in the order given, one row each; only the row's text is kept of
    each record, so an iterator of records is never held as models."""
    header = ("JOB", "MODE", "STATUS", "STAGE", "PROGRESS", "LAST CHANGE", "ASKED BY", "NEXT")
    rows = [_row(record) for record in records]
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    )


def _row(r: JobRecord) -> tuple[str, ...]:
    cells = (
        r.job_id,
        r.mode.value,
        r.status.label,
        r.stage.value,
        progress(r.stats),
        when(r.status_changed_at or r.updated_at),
        r.last_requested_by or r.created_by or "—",
        next_commands(r),
    )
    return tuple(visible(str(cell)) for cell in cells)


def next_commands(record: JobRecord) -> str:
    """What may be sent now, and when a scheduled complete-cdc is due."""
    names = [command.replace("_", "-") for command in allowed_commands(record)]
    if record.scheduled is not None:
        due = record.scheduled.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        names = [
            f"{name} (complete-cdc due {due})" if name == "cancel-schedule" else name
            for name in names
        ]
    return " / ".join(names) or "—"


def event_line(event: Event) -> str:
    """One line per event; untrusted fields made visible."""
    return visible(_event_line(event))


def _event_line(event: Event) -> str:
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
    if isinstance(event, StopExtended):
        return f"{stamp}  {event.job_id}  {drain(event)}"
    if isinstance(event, JobExpired):
        return f"{stamp}  {event.job_id}  {expiry(event)}"
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
