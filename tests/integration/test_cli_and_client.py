"""The user's side, end to end: CLI and client against a real broker, worker and runner."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from tests.integration.harness import (
    SyncctlProcess,
    Topics,
    WorkerProcess,
    messages_in,
    syncctl_env,
    wait_until,
)

from syncctl import Selector, SyncJobsClient
from syncctl.contract import CommandRejected, JobRecord, RejectionCode, Status, StatusChanged
from syncctl.errors import KafkaUnavailable
from syncctl.local import free_port

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def client(kafka_bootstrap: str, topics: Topics) -> SyncJobsClient:
    return SyncJobsClient(
        kafka_bootstrap,
        topics=topics.settings(),
        requested_by="tester",
    )


def wait_for_status(
    client: SyncJobsClient, job_id: str, status: Status, timeout: float = 60
) -> JobRecord:
    found: list[JobRecord] = []

    def reached() -> bool:
        found[:] = [r for r in client.jobs() if r.job_id == job_id and r.status is status]
        return bool(found)

    wait_until(reached, timeout, f"{job_id} to be {status.label}", interval=0.3)
    return found[0]


def test_terminate_wait_follows_the_job_to_snapshot_cancelled_and_exits_0(
    start_worker: Callable[..., WorkerProcess],
    start_runner: Callable[..., SyncctlProcess],
    syncctl: Cli,
    client: SyncJobsClient,
) -> None:
    start_worker()
    start_runner(rows_per_second=50)  # slow enough to still be in the snapshot stage
    created = syncctl("create", "orders", "--mode", "snapshot", "--wait")
    assert created.returncode == 0, created.stderr
    assert "created → Not started" in created.stdout
    wait_for_status(client, "orders", Status.SNAPSHOT_RUNNING)

    result = syncctl("terminate", "orders", "--wait")

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("terminate sent for orders (command ")
    assert "Snapshot running → Cancelling" in lines[1] and "by tester" in lines[1]
    assert "Cancelling → Snapshot cancelled" in lines[-1] and "by reference-runner" in lines[-1]
    assert "forced" not in result.stdout


def test_complete_cdc_wait_ends_in_cdc_completed_and_exits_0(
    start_worker: Callable[..., WorkerProcess],
    start_runner: Callable[..., SyncctlProcess],
    syncctl: Cli,
    client: SyncJobsClient,
) -> None:
    start_worker()
    start_runner(rows_per_second=1_000_000)  # reaches CDC at once
    client.create("customers", "continuous")
    wait_for_status(client, "customers", Status.CDC_RUNNING)

    result = syncctl("complete-cdc", "customers", "--wait")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "CDC running → Completing CDC" in result.stdout
    assert "Completing CDC → CDC Completed" in result.stdout.splitlines()[-1]
    record = wait_for_status(client, "customers", Status.CDC_COMPLETED)
    assert record.temp_data is None and record.engine_temp_data_cleaned is True


def test_a_rejected_stop_prints_the_reason_and_exits_1(
    start_worker: Callable[..., WorkerProcess], syncctl: Cli, client: SyncJobsClient
) -> None:
    start_worker()
    client.wait_for_outcome(client.create("snap-only", "snapshot"))

    result = syncctl("complete-cdc", "snap-only", "--wait")

    assert result.returncode == 1
    assert "complete_cdc rejected (wrong_stage)" in result.stdout
    assert "use terminate to stop it" in result.stdout


def test_a_stop_that_does_not_finish_in_time_exits_2_after_showing_cancelling(
    start_worker: Callable[..., WorkerProcess], syncctl: Cli, client: SyncJobsClient
) -> None:
    start_worker()  # no runner: nobody confirms the stop, and the deadline is 60 s away
    client.create("stuck", "snapshot")
    from datetime import UTC, datetime

    from syncctl.contract import SnapshotStarted

    client.send(
        SnapshotStarted(command_id="started-1", job_id="stuck", issued_at=datetime.now(UTC))
    )
    wait_for_status(client, "stuck", Status.SNAPSHOT_RUNNING)

    result = syncctl("terminate", "stuck", "--wait", "--timeout", "3")

    assert result.returncode == 2
    assert "Snapshot running → Cancelling" in result.stdout
    assert "no final status within" in result.stderr and "syncctl watch" in result.stderr


def test_no_broker_and_a_bad_job_id_are_one_line_and_exit_2(syncctl: Cli) -> None:
    closed_port = free_port()
    no_broker = syncctl("jobs", "--bootstrap-servers", f"127.0.0.1:{closed_port}")
    bad_id = syncctl("terminate", "orders 2026")

    assert no_broker.returncode == 2
    assert (
        no_broker.stderr.strip()
        .splitlines()[-1]
        .startswith(f"syncctl: no Kafka broker answered at 127.0.0.1:{closed_port}")
    )
    assert bad_id.returncode == 2
    assert "job id 'orders 2026' is not valid" in bad_id.stderr
    assert "Traceback" not in no_broker.stderr + bad_id.stderr


@pytest.mark.parametrize("timeout", ["-1", "0", "0.5"])
def test_a_wait_that_cannot_be_kept_is_refused_before_anything_is_sent(
    kafka_bootstrap: str, topics: Topics, syncctl: Cli, timeout: str
) -> None:
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    admin.create_topics([NewTopic(topics.control, 1, 1)])[topics.control].result(30)

    result = syncctl("terminate", "orders-1", "--wait", "--timeout", timeout)

    assert result.returncode == 2
    assert "--timeout" in result.stderr and "sent" not in result.stdout
    assert messages_in(kafka_bootstrap, topics.control) == 0, "the command reached Kafka"


def test_jobs_lists_every_job_as_a_table_and_as_json(
    start_worker: Callable[..., WorkerProcess], syncctl: Cli, client: SyncJobsClient
) -> None:
    start_worker()
    client.wait_for_outcome(client.create("alpha", "snapshot"))
    client.wait_for_outcome(client.create("beta", "continuous"))
    client.wait_for_outcome(client.terminate("alpha"))

    table = syncctl("jobs")
    as_json = syncctl("jobs", "--json")

    assert table.returncode == 0, table.stderr
    # Newest change first: alpha was terminated after beta was created.
    header, *rows = table.stdout.splitlines()
    assert header.split() == [
        "JOB",
        "MODE",
        "STATUS",
        "STAGE",
        "PROGRESS",
        "LAST",
        "CHANGE",
        "ASKED",
        "BY",
        "NEXT",
    ]
    assert rows[0].split()[:5] == ["alpha", "snapshot", "Snapshot", "cancelled", "snapshot"]
    assert rows[0].split()[-2:] == ["tester", "—"], "a stopped job has nothing next"
    assert rows[1].split()[:5] == ["beta", "continuous", "Not", "started", "snapshot"]
    assert rows[1].split()[-1] == "terminate", "a job not started yet can only be terminated"
    records = [JobRecord.model_validate_json(line) for line in as_json.stdout.splitlines()]
    assert {r.job_id: r.status for r in records} == {
        "alpha": Status.SNAPSHOT_CANCELLED,
        "beta": Status.NOT_STARTED,
    }


def test_a_jobs_spec_is_kept_on_its_record_and_told_to_engines_in_its_first_event_only(
    start_worker: Callable[..., WorkerProcess], syncctl: Cli, client: SyncJobsClient
) -> None:
    start_worker()
    created = syncctl(
        "create",
        "with-spec",
        "--mode",
        "continuous",
        "--drop-destination",
        "--source",
        "shop",
        "--table",
        "public.orders",
        "--table",
        "public.items",
        "--destination",
        "archive",
        "--database",
        "shop-copy",
        "--wait",
    )
    assert created.returncode == 0, created.stderr
    command_id = created.stdout.split("(command ")[1].split(")")[0]
    stop = client.terminate("with-spec")
    client.wait_for_outcome(stop)

    (record,) = [
        JobRecord.model_validate_json(line)
        for line in syncctl("jobs", "--json").stdout.splitlines()
    ]
    expected = {
        "source": "shop",
        "tables": ["public.orders", "public.items"],
        "destination": "archive",
        "database": "shop-copy",
    }
    assert record.spec is not None and record.spec.model_dump(mode="json") == expected
    first = client.wait_for_outcome(command_id)
    assert isinstance(first, StatusChanged) and first.drop_destination is True
    assert first.spec is not None and first.spec.model_dump(mode="json") == expected
    later = client.wait_for_outcome(stop)
    assert (
        isinstance(later, StatusChanged) and later.spec is None and later.drop_destination is None
    )


def test_an_incomplete_or_malformed_spec_is_refused_before_anything_is_sent(
    kafka_bootstrap: str, topics: Topics, syncctl: Cli
) -> None:
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    admin.create_topics([NewTopic(topics.control, 1, 1)])[topics.control].result(30)

    partial = syncctl("create", "j1", "--mode", "snapshot", "--source", "shop")
    malformed = syncctl(
        "create",
        "j1",
        "--mode",
        "snapshot",
        "--source",
        "shop",
        "--table",
        "orders",
        "--destination",
        "archive",
        "--database",
        "shop",
    )

    assert (
        partial.returncode == 2
        and "a spec needs --table, --destination, --database" in partial.stderr
    )
    assert (
        malformed.returncode == 2
        and "table 'orders' is not valid: name it schema.table" in malformed.stderr
    )
    assert messages_in(kafka_bootstrap, topics.control) == 0


def test_watch_prints_one_readable_line_per_event_as_it_happens(
    kafka_bootstrap: str,
    topics: Topics,
    start_worker: Callable[..., WorkerProcess],
    client: SyncJobsClient,
) -> None:
    start_worker()
    client.wait_for_outcome(client.create("other", "snapshot"))  # makes the events topic
    import os

    watch = subprocess.Popen(
        [sys.executable, "-m", "syncctl", "watch", "watched"],
        env={**os.environ, **syncctl_env(kafka_bootstrap, topics)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert watch.stderr is not None
        assert watch.stderr.readline().startswith("watching events of watched")
        client.create("watched", "snapshot")
        client.terminate("other")
        client.terminate("watched")
        assert watch.stdout is not None
        first, second = watch.stdout.readline(), watch.stdout.readline()
    finally:
        watch.terminate()
        watch.wait(10)
    assert "watched  created → Not started  (by tester)" in first
    assert "watched  Not started → Snapshot cancelled  (by tester)" in second


def test_client_wait_for_outcome_returns_typed_accepts_and_rejects(
    start_worker: Callable[..., WorkerProcess], client: SyncJobsClient
) -> None:
    start_worker()
    accepted = client.wait_for_outcome(client.create("typed", "snapshot"), timeout=30)
    rejected = client.wait_for_outcome(client.create("typed", "continuous"), timeout=30)

    assert isinstance(accepted, StatusChanged) and accepted.status is Status.NOT_STARTED
    assert isinstance(rejected, CommandRejected) and rejected.code is RejectionCode.JOB_EXISTS
    assert "choose another job id (e.g. typed-v2)" in rejected.reason


def test_the_client_says_clearly_when_no_broker_answers() -> None:
    client = SyncJobsClient(f"127.0.0.1:{free_port()}")
    with pytest.raises(KafkaUnavailable, match="no Kafka broker answered"):
        client.terminate("orders")


def test_watch_json_lines_are_events(
    kafka_bootstrap: str,
    topics: Topics,
    start_worker: Callable[..., WorkerProcess],
    client: SyncJobsClient,
    syncctl: Cli,
) -> None:
    start_worker()
    client.wait_for_outcome(client.create("json-job", "snapshot"))
    import os

    watch = subprocess.Popen(
        [sys.executable, "-m", "syncctl", "watch", "--json", "--from-beginning"],
        env={**os.environ, **syncctl_env(kafka_bootstrap, topics)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert watch.stdout is not None
        event = json.loads(watch.stdout.readline())
    finally:
        watch.terminate()
        watch.wait(10)
    assert (event["type"], event["job_id"], event["status"]) == (
        "status_changed",
        "json-job",
        "NOT_STARTED",
    )


def test_hostile_text_from_the_topics_reaches_the_terminal_with_its_escapes_visible(
    kafka_bootstrap: str,
    topics: Topics,
    start_worker: Callable[..., WorkerProcess],
    syncctl: Cli,
) -> None:
    start_worker()
    hostile = "mallory\x1b[31m\x1b]0;owned\x07"
    # Anyone who may write to the control topic chooses requested_by.
    writer = SyncJobsClient(kafka_bootstrap, topics=topics.settings(), requested_by=hostile)
    writer.wait_for_outcome(writer.create("hostile-1", "continuous"), timeout=30)

    listed = syncctl("jobs")
    waited = syncctl("terminate", "hostile-1", "--wait", "--timeout", "5", "--by", hostile)

    for output in (listed.stdout, waited.stdout):
        assert "\x1b" not in output and "\x07" not in output
        assert "mallory\\x1b[31m\\x1b]0;owned\\x07" in output
    row = next(line for line in listed.stdout.splitlines() if line.startswith("hostile-1"))
    assert row.split()[1:3] == ["continuous", "Not"]  # columns still line up


def test_jobs_filters_limits_to_the_newest_changes_and_says_how_many_more_match(
    start_worker: Callable[..., WorkerProcess], syncctl: Cli, client: SyncJobsClient
) -> None:
    start_worker()
    for job_id, mode in (
        ("orders-1", "snapshot"),
        ("orders-2", "snapshot"),
        ("orders-3", "snapshot"),
        ("stream-1", "continuous"),
    ):
        client.wait_for_outcome(client.create(job_id, mode), timeout=30)
    # Changed last, in this order: orders-3 is the newest change, then orders-1.
    client.wait_for_outcome(client.terminate("orders-1"), timeout=30)
    client.wait_for_outcome(client.terminate("orders-3"), timeout=30)

    table = syncctl("jobs", "--status", "NOT_STARTED,snapshot_cancelled", "--limit", "2")
    assert table.returncode == 0, table.stderr
    header, *rows, more = table.stdout.splitlines()
    assert header.startswith("JOB")
    assert [row.split()[0] for row in rows] == ["orders-3", "orders-1"]
    assert more == "… 2 more jobs match: use --limit or --all"

    narrowed = syncctl(
        "jobs", "--status", "NOT_STARTED", "--status", "PAUSED", "--selector", "mode=snapshot"
    )
    assert [r.split()[0] for r in narrowed.stdout.splitlines()[1:]] == ["orders-2"]

    as_json = syncctl("jobs", "--mode", "snapshot", "--limit", "2", "--json")
    assert as_json.returncode == 0, as_json.stderr
    records = [JobRecord.model_validate_json(line) for line in as_json.stdout.splitlines()]
    assert [r.job_id for r in records] == ["orders-3", "orders-1"]
    assert as_json.stderr.strip() == "… 1 more job matches: use --limit or --all"

    every = syncctl("jobs", "--all", "--json", "--prefix", "orders-")
    assert [json.loads(line)["job_id"] for line in every.stdout.splitlines()] == [
        "orders-3",
        "orders-1",
        "orders-2",
    ]
    assert every.stderr == ""
    page = client.list_jobs(limit=1)
    assert [r.job_id for r in page.records] == ["orders-3"]
    assert (page.total_matching, page.more) == (4, 3)
    assert client.select_ids(Selector.parse(["status=NOT_STARTED"])) == ["orders-2", "stream-1"]

    nothing = syncctl("jobs", "--status", "FAILED", "--prefix", "orders-")
    assert nothing.returncode == 0
    assert nothing.stdout.strip() == "no jobs match status=FAILED prefix=orders-"
