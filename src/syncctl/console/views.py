"""What a page shows of a job: labels, progress, and which stop applies. Pure functions."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup, escape

from syncctl.contract import (
    JobExpired,
    JobRecord,
    Mode,
    RejectionCode,
    Stage,
    StageState,
    Stats,
    Status,
    StopExtended,
)
from syncctl.describe import drain, expiry, progress, when
from syncctl.machine import allowed_commands, schedulable

_STAGE_LABELS = {
    StageState.NOT_STARTED: "Not started",
    StageState.RUNNING: "Running",
    StageState.COMPLETED: "Completed",
    StageState.CANCELLED: "Cancelled",
    StageState.FAILED: "Failed",
    StageState.PAUSED: "Paused",
}

# A final status's mark in History, with its text alternative (the product shows × and ✓).
OUTCOME_MARKS = {
    Status.SNAPSHOT_CANCELLED: ("×", "Cancelled"),
    Status.COMPLETED: ("✓", "Completed"),
    Status.CDC_COMPLETED: ("✓", "Completed"),
    Status.FAILED: ("!", "Failed"),
}

NO_RESUME = (
    "A stopped job cannot be resumed: to migrate again, create a new job that drops the "
    "destination. Stopping can take the engine up to a minute."
)
# Each button of the Job overview, by its route name; `warning` is shown in its confirmation.
ACTIONS = {
    "terminate": {
        "label": "Terminate",
        "title": "Terminate this job?",
        "explains": "The snapshot stops and the job ends as Snapshot cancelled. The data migrated "
        "so far stays in the destination; nothing is rolled back.",
        "warning": NO_RESUME,
        "danger": True,
    },
    "complete-cdc": {
        "label": "Complete CDC",
        "title": "Complete CDC for this job?",
        "explains": "The engine stops streaming changes, cleans up the job's temporary data and "
        "marks every stage completed; the job ends as CDC Completed.",
        "warning": NO_RESUME,
        "danger": True,
    },
    "pause": {
        "label": "Pause",
        "title": "Pause this job?",
        "explains": "The engine stops copying until the job is resumed; nothing is lost. A paused "
        "job can still be terminated (snapshot stage) or completed (CDC stage).",
        "warning": "",
        "danger": False,
    },
    "resume": {
        "label": "Resume",
        "title": "Resume this job?",
        "explains": "The engine carries on copying where the job was paused.",
        "warning": "",
        "danger": False,
    },
    "cancel-schedule": {
        "label": "Cancel schedule",
        "title": "Cancel the scheduled Complete CDC?",
        "explains": "The job goes on streaming changes; nothing is stopped. You can schedule "
        "Complete CDC again, or complete it now.",
        "warning": "",
        "danger": False,
    },
}
# The Job overview's schedule form (not a button of its own: it needs a time).
SCHEDULE_TEXTS = {
    "label": "Schedule Complete CDC",
    "title": "Schedule Complete CDC?",
    "explains": "At that time the worker completes CDC: the engine stops streaming changes, "
    "cleans up the job's temporary data and the job ends as CDC Completed. Until then you can "
    "move or cancel the schedule.",
    "warning": NO_RESUME,
    "danger": True,
}


def actions_for(record: JobRecord) -> list[str]:
    """The commands that apply now (the machine decides), as the console's routes name them:
    the stop first, then pause or resume."""
    return [command.replace("_", "-") for command in allowed_commands(record)]


def job_view(record: JobRecord, now: datetime | None = None) -> dict[str, Any]:
    """The fields of a History row and of the Job overview header, as JSON-ready values."""
    changed = record.status_changed_at or record.updated_at
    stages = [("Snapshot", record.stages.snapshot)]
    if record.mode is Mode.CONTINUOUS:
        stages.append(("CDC", record.stages.cdc))
    return {
        "job_id": record.job_id,
        "mode": record.mode.value,
        "status": record.status.value,
        "status_label": record.status.label,
        "stopping": record.status.stopping,
        "changing": record.status.changing,
        "final": record.status.terminal,
        "stage": "CDC" if record.stage is Stage.CDC else "Snapshot",
        "progress": progress(record.stats),
        "last_change": when(changed, now),
        "last_change_at": changed.astimezone(UTC).isoformat(),
        "asked_by": record.last_requested_by or record.created_by or "—",
        "reason": record.reason,
        "copies": copies(record),
        "scheduled": scheduled(record),
        "scheduled_at": record.scheduled.at.astimezone(UTC).isoformat()
        if record.scheduled
        else None,
        "scheduled_by": record.scheduled.requested_by if record.scheduled else None,
        "may_schedule": schedulable(record),
        "actions": actions_for(record),
        "mark": _mark(record.status),
        "stages": [_stage_view(name, state, record) for name, state in stages],
    }


def _mark(status: Status) -> dict[str, str] | None:
    mark = OUTCOME_MARKS.get(status)
    return {"symbol": mark[0], "text": mark[1]} if mark else None


def _stage_view(name: str, state: StageState, record: JobRecord) -> dict[str, str]:
    """A stage card: its state, and what it did; a stopped stage keeps its figures."""
    label = _STAGE_LABELS[state]
    if state is StageState.NOT_STARTED and record.status.terminal:
        label = "Not run"  # its final state: the job ended before this stage began
    done = "" if state is StageState.NOT_STARTED else stage_progress(name, record.stats)
    return {"name": name, "state": state.value, "label": label, "progress": done}


def stage_progress(name: str, stats: Stats) -> str:
    if name == "CDC":
        return f"{stats.events_seen:,} CDC events" if stats.events_seen is not None else ""
    snapshot_only = stats.model_copy(update={"events_seen": None})
    return "" if snapshot_only == Stats() else progress(snapshot_only)


def scheduled(record: JobRecord) -> str | None:
    """`Complete CDC at 2026-12-01 01:00 UTC (by alice)`, when the job holds a schedule."""
    plan = record.scheduled
    if plan is None:
        return None
    by = f" (by {plan.requested_by})" if plan.requested_by else ""
    return f"Complete CDC at {_moment(plan.at)}{by}"


def _moment(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def copies(record: JobRecord) -> str | None:
    """What the job copies, from its spec: `shop: public.orders, public.items → archive/shop`."""
    spec = record.spec
    if spec is None:
        return None
    drop = " (dropped first)" if record.drop_destination else ""
    return f"{spec.source}: {', '.join(spec.tables)} → {spec.destination}/{spec.database}{drop}"


def event_view(event: Any) -> dict[str, Any]:
    """One line of a job's timeline."""
    return event_data_view(event.model_dump(mode="json"))


def event_data_view(data: dict[str, Any]) -> dict[str, Any]:
    """One line of a job's timeline, from the event's JSON as the events topic holds it (the
    feed does not build a model for each event). KeyError or ValueError: not an event of this
    contract."""
    at = datetime.fromisoformat(data["occurred_at"]).astimezone(UTC)
    line = {
        "job_id": data["job_id"],
        "command_id": data.get("command_id"),
        "at": at.isoformat(),
        "time": at.strftime("%H:%M:%S"),
    }
    kind = data["type"]
    by = f" (by {data['requested_by']})" if data.get("requested_by") else ""
    if kind == "command_rejected":
        code = RejectionCode(data["code"]).value
        text = f"{data['command_type']} rejected ({code}): {data['reason']}"
        return {**line, "kind": "rejected", "text": text, "reason": data["reason"]}
    if kind == "schedule_changed":
        command = data["command_type"]
        what = (
            f"{command} scheduled for {_moment(datetime.fromisoformat(data['at']))}"
            if data.get("at")
            else f"scheduled {command} cancelled"
        )
        return {**line, "kind": "schedule", "text": what + by}
    if kind == "stop_extended":
        return {**line, "kind": "drain", "text": drain(StopExtended.model_validate(data))}
    if kind == "job_expired":
        return {**line, "kind": "expired", "text": expiry(JobExpired.model_validate(data))}
    if kind != "status_changed":
        raise ValueError(f"unknown event type {kind!r}")
    status = Status(data["status"])
    previous = data.get("previous_status")
    before = Status(previous).label if previous else "Created"
    details = []
    if data.get("forced"):
        details.append("forced at the stop deadline")
    if data.get("requested_by"):
        details.append(f"by {data['requested_by']}")
    label = data.get("status_label") or status.label
    text = f"{before} → {label}" + (f" ({'; '.join(details)})" if details else "")
    return {
        **line,
        "kind": "status",
        "text": text,
        "status": status.value,
        "status_label": label,
        "completes": data.get("completes_command_id"),
    }


STATUS_FILTERS = [(status.value, status.label) for status in Status]


_NATURAL_BREAK = re.compile(r"([_./:])")


def breakable(text: object) -> Markup:
    """`text` escaped, with a line-break opportunity after each `_`, `.`, `/` and `:`: ids and
    database names such as `shop_live_151923` then wrap at those, never inside a word (a
    browser breaks on its own only at spaces and hyphens)."""
    return Markup(_NATURAL_BREAK.sub(r"\1<wbr>", str(escape(text))))
