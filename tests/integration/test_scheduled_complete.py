"""A complete_cdc scheduled for later: accepted at once, applied at its time, across a restart."""

from __future__ import annotations

import signal
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from tests.integration.harness import SyncctlProcess, Topics, WorkerProcess
from tests.integration.test_cli_and_client import Cli, wait_for_status

from syncctl import SyncJobsClient
from syncctl.contract import CommandRejected, RejectionCode, Status
from syncctl.settings import KafkaSettings

FAST_SNAPSHOT = {"rows_per_second": 100_000, "rows_per_table_min": 100, "rows_per_table_max": 200}


def test_a_scheduled_complete_cdc_survives_a_worker_restart_and_completes_at_its_time(
    kafka_bootstrap: str,
    topics: Topics,
    start_worker: Callable[..., WorkerProcess],
    start_runner: Callable[..., SyncctlProcess],
    syncctl: Cli,
) -> None:
    client = SyncJobsClient(
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap), topics=topics.settings()
    )
    worker = start_worker()
    start_runner(**FAST_SNAPSHOT, stop_delay=0.5)
    client.wait_for_outcome(client.create("cutover", "continuous"), timeout=30)
    wait_for_status(client, "cutover", Status.CDC_RUNNING)

    at = datetime.now(UTC) + timedelta(seconds=12)
    scheduled = syncctl("complete-cdc", "cutover", "--at", at.isoformat(), "--wait")
    assert scheduled.returncode == 0, scheduled.stdout + scheduled.stderr
    assert "complete_cdc scheduled for" in scheduled.stdout and "by tester" in scheduled.stdout
    record = wait_for_status(client, "cutover", Status.CDC_RUNNING)
    assert record.scheduled is not None and record.scheduled.at == at
    assert "cancel-schedule" in syncctl("jobs").stdout  # what applies next

    # The worker dies and comes back before the time: the schedule is in the job's record.
    worker.kill(signal.SIGKILL)
    worker.start()
    final = wait_for_status(client, "cutover", Status.CDC_COMPLETED, timeout=60)
    assert final.status_changed_at is not None and final.status_changed_at >= at
    assert final.last_requested_by == "tester"


def test_a_schedule_can_be_cancelled_and_a_past_time_is_refused(
    kafka_bootstrap: str,
    topics: Topics,
    start_worker: Callable[..., WorkerProcess],
    start_runner: Callable[..., SyncctlProcess],
    syncctl: Cli,
) -> None:
    client = SyncJobsClient(
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap), topics=topics.settings()
    )
    start_worker()
    start_runner(**FAST_SNAPSHOT, stop_delay=0.5)
    client.wait_for_outcome(client.create("nightly", "continuous"), timeout=30)
    wait_for_status(client, "nightly", Status.CDC_RUNNING)

    past = syncctl("complete-cdc", "nightly", "--at", "2020-01-01T00:00:00Z", "--wait")
    assert past.returncode == 2 and "is in the past" in past.stderr  # checked before sending
    assert "sent for" not in past.stdout
    # Sent anyway (another client, or a clock behind): the worker refuses it with the reason.
    sent = client.complete_cdc("nightly", at=datetime(2020, 1, 1, tzinfo=UTC))
    rejected = client.wait_for_outcome(sent, timeout=30)
    assert isinstance(rejected, CommandRejected) and rejected.code is RejectionCode.INVALID_SCHEDULE
    naive = syncctl("complete-cdc", "nightly", "--at", "2030-01-01T00:00:00")
    assert naive.returncode == 2 and "no time zone" in naive.stderr

    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    assert syncctl("complete-cdc", "nightly", "--at", later, "--wait").returncode == 0
    cancelled = syncctl("cancel-schedule", "nightly", "--wait")
    assert cancelled.returncode == 0, cancelled.stdout + cancelled.stderr
    assert "scheduled complete_cdc cancelled" in cancelled.stdout
    assert wait_for_status(client, "nightly", Status.CDC_RUNNING).scheduled is None
    again = syncctl("cancel-schedule", "nightly", "--wait")
    assert again.returncode == 1 and "no_schedule" in again.stdout
