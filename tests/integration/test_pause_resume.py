"""Pause and resume through the CLI, against a real worker and the reference runner."""

from __future__ import annotations

from collections.abc import Callable

from tests.integration.harness import ControlProducer, SyncctlProcess, Topics, WorkerProcess
from tests.integration.test_cli_and_client import Cli, wait_for_status

from syncctl import SyncJobsClient
from syncctl.contract import StageState, Status
from syncctl.settings import KafkaSettings


def make_client(kafka_bootstrap: str, topics: Topics) -> SyncJobsClient:
    return SyncJobsClient(
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap), topics=topics.settings()
    )


def test_pause_then_resume_a_snapshot_with_wait_and_the_copy_stops_meanwhile(
    kafka_bootstrap: str,
    topics: Topics,
    start_worker: Callable[..., WorkerProcess],
    start_runner: Callable[..., SyncctlProcess],
    syncctl: Cli,
) -> None:
    client = make_client(kafka_bootstrap, topics)
    start_worker()
    start_runner(rows_per_second=200, stop_delay=1.0)  # minutes of snapshot
    client.wait_for_outcome(client.create("ledger", "snapshot"), timeout=30)
    wait_for_status(client, "ledger", Status.SNAPSHOT_RUNNING)

    paused = syncctl("pause", "ledger", "--wait")
    assert paused.returncode == 0, paused.stdout + paused.stderr
    assert "Snapshot running → Pausing" in paused.stdout and "by tester" in paused.stdout
    assert "Pausing → Paused" in paused.stdout.splitlines()[-1]
    record = wait_for_status(client, "ledger", Status.PAUSED)
    assert record.stages.snapshot is StageState.PAUSED
    listed = syncctl("jobs")
    assert "Paused" in listed.stdout and "terminate" in listed.stdout  # a paused snapshot can end

    again = syncctl("pause", "ledger", "--wait")
    assert again.returncode == 1 and "already_paused" in again.stdout

    resumed = syncctl("resume", "ledger", "--wait")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "Paused → Resuming" in resumed.stdout
    assert "Resuming → Snapshot running" in resumed.stdout.splitlines()[-1]
    assert (
        wait_for_status(client, "ledger", Status.SNAPSHOT_RUNNING).stages.snapshot
        is StageState.RUNNING
    )


def test_a_pause_the_engine_never_confirms_expires_and_the_job_keeps_running(
    kafka_bootstrap: str,
    topics: Topics,
    start_worker: Callable[..., WorkerProcess],
    syncctl: Cli,
    control: ControlProducer,
) -> None:
    client = make_client(kafka_bootstrap, topics)
    start_worker(stop_deadline=2)
    client.wait_for_outcome(client.create("quiet", "snapshot"), timeout=30)
    control.send("quiet", "snapshot_started")  # an engine that then stops answering
    control.flush()
    wait_for_status(client, "quiet", Status.SNAPSHOT_RUNNING)

    result = syncctl("pause", "quiet", "--wait")
    assert result.returncode == 1, result.stdout + result.stderr
    last = result.stdout.splitlines()[-1]
    assert "Pausing → Snapshot running" in last and "forced" in last
    record = wait_for_status(client, "quiet", Status.SNAPSHOT_RUNNING)
    assert record.reason is not None and "did not confirm the pause" in record.reason
