"""The least-privilege ACLs of docs/security.md are enough, and needed: they are parsed from the
page, applied to a broker that enforces ACLs, and a worker, an operator and a runner then work
with them, each as its own user."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)
from tests.integration.harness import (
    SyncctlProcess,
    processing,
    secure_kafka_settings,
    wait_until,
    wait_until_consuming,
)

from syncctl import SyncJobsClient
from syncctl.contract import CommandRejected, StatusChanged
from syncctl.errors import KafkaUnavailable
from syncctl.kafka.partitioning import partition_for
from syncctl.local import LocalKafka, free_port

REPO = Path(__file__).resolve().parents[2]
SECURITY_DOC = REPO / "docs" / "security.md"
_RESOURCES = {
    "--topic": ResourceType.TOPIC,
    "--group": ResourceType.GROUP,
    "--transactional-id": ResourceType.TRANSACTIONAL_ID,
}


def documented_acls() -> list[AclBinding]:
    """Every `kafka-acls … --add` command in docs/security.md, as the bindings it creates."""
    text = SECURITY_DOC.read_text().replace("\\\n", " ")
    bindings = []
    for line in text.splitlines():
        if not line.startswith("kafka-acls ") or "--add" not in line:
            continue
        words = shlex.split(line)
        principal, operations, resources = "", [], []
        pattern = ResourcePatternType.LITERAL
        for flag, value in zip(words, [*words[1:], ""], strict=True):
            if flag == "--allow-principal":
                principal = value
            elif flag == "--operation":
                operations.append(AclOperation[re.sub(r"(?<!^)(?=[A-Z])", "_", value).upper()])
            elif flag == "--cluster":
                resources.append((ResourceType.BROKER, "kafka-cluster"))
            elif flag in _RESOURCES:
                resources.append((_RESOURCES[flag], value))
            elif flag == "--resource-pattern-type":
                pattern = ResourcePatternType[value.upper()]
        for resource_type, name in resources:
            for operation in operations:
                bindings.append(
                    AclBinding(
                        resource_type,
                        name,
                        pattern,
                        principal,
                        "*",
                        operation,
                        AclPermissionType.ALLOW,
                    )
                )
    return bindings


@pytest.fixture(scope="module")
def kafka_with_acls() -> Iterator[LocalKafka]:
    with LocalKafka(
        lib_dir=REPO / ".local" / "kafka" / "lib", secure=True, authorizer=True
    ) as kafka:
        admin = AdminClient(kafka.client_config("admin"))
        # The page says: create the topics beforehand, or also grant Create. Here: beforehand.
        topics = [
            NewTopic(name, 12, 1)
            for name in ("syncjobs.control", "syncjobs.events", "syncjobs.control.dlq")
        ]
        topics.append(NewTopic("syncjobs.state", 12, 1, config={"cleanup.policy": "compact"}))
        for future in admin.create_topics(topics).values():
            future.result(30)
        yield kafka


def test_the_documented_acls_let_each_role_do_its_part_and_nothing_works_without_them(
    kafka_with_acls: LocalKafka,
) -> None:
    security = kafka_with_acls.security
    assert security is not None
    operator = SyncJobsClient(
        kafka=secure_kafka_settings(kafka_with_acls, "syncctl-operator"), requested_by="alice"
    )

    # Before any ACL: the operator may not even write a command, and is told what to grant.
    with pytest.raises(
        KafkaUnavailable,
        match=r"refused to let user 'syncctl-operator' write.*ACLs of docs/security\.md",
    ):
        operator.create("job-denied", "snapshot")

    bindings = documented_acls()
    principals = {binding.principal for binding in bindings}
    assert principals == {"User:syncctl-worker", "User:syncctl-operator", "User:syncctl-runner"}
    admin = AdminClient(kafka_with_acls.client_config("admin"))
    for future in admin.create_acls(bindings).values():
        future.result(30)

    http_port = free_port()
    env = {
        "SYNCCTL_HTTP__PORT": str(http_port),
        "SYNCCTL_HTTP__HOST": "127.0.0.1",
        "SYNCCTL_WORKER__INSTANCE_ID": "acl-worker",
        "SYNCCTL_RUNNER__STOP_DELAY": "0.5",
        "SYNCCTL_RUNNER__START_DELAY": "0.1",
        "SYNCCTL_RUNNER__ROWS_PER_SECOND": "100000",
    }
    worker = SyncctlProcess(["worker"], {**security.client_env("syncctl-worker"), **env})
    runner = SyncctlProcess(["runner"], {**security.client_env("syncctl-runner"), **env})
    env_bootstrap = {"SYNCCTL_KAFKA__BOOTSTRAP_SERVERS": kafka_with_acls.bootstrap_servers}
    worker.env.update(env_bootstrap)
    runner.env.update(env_bootstrap)
    try:
        worker.start()
        wait_until(lambda: processing(http_port), 60, "the worker's /readyz to report partitions")
        runner.start()
        wait_until_consuming(kafka_with_acls.client_config("admin"), "syncctl-runner", runner)
        created = operator.wait_for_outcome(operator.create("job-acl", "continuous"), timeout=60)
        assert isinstance(created, StatusChanged) and created.status == "NOT_STARTED"
        # A command on the wrong partition: the worker may forward it (Write on the control topic).
        misplaced = _create_on_wrong_partition(kafka_with_acls, "job-elsewhere")
        forwarded = operator.wait_for_outcome(misplaced, timeout=60)
        assert isinstance(forwarded, StatusChanged) and forwarded.status == "NOT_STARTED"
        # The runner (its own user) takes the job to CDC; the operator completes it.
        wait_until(
            lambda: any(
                r.job_id == "job-acl" and r.status == "CDC_RUNNING" for r in operator.jobs()
            ),
            60,
            "CDC",
        )
        completing = operator.wait_for_outcome(operator.complete_cdc("job-acl"), timeout=60)
        assert isinstance(completing, StatusChanged) and completing.status == "CDC_COMPLETING"
        wait_until(
            lambda: any(
                r.job_id == "job-acl" and r.status == "CDC_COMPLETED" for r in operator.jobs()
            ),
            60,
            "CDC Completed",
        )
        rejected = operator.wait_for_outcome(operator.terminate("job-acl"), timeout=60)
        assert isinstance(rejected, CommandRejected) and rejected.code == "already_stopped"
    finally:
        for process in (runner, worker):
            process.stop()
    logged = "".join(worker.raw_stderr + runner.raw_stderr)
    assert "uthorization" not in logged, logged[-3000:]


def _create_on_wrong_partition(kafka: LocalKafka, job_id: str) -> str:
    """What a third-party tool with an explicit (wrong) partition sends, as the operator user."""
    command_id = f"misplaced-{job_id}"
    value = json.dumps(
        {
            "command_id": command_id,
            "type": "create",
            "job_id": job_id,
            "mode": "snapshot",
            "issued_at": datetime.now(UTC).isoformat(),
        }
    ).encode()
    producer = Producer(kafka.client_config("syncctl-operator"))
    wrong = (partition_for(job_id.encode(), 12) + 1) % 12
    producer.produce("syncjobs.control", key=job_id.encode(), value=value, partition=wrong)
    assert producer.flush(30) == 0
    return command_id
