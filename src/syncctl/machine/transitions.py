"""What every kind of input builds its `Transition` from: the next record, the status change or
rejection that answers it, and event ids that make a replay produce the same events."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

from syncctl.contract import (
    CommandRejected,
    ControlMessage,
    Event,
    JobRecord,
    RejectionCode,
    StatusChanged,
)
from syncctl.machine import reasons
from syncctl.machine.model import Outcome, Rules, Transition, built, replaced

EVENT_NAMESPACE = uuid.UUID("6f1c1d1e-7d43-4a53-9a4e-2b7f3d0c5a11")
_EVENT_NAMESPACE_BYTES = EVENT_NAMESPACE.bytes


def next_record(
    record: JobRecord, message: ControlMessage, now: datetime, rules: Rules, **changes: Any
) -> JobRecord:
    """The record after `message`: `changes` made, the command id remembered, one version up."""
    fields = record.__dict__  # read as in `status_changed`: a model's attribute costs ~4x
    history = (*fields["applied_command_ids"], message.command_id)[-rules.history_limit :]
    status = fields["status"]
    if changes.get("status", status) is not status:
        changes["status_changed_at"] = now
    return replaced(
        record,
        {
            **changes,
            "updated_at": now,
            "applied_command_ids": history,
            "version": fields["version"] + 1,
        },
    )


def changed(
    record: JobRecord,
    message: ControlMessage,
    now: datetime,
    rules: Rules,
    completes: str | None = None,
    **changes: Any,
) -> Transition:
    """An engine report changed the status (`completes`: the operator command it confirms)."""
    updated = next_record(record, message, now, rules, **changes)
    event = status_changed(record, updated, message, now, completes=completes)
    return Transition(updated, (event,), Outcome.CHANGED)


def by_the_timer(
    record: JobRecord,
    now: datetime,
    command_id: str,
    outcome: Outcome,
    requested_by: str | None = None,
    **changes: Any,
) -> Transition:
    """A status change the timer makes for `command_id`: a deadline that forces a stop or undoes
    an unconfirmed pause or resume (the event is `forced` and completes the command), or a
    scheduled command that applies now (its own event, by whoever scheduled it)."""
    updated = replaced(
        record,
        {
            **changes,
            "updated_at": now,
            "status_changed_at": now,
            "version": record.version + 1,
        },
    )
    scheduled = outcome is Outcome.ACCEPTED
    event = status_changed(
        record,
        updated,
        None,
        now,
        command_id=command_id,
        forced=not scheduled,
        completes=None if scheduled else command_id,
        kind="scheduled" if scheduled else "deadline",
        requested_by=requested_by,
    )
    return Transition(updated, (event,), outcome)


def reject(
    record: JobRecord,
    message: ControlMessage,
    now: datetime,
    rules: Rules,
    code: RejectionCode,
    reason: str,
) -> Transition:
    # Remembering the rejected command_id keeps a redelivered copy from being answered twice.
    updated = next_record(record, message, now, rules)
    event = CommandRejected(
        **answering(record, message, now),
        command_type=message.type,
        code=code,
        reason=reason,
    )
    return Transition(updated, (event,), Outcome.REJECTED)


def reject_unknown_job(message: ControlMessage, now: datetime) -> Transition:
    event = CommandRejected(
        event_id=event_id(message.job_id, message.command_id, message.type),
        job_id=message.job_id,
        occurred_at=now,
        command_id=message.command_id,
        status=None,
        status_label=None,
        command_type=message.type,
        code=RejectionCode.UNKNOWN_JOB,
        reason=reasons.unknown_job(message.job_id),
    )
    return Transition(None, (event,), Outcome.REJECTED)


def answering(record: JobRecord, message: ControlMessage, now: datetime) -> dict[str, Any]:
    """The fields every event that answers `message` without a status change starts with."""
    return {
        "event_id": event_id(record.job_id, message.command_id, message.type),
        "job_id": record.job_id,
        "occurred_at": now,
        "command_id": message.command_id,
        "status": record.status,
        "status_label": record.status.label,
    }


def status_changed(
    previous: JobRecord | None,
    record: JobRecord,
    message: ControlMessage | None,
    now: datetime,
    *,
    command_id: str | None = None,
    forced: bool = False,
    completes: str | None = None,
    kind: str | None = None,
    requested_by: str | None = None,
) -> Event:
    command_id = command_id or (message.command_id if message else None)
    # The record's values read from its __dict__: a pydantic model's attribute read goes through
    # BaseModel.__getattr__'s slot (three type lookups, no specialization), ~4x a dict read.
    fields = record.__dict__
    status, job_id = fields["status"], fields["job_id"]
    # Every field is set from the record, which is valid: the event is built from these values,
    # not validated again (validating cost 3 µs of the worker's ~27 µs per command;
    # tests/unit/machine/test_fuzz_machine.py checks every event round-trips through JSON).
    return built(
        StatusChanged,
        {
            "event_id": event_id(job_id, command_id, kind or (message.type if message else "")),
            "job_id": job_id,
            "occurred_at": now,
            "command_id": command_id,
            "status": status,
            "status_label": status.label,
            "type": "status_changed",
            "previous_status": previous.status if previous else None,
            "stage": record.stage,
            "stages": fields["stages"],
            "forced": forced,
            "stats": fields["stats"],
            "reason": fields["reason"],
            "completes_command_id": completes,
            "requested_by": message.requested_by if message else requested_by,
            "mode": fields["mode"],
            # An engine learns what to copy from the event that creates the job.
            "drop_destination": fields["drop_destination"] if previous is None else None,
            "spec": fields["spec"] if previous is None else None,
        },
    )


def event_id(job_id: str, command_id: str | None, kind: str) -> str:
    """The UUIDv5 of (job, command, kind): `str(uuid.uuid5(...))`, computed without the UUID class.

    Derived, not random: replaying the same input yields the same event, byte for byte. Written
    out because `uuid.uuid5` and `UUID.__str__` cost a tenth of the worker's time per command.
    """
    digest = _NAMESPACE_HASHED.copy()  # the namespace is the same 16 bytes every time
    digest.update(f"{job_id}\x00{command_id}\x00{kind}".encode())
    hex_ = digest.hexdigest()
    # The version nibble is 5; the variant's two high bits are 10 (RFC 4122), on the hex digits.
    return (
        f"{hex_[:8]}-{hex_[8:12]}-5{hex_[13:16]}-{_VARIANT_DIGIT[hex_[16]]}{hex_[17:20]}-"
        f"{hex_[20:32]}"
    )


_NAMESPACE_HASHED = hashlib.sha1(_EVENT_NAMESPACE_BYTES)
_VARIANT_DIGIT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
