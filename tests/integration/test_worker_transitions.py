"""Every outcome in docs/state-table.md that users can see, seen on the events topic."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from tests.integration.harness import ControlProducer, EventReader, WorkerProcess
from tests.unit.machine.journeys import PATHS
from tests.unit.machine.test_state_table import ROWS, Row

from syncctl.contract import Mode, Status

SCHEDULE_IN = 5  # seconds from sending a complete_cdc (at) to its time
# The retention rows take a worker whose ended jobs expire in seconds, which would change what
# the other rows see: test_retention.py drives them.
VISIBLE_ROWS = [
    row
    for row in ROWS
    if (row.event != "—" or row.input != "deadline (not due)")
    and not row.input.startswith("retention")
]


def drive(
    control: ControlProducer, job_id: str, row: Row, wait_for: Callable[[str], object]
) -> tuple[str | None, str]:
    """Bring a new job to the row's status, send the row's input, then a sentinel.

    Returns the command_id whose events answer the row (for a deadline: the pending stop's) and
    the sentinel's command_id: a `create` that always gets an outcome, and that comes after the
    row's input in the job's partition, so once it is answered the row's input was processed.
    """
    stop_id: str | None = None
    if row.status is not None:
        control.send(job_id, "create", mode=row.mode.value)
        for kind in PATHS[row.status]:
            sent = control.send(job_id, kind.split(" ")[0], **fields(kind))
            if kind in ("terminate", "complete_cdc", "pause", "resume", "complete_cdc (at)"):
                stop_id = sent  # what a deadline row's later event names
    kind = row.input
    if kind == "draining" and stop_id is not None:
        # A drain report moves a stop's deadline only when it comes after the stop: in one
        # batch with it, the worker's clock has not moved.
        wait_for(stop_id)
    if kind.startswith("deadline"):
        answered = stop_id
    else:
        answered = control.send(job_id, kind.split(" ")[0], **fields(kind, row.mode))
    sentinel = control.send(job_id, "create", mode="snapshot")
    return answered, sentinel


def fields(kind: str, mode: Mode = Mode.SNAPSHOT) -> dict[str, object]:
    return {
        "create": {"mode": mode.value},
        "progress": {"stats": {"tables_done": 2, "rows_migrated": 500}},
        "failed": {"error": "source database went away"},
        "stopped": {"temp_data_cleaned": True},
        "terminate": {"requested_by": "alice"},
        "complete_cdc": {"requested_by": "alice"},
        "pause": {"requested_by": "alice"},
        "resume": {"requested_by": "alice"},
        "cancel_schedule": {"requested_by": "alice"},
        # Due a little after the row's input is processed: the deadline rows wait for it.
        "complete_cdc (at)": {
            "requested_by": "alice",
            "at": (datetime.now(UTC) + timedelta(seconds=SCHEDULE_IN)).isoformat(),
        },
    }.get(kind, {})


def test_every_state_table_row_is_what_a_consumer_of_the_events_topic_sees(
    start_worker: Callable[..., WorkerProcess], control: ControlProducer, events: EventReader
) -> None:
    start_worker(stop_deadline=3)

    def stop_seen(command_id: str) -> None:
        control.flush()
        events.wait_for_command(command_id)

    cases = []
    for number, row in enumerate(VISIBLE_ROWS):
        job_id = f"row-{number}"
        answered, sentinel = drive(control, job_id, row, stop_seen)
        cases.append((row, job_id, answered, sentinel))
    control.flush()

    sentinels = [sentinel for *_, sentinel in cases]
    events.read_until(
        lambda: all(events.for_command(s) for s in sentinels), 60, "every sentinel answered"
    )
    # A deadline row is answered by a later event naming the same command as the path's stop,
    # pause, resume or schedule: the forced end, or the scheduled command applied.
    due = [
        answered
        for row, _, answered, _ in cases
        if row.input == "deadline (due)" and row.event != "—"
    ]
    events.read_until(
        lambda: all(len(events.for_command(a)) >= 2 for a in due),
        30,
        "deadlines and schedules to fire",
    )

    for row, job_id, answered, _ in cases:
        named = events.for_command(answered) if answered else []
        # A due deadline's event is the second naming the command (a scheduled complete_cdc
        # applied may be followed by its own stop forced at the 3 s deadline: a third).
        seen = named[1:2] if row.input == "deadline (due)" else named[:1]
        if row.event == "—":
            if answered is not None and row.input != "deadline (due)":
                assert seen == [], (row, seen)
            continue
        assert len(seen) == 1, (row, seen)
        event = seen[0]
        expected_type, _, code = row.event.partition(" ")
        assert event["type"] == expected_type, row
        if expected_type == "command_rejected":
            assert event["code"] == code.strip("`").split("`")[0], row
            assert event["reason"], row
        elif expected_type == "schedule_changed":
            assert event["status"] == row.new_status, row
        elif expected_type == "stop_extended":
            assert event["status"] == row.new_status, row
            moved_to = datetime.fromisoformat(event["deadline_at"])
            assert moved_to > datetime.fromisoformat(event["occurred_at"]), row
        else:
            assert event["status"] == row.new_status, row
            assert event["status_label"] == Status(row.new_status).label, row
            assert event["forced"] is ("forced" in row.event), row
        assert event["job_id"] == job_id


def test_a_terminate_that_the_engine_never_confirms_is_forced_at_the_deadline_with_partial_progress(
    start_worker: Callable[..., WorkerProcess], control: ControlProducer, events: EventReader
) -> None:
    start_worker(stop_deadline=2)
    control.send("slow-engine", "create", mode="snapshot")
    control.send("slow-engine", "snapshot_started")
    control.send(
        "slow-engine",
        "progress",
        stats={"tables_total": 10, "tables_done": 4, "rows_migrated": 9000},
    )
    terminate = control.send("slow-engine", "terminate", requested_by="bob")
    control.flush()

    first, final = events.wait_for_command(terminate, count=2, timeout=30)
    assert (first["status"], first["forced"]) == ("CANCELLING", False)
    assert (final["status"], final["status_label"], final["forced"]) == (
        "SNAPSHOT_CANCELLED",
        "Snapshot cancelled",
        True,
    )
    assert final["stats"] == {
        "tables_total": 10,
        "tables_done": 4,
        "rows_migrated": 9000,
        "events_seen": None,
    }
    assert final["completes_command_id"] == terminate
    assert final["stages"] == {"snapshot": "CANCELLED", "cdc": "NOT_STARTED"}


def test_complete_cdc_confirmed_by_the_engine_marks_every_stage_completed(
    start_worker: Callable[..., WorkerProcess], control: ControlProducer, events: EventReader
) -> None:
    start_worker()
    control.send("cdc-job", "create", mode="continuous")
    control.send("cdc-job", "snapshot_started")
    control.send("cdc-job", "snapshot_completed")
    control.send("cdc-job", "progress", stats={"events_seen": 42})
    complete = control.send("cdc-job", "complete_cdc")
    stopped = control.send("cdc-job", "stopped", temp_data_cleaned=True)
    control.flush()

    (final,) = events.wait_for_command(stopped)
    assert (final["status"], final["status_label"], final["forced"]) == (
        "CDC_COMPLETED",
        "CDC Completed",
        False,
    )
    assert final["stages"] == {"snapshot": "COMPLETED", "cdc": "COMPLETED"}
    assert final["completes_command_id"] == complete


def test_a_resent_command_is_answered_once(
    start_worker: Callable[..., WorkerProcess], control: ControlProducer, events: EventReader
) -> None:
    start_worker()
    create = control.send("dup-job", "create", mode="snapshot")
    control.send("dup-job", "snapshot_started")
    terminate = control.send("dup-job", "terminate")
    control.send("dup-job", "terminate", command_id=terminate)
    control.send("dup-job", "create", mode="snapshot", command_id=create)
    sentinel = control.send("dup-job", "terminate")
    control.flush()

    events.wait_for_command(sentinel)
    assert [e["status"] for e in events.for_command(create)] == ["NOT_STARTED"]
    assert [e["status"] for e in events.for_command(terminate)] == ["CANCELLING"]
    assert events.for_command(sentinel)[0]["code"] == "stop_in_progress"
