"""Commands for every job a selector matches: `syncctl pause|terminate|complete-cdc --selector`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

from tests.integration.harness import SyncctlProcess, Topics, WorkerProcess
from tests.integration.test_cli_and_client import Cli, wait_for_status

from syncctl import SyncJobsClient
from syncctl.contract import Status
from syncctl.kafka.reading import read_to_end
from syncctl.settings import KafkaSettings


def commands_of_type(bootstrap: str, topic: str, kind: str) -> int:
    """How many messages of the control topic are commands of `kind` (the runner's reports
    share the topic)."""
    reader = {"bootstrap.servers": bootstrap, "group.id": f"count-{uuid.uuid4()}"}
    values = [m.value() or b"" for m in read_to_end(reader, topic)]
    return sum(json.loads(value).get("type") == kind for value in values if value)


SHOP = {"source": "shop", "tables": ["public.orders"], "destination": "archive", "database": "x"}


def test_a_selector_sends_one_command_per_job_and_wait_reports_each_outcome(
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
    start_runner(rows_per_second=50, stop_delay=0.5)  # snapshots that last minutes
    for job_id, spec in (("shop-a", SHOP), ("shop-b", SHOP), ("crm-c", {**SHOP, "source": "crm"})):
        client.wait_for_outcome(client.create(job_id, "snapshot", spec=spec), timeout=30)
        wait_for_status(client, job_id, Status.SNAPSHOT_RUNNING)
    listed = syncctl("pause", "--selector", "source=shop", "--dry-run")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == "pause would be sent to 2 job(s): shop-a shop-b"
    assert commands_of_type(kafka_bootstrap, topics.control, "pause") == 0, "a dry run sent some"

    paused = syncctl("pause", "--selector", "source=shop", "--wait")
    assert paused.returncode == 0, paused.stdout + paused.stderr
    assert "  shop-a  Paused" in paused.stdout and "  shop-b  Paused" in paused.stdout
    assert paused.stdout.splitlines()[-1] == "2 done, 0 rejected, 0 unfinished"
    assert wait_for_status(client, "crm-c", Status.SNAPSHOT_RUNNING)  # not selected: untouched

    ended = syncctl(
        "terminate",
        "--selector",
        "status=PAUSED,SNAPSHOT_RUNNING",
        "--selector",
        "prefix=shop-",
        "--wait",
    )
    assert ended.returncode == 0, ended.stdout + ended.stderr
    assert ended.stdout.count("Snapshot cancelled") == 2

    refused = syncctl("complete-cdc", "--selector", "prefix=crm-", "--wait")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "not done" in refused.stdout and "wrong_stage" in refused.stdout
    assert refused.stdout.splitlines()[-1] == "0 done, 1 rejected, 0 unfinished"

    nothing = syncctl("terminate", "--selector", "owner=alice")
    assert nothing.returncode == 2
    assert "NAME one of status, mode, stage, prefix, source, asked_by" in nothing.stderr
