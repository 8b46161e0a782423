"""Retention of ended jobs, as a consumer of the topics sees it: the record of a job that ended
goes from the state topic (a tombstone) with a `job_expired` event once the retention period has
passed; a job that has not ended stays; the expired id is unknown to commands, and free for a
new job."""

from __future__ import annotations

import signal
from collections.abc import Callable

from tests.integration.harness import (
    ControlProducer,
    EventReader,
    TopicReader,
    WorkerProcess,
    latest_records,
)

RETENTION = 3  # seconds


def test_an_ended_job_expires_after_the_retention_period_and_a_running_one_stays(
    start_worker: Callable[..., WorkerProcess],
    control: ControlProducer,
    events: EventReader,
    state_reader: TopicReader,
) -> None:
    worker = start_worker(ended_job_retention=RETENTION, stop_deadline=1)
    control.send("cancelled", "create", mode="snapshot")
    control.send("cancelled", "snapshot_started")
    terminate = control.send("cancelled", "terminate", requested_by="alice")
    control.send("running", "create", mode="continuous")
    control.send("running", "snapshot_started")
    control.flush()
    _, ended = events.wait_for_command(terminate, count=2)  # forced at the 1 s deadline
    assert ended["status"] == "SNAPSHOT_CANCELLED"

    events.read_until(
        lambda: any(e["type"] == "job_expired" for e in events.for_job("cancelled")),
        30,
        "the ended job to expire",
    )
    (expired,) = [e for e in events.for_job("cancelled") if e["type"] == "job_expired"]
    assert (expired["status"], expired["status_label"]) == (
        "SNAPSHOT_CANCELLED",
        "Snapshot cancelled",
    )
    assert expired["ended_at"] == ended["occurred_at"]
    assert expired["retention_seconds"] == RETENTION
    state_reader.read_until(
        lambda: (
            "cancelled" in latest_records(state_reader)
            and latest_records(state_reader)["cancelled"] is None
        ),
        30,
        "the tombstone of the expired job",
    )
    running = latest_records(state_reader)["running"]
    assert running is not None and running.status.value == "SNAPSHOT_RUNNING"

    # A restarted worker restores the state topic without the expired job: its id is unknown.
    worker.kill(signal.SIGKILL)
    worker.start()
    resume = control.send("cancelled", "resume", requested_by="alice")
    control.flush()
    (rejected,) = events.wait_for_command(resume)
    assert (rejected["type"], rejected["code"]) == ("command_rejected", "unknown_job")
    assert "retention period" in rejected["reason"]
    # The id is free: a create starts a new job under it.
    create = control.send("cancelled", "create", mode="snapshot")
    control.flush()
    (created,) = events.wait_for_command(create)
    assert (created["type"], created["status"], created["previous_status"]) == (
        "status_changed",
        "NOT_STARTED",
        None,
    )
    assert not [e for e in events.for_job("running") if e["type"] == "job_expired"]
