"""Properties of `apply` over random input sequences (hypothesis)."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from syncctl.contract import (
    CommandRejected,
    JobRecord,
    Mode,
    ScheduleChanged,
    Stage,
    StageState,
    Status,
    StatusChanged,
    StopExtended,
)
from syncctl.machine import DEFAULT_RULES, DeadlineReached, MachineInput, Transition, apply
from tests.unit.machine.journeys import T0, message

KINDS = (
    "create",
    "terminate",
    "complete_cdc",
    "snapshot_started",
    "progress",
    "snapshot_completed",
    "stopped",
    "failed",
    "deadline",
    "pause",
    "resume",
    "paused",
    "resumed",
    "complete_cdc (at)",
    "cancel_schedule",
    "draining",
)
OPERATOR = {"create", "terminate", "complete_cdc", "pause", "resume", "cancel_schedule"}

steps = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.sampled_from(list(Mode)),
        st.integers(min_value=0, max_value=90),  # seconds that pass before this input
        st.booleans() | st.just(False),  # resend an earlier message instead (a duplicate)
    ),
    max_size=40,
)


Step = tuple[MachineInput, Transition, JobRecord | None, datetime]


def run(sequence: list[tuple[str, Mode, int, bool]]) -> list[Step]:
    """Apply the inputs in order; each step is (input, its transition, record before, time)."""
    record: JobRecord | None = None
    now = T0
    sent: list[MachineInput] = []
    trace = []
    for kind, mode, seconds, resend in sequence:
        now += timedelta(seconds=seconds)
        earlier = [m for m in sent if not isinstance(m, DeadlineReached)]
        current = (
            earlier[len(sent) % len(earlier)] if resend and earlier else message(kind, mode=mode)
        )
        sent.append(current)
        transition = apply(record, current, now)
        trace.append((current, transition, record, now))
        record = transition.record
    return trace


@settings(max_examples=1500)
@given(steps)
def test_a_terminal_status_is_forever(sequence: list[tuple[str, Mode, int, bool]]) -> None:
    ended: Status | None = None
    for _, transition, _, _ in run(sequence):
        if ended is not None:
            assert transition.record is not None and transition.record.status is ended
        if transition.record is not None and transition.record.status.terminal:
            ended = transition.record.status


@settings(max_examples=1500)
@given(steps)
def test_every_operator_command_gets_exactly_one_outcome_and_duplicates_get_none(
    sequence: list[tuple[str, Mode, int, bool]],
) -> None:
    remembered: set[str] = set()
    for current, transition, _before, _ in run(sequence):
        if isinstance(current, DeadlineReached) or current.type not in OPERATOR:
            continue
        naming = [e for e in transition.events if e.command_id == current.command_id]
        if current.command_id in remembered:
            assert naming == []
        else:
            assert len(naming) == 1
            assert isinstance(naming[0], StatusChanged | CommandRejected | ScheduleChanged)
        # A command for a job that does not exist has no record to be remembered in
        # (docs/state-table.md says so); every other one is remembered.
        if transition.record is not None:
            remembered.add(current.command_id)


@settings(max_examples=1000)
@given(steps)
def test_replaying_the_same_inputs_gives_the_same_records_and_events(
    sequence: list[tuple[str, Mode, int, bool]],
) -> None:
    record: JobRecord | None = None
    for current, transition, _, now in run(sequence):
        replayed = apply(record, current, now)
        assert replayed == transition
        record = replayed.record


_IN_SNAPSHOT = (StageState.RUNNING, StageState.NOT_STARTED)
_IN_CDC = (StageState.COMPLETED, StageState.RUNNING)
_PAUSED_IN_SNAPSHOT = (StageState.PAUSED, StageState.NOT_STARTED)
_PAUSED_IN_CDC = (StageState.COMPLETED, StageState.PAUSED)
EXPECTED_STAGES = {
    Status.NOT_STARTED: {(StageState.NOT_STARTED, StageState.NOT_STARTED)},
    Status.SNAPSHOT_RUNNING: {_IN_SNAPSHOT},
    Status.CANCELLING: {_IN_SNAPSHOT, _PAUSED_IN_SNAPSHOT},
    Status.SNAPSHOT_CANCELLED: {(StageState.CANCELLED, StageState.NOT_STARTED)},
    Status.COMPLETED: {(StageState.COMPLETED, StageState.NOT_STARTED)},
    Status.CDC_RUNNING: {_IN_CDC},
    Status.CDC_COMPLETING: {_IN_CDC, _PAUSED_IN_CDC},
    Status.CDC_COMPLETED: {(StageState.COMPLETED, StageState.COMPLETED)},
    Status.PAUSING: {_IN_SNAPSHOT, _IN_CDC},
    Status.PAUSED: {_PAUSED_IN_SNAPSHOT, _PAUSED_IN_CDC},
    Status.RESUMING: {_PAUSED_IN_SNAPSHOT, _PAUSED_IN_CDC},
}


@settings(max_examples=1500)
@given(steps)
def test_records_and_events_always_agree_with_the_status(
    sequence: list[tuple[str, Mode, int, bool]],
) -> None:
    for _, transition, before, _ in run(sequence):
        record = transition.record
        if record is None:
            continue
        stages = (record.stages.snapshot, record.stages.cdc)
        if record.status is Status.FAILED:
            assert StageState.FAILED in stages
        else:
            assert stages in EXPECTED_STAGES[record.status]
        assert (record.stop is not None) == record.status.stopping
        assert (record.change is not None) == record.status.changing
        if record.status.terminal or record.status.stopping:
            assert record.scheduled is None, "a stop replaces a schedule; an end removes it"
        assert (record.temp_data is not None) == (
            record.stage is Stage.CDC and not record.status.terminal
        )
        for event in transition.events:
            assert event.status is record.status and event.status_label == record.status.label
            if isinstance(event, StatusChanged):
                assert event.previous_status == (before.status if before else None)
                assert event.stats == record.stats
        if before is not None and before.stop is not None and record.stop is None:
            # The event that ends a stop names the stop it completes.
            assert [e.completes_command_id for e in transition.events] == [before.stop.command_id]
        if before is not None and before.change is not None and record.change is None:
            # So does the event that ends a pause or resume (confirmed, expired or failed).
            assert [e.completes_command_id for e in transition.events] == [before.change.command_id]


@settings(max_examples=1500)
@given(steps)
def test_a_paused_job_ends_only_through_a_stop_or_a_failure(
    sequence: list[tuple[str, Mode, int, bool]],
) -> None:
    """From PAUSED until a resume is accepted, a final status comes only after CANCELLING or
    CDC_COMPLETING (a stop command), or as FAILED; nor does a paused job enter CDC."""
    paused = False
    for _, transition, before, _ in run(sequence):
        record = transition.record
        if record is None:
            continue
        if paused and record.status.terminal:
            assert record.status is Status.FAILED or (before is not None and before.status.stopping)
        if paused and record.status is not Status.FAILED and before is not None:
            assert not (before.stage is Stage.SNAPSHOT and record.stage is Stage.CDC)
        if record.status is Status.PAUSED:
            paused = True
        elif record.status is Status.RESUMING or record.status.terminal:
            paused = False


@settings(max_examples=500)
@given(steps)
def test_status_changed_at_moves_exactly_when_the_status_does(
    sequence: list[tuple[str, Mode, int, bool]],
) -> None:
    for _, transition, before, now in run(sequence):
        record = transition.record
        if record is None or before is None:
            continue
        if record.status is not before.status:
            assert record.status_changed_at == now
        else:
            assert record.status_changed_at == before.status_changed_at


@settings(max_examples=1500)
@given(steps)
def test_a_draining_stop_ends_by_its_maximum_and_its_deadline_never_moves_back(
    sequence: list[tuple[str, Mode, int, bool]],
) -> None:
    """However many `draining` reports come, a stop is forced by stop_deadline_max after its
    request; each extension is announced, moves the deadline forward, and keeps the status."""
    for _, transition, before, now in run(sequence):
        record = transition.record
        if record is None or record.stop is None:
            continue
        stop = record.stop
        assert stop.deadline_at <= stop.requested_at + DEFAULT_RULES.stop_deadline_max
        extended = [e for e in transition.events if isinstance(e, StopExtended)]
        if (
            before is not None
            and before.stop is not None
            and before.stop.command_id == (stop.command_id)
        ):
            assert stop.deadline_at >= before.stop.deadline_at
            moved = stop.deadline_at > before.stop.deadline_at
            assert bool(extended) == moved
            if moved:
                assert extended[0].deadline_at == stop.deadline_at
                assert extended[0].stop_command_id == stop.command_id
                assert record.status is before.status
                assert stop.deadline_at == min(
                    now + DEFAULT_RULES.stop_deadline,
                    stop.requested_at + DEFAULT_RULES.stop_deadline_max,
                )
        else:
            assert not extended
