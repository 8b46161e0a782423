"""Fuzzing `syncctl.machine.apply` with contract-valid messages of every kind and random values.

What it guards: the worker calls `apply` for every control message and writes what comes back
as JSON (records to the state topic, events to the events topic), and a worker that takes over
a partition rebuilds its records from that JSON. So for any sequence of valid inputs, `apply`
must not raise, and everything it returns must come back equal from its own JSON, both as users
of the topics parse it (`TypeAdapter(Event)`, `JobRecord`) and as a restoring worker does.

`apply` is called per job: the worker looks up the record by the message's job id
(`syncctl.worker.loop.Worker._apply`), so a message for another job than its record never
reaches it; that would be a caller error, and it is not generated here.
"""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from syncctl.contract import (
    CompleteCdc,
    Create,
    Event,
    Failed,
    JobRecord,
    JobSpec,
    Mode,
    Progress,
    SnapshotCompleted,
    SnapshotStarted,
    Stats,
    Status,
    Stopped,
    Terminate,
)
from syncctl.machine import DeadlineReached, MachineInput, Rules, Transition, apply
from syncctl.store import PartitionState

EVENT: TypeAdapter[Any] = TypeAdapter(Event)
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

job_ids = st.text(string.ascii_letters + string.digits + "-", min_size=1, max_size=128)
requested_by = st.none() | st.text(max_size=256)
issued_at = st.builds(
    lambda moment, minutes: moment.replace(tzinfo=timezone(timedelta(minutes=minutes))),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59),
)
counts = st.none() | st.integers(min_value=0) | st.integers(min_value=0, max_value=10**6)
stats = st.builds(
    Stats, tables_total=counts, tables_done=counts, rows_migrated=counts, events_seen=counts
)

_common = {"job_id": st.just("placeholder"), "issued_at": issued_at, "requested_by": requested_by}
# Every kind of input `apply` gets, with random values the contract allows (ids are set later).
BUILDERS: dict[str, st.SearchStrategy[MachineInput]] = {
    "create": st.builds(
        Create,
        command_id=st.just("x"),
        mode=st.sampled_from(Mode),
        drop_destination=st.booleans(),
        spec=st.none()
        | st.builds(
            JobSpec,
            source=st.just("shop"),
            tables=st.just(("public.orders",)),
            destination=st.just("archive"),
            database=st.just("shop"),
        ),
        **_common,
    ),
    "terminate": st.builds(Terminate, command_id=st.just("x"), **_common),
    "complete_cdc": st.builds(CompleteCdc, command_id=st.just("x"), **_common),
    "snapshot_started": st.builds(SnapshotStarted, command_id=st.just("x"), **_common),
    "progress": st.builds(Progress, command_id=st.just("x"), stats=stats, **_common),
    "snapshot_completed": st.builds(SnapshotCompleted, command_id=st.just("x"), **_common),
    "stopped": st.builds(
        Stopped, command_id=st.just("x"), temp_data_cleaned=st.none() | st.booleans(), **_common
    ),
    "failed": st.builds(Failed, command_id=st.just("x"), error=st.text(max_size=8192), **_common),
    "deadline": st.just(DeadlineReached("placeholder")),
}
KINDS = sorted(BUILDERS)
# What moves a job on from each status; a journey mostly picks one of these (otherwise any
# kind), so that it reaches every status (CANCELLING, CDC_COMPLETING...) and not only the first.
FORWARD: dict[Status | None, list[str]] = {
    None: ["create"],
    Status.NOT_STARTED: ["snapshot_started"] * 3 + ["terminate", "progress", "failed"],
    Status.SNAPSHOT_RUNNING: ["snapshot_completed", "terminate"] * 2 + ["progress", "failed"],
    Status.CANCELLING: ["stopped", "deadline", "snapshot_completed", "progress", "failed"],
    Status.CDC_RUNNING: ["complete_cdc"] * 2 + ["progress", "failed"],
    Status.CDC_COMPLETING: ["stopped", "deadline", "progress", "failed"],
}
# "1-128 chars", any characters; the step number keeps ids unique, and a few shared ids model
# senders that reuse an id for another message (the machine must treat it as a duplicate).
texts = st.text(max_size=120)
shared_ids = st.sampled_from(["c-1", "c-2", "c-3"])
AROUND = [-timedelta(microseconds=1), timedelta(0), timedelta(seconds=1)]
CHOICES = st.sampled_from(["forward"] * 6 + ["any", "any", "resend", "shared id"])
PAUSES = st.timedeltas(min_value=timedelta(0), max_value=timedelta(minutes=10))


def with_ids(message: MachineInput, job_id: str, command_id: str) -> MachineInput:
    if isinstance(message, DeadlineReached):
        return DeadlineReached(job_id)
    return message.model_copy(update={"job_id": job_id, "command_id": command_id})


@st.composite
def journeys(draw: st.DrawFn) -> tuple[str, Rules, list[tuple[datetime, MachineInput]]]:
    """A job, the worker's rules, and the inputs it gets with the time each arrives.

    Time mostly moves forward (past a stop deadline often), sometimes back a little as a wall
    clock may; some inputs are redelivered earlier ones.
    """
    job_id = draw(job_ids)
    rules = Rules(
        stop_deadline=timedelta(seconds=draw(st.floats(min_value=0.001, max_value=30 * 86400))),
        history_limit=draw(st.integers(min_value=1, max_value=300)),
    )
    jumps = st.sampled_from([timedelta(0), -timedelta(seconds=1), rules.stop_deadline * 2]) | PAUSES
    now = draw(
        st.datetimes(
            min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
        )
    )
    record: JobRecord | None = None
    steps: list[tuple[datetime, MachineInput]] = []
    for number in range(draw(st.integers(min_value=1, max_value=30))):
        now += draw(jumps)
        choice = draw(CHOICES)
        if steps and choice == "resend":
            message = steps[draw(st.integers(min_value=0, max_value=len(steps) - 1))][1]
        else:
            forward = FORWARD.get(record.status if record else None)
            kind = draw(st.sampled_from(forward if forward and choice != "any" else KINDS))
            command_id = draw(shared_ids) if choice == "shared id" else f"{draw(texts)}#{number}"
            message = with_ids(draw(BUILDERS[kind]), job_id, command_id)
            if kind == "deadline" and record is not None and record.stop is not None:
                # The timer fires just before, at, or after the stop's deadline.
                now = max(now, record.stop.deadline_at + draw(st.sampled_from(AROUND)))
        steps.append((now, message))
        record = apply(record, message, now, rules).record  # only to choose what comes next
    return job_id, rules, steps


def assert_round_trips(job_id: str, transition: Transition, now: datetime) -> None:
    for event in transition.events:
        assert event.job_id == job_id
        back = EVENT.validate_json(event.model_dump_json())
        assert type(back) is type(event) and back == event, (event, back)
    record = transition.record
    if record is None:
        return
    assert record.job_id == job_id
    raw = record.model_dump_json()
    assert JobRecord.model_validate_json(raw) == record
    # What a worker taking over the partition rebuilds from the state topic, pending stop included.
    restored = PartitionState(0)
    restored.restore(job_id.encode(), raw.encode())
    assert restored.get(job_id) == record
    due_at = record.stop.deadline_at if record.stop else now
    assert restored.due(due_at) == ([job_id] if record.stop else [])


@FUZZ
@given(journeys())
def test_apply_never_raises_and_everything_it_returns_comes_back_equal_from_json(
    journey: tuple[str, Rules, list[tuple[datetime, MachineInput]]],
) -> None:
    job_id, rules, steps = journey
    record: JobRecord | None = None
    for now, message in steps:
        transition = apply(record, message, now, rules)
        assert_round_trips(job_id, transition, now)
        record = transition.record


@FUZZ
@given(journeys())
def test_a_record_restored_from_its_json_gives_the_same_outcomes_as_the_original(
    journey: tuple[str, Rules, list[tuple[datetime, MachineInput]]],
) -> None:
    """After every step, a worker that rebuilt the record from the state topic (as on a
    rebalance) answers the next input exactly as the worker that wrote it would have."""
    _job_id, rules, steps = journey
    record: JobRecord | None = None
    for now, message in steps:
        transition = apply(record, message, now, rules)
        if record is not None:
            from_json = JobRecord.model_validate_json(record.model_dump_json())
            assert apply(from_json, message, now, rules) == transition
        record = transition.record
