"""With signatures required, a forged or unsigned command never touches a job (docs/security.md)."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.integration.harness import (
    ControlProducer,
    EventReader,
    TopicReader,
    Topics,
    WorkerProcess,
)

from syncctl import SyncJobsClient
from syncctl.contract import StatusChanged
from syncctl.contract.signing import signature_headers
from syncctl.settings import KafkaSettings, SigningSettings

CURRENT, PREVIOUS = "ops-2026-11", "ops-2026-05"
KEYS = {CURRENT: "c" * 40, PREVIOUS: "p" * 40}


def _client(kafka_bootstrap: str, topics: Topics, key_id: str | None) -> SyncJobsClient:
    return SyncJobsClient(
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap),
        topics=topics.settings(),
        signing=SigningSettings(key_id=key_id, keys=KEYS),  # type: ignore[arg-type]
    )


def test_only_commands_signed_with_a_configured_key_reach_the_jobs(
    kafka_bootstrap: str,
    topics: Topics,
    start_worker: Callable[..., WorkerProcess],
    control: ControlProducer,
    events: EventReader,
) -> None:
    start_worker(
        env={"SYNCCTL_SIGNING__REQUIRED": "true", "SYNCCTL_SIGNING__KEYS": json.dumps(KEYS)}
    )
    signer = _client(kafka_bootstrap, topics, CURRENT)
    created = signer.wait_for_outcome(signer.create("job-1", "snapshot"), timeout=30)
    assert isinstance(created, StatusChanged) and created.status == "NOT_STARTED"

    # Unsigned, signed with an unknown key, and signed then altered: all dead-lettered.
    control.send("job-1", "terminate", command_id="unsigned")
    forged = json.dumps(
        {
            "command_id": "forged",
            "type": "terminate",
            "job_id": "job-1",
            "issued_at": "2026-11-26T12:00:00+00:00",
        }
    ).encode()
    control._producer.produce(
        topics.control,
        key=b"job-1",
        value=forged,
        headers=signature_headers("ops-stolen", "s" * 40, b"job-1", forged),
    )
    altered = forged.replace(b'"forged"', b'"altered"')
    control._producer.produce(
        topics.control,
        key=b"job-1",
        value=altered,
        headers=signature_headers(CURRENT, KEYS[CURRENT], b"job-1", forged),
    )
    # A runner report needs no signature in the default scope ("operator").
    control.send("job-1", "snapshot_started", command_id="report")
    control.flush()

    dlq = TopicReader(kafka_bootstrap, topics.dlq)
    dlq.read_until(lambda: len(dlq.records) >= 3, 30, "three dead letters")
    codes = [dict(headers)["syncctl.error.code"] for _, _, headers in dlq.records]
    assert codes == [b"bad_signature"] * 3
    reasons = [dict(headers)["syncctl.error.message"].decode() for _, _, headers in dlq.records]
    assert (
        "not signed" in reasons[0]
        and "do not know" in reasons[1]
        and "does not match" in reasons[2]
    )
    dlq.close()

    # The previous key still works during a rotation; the job is stopped only by that command.
    rotated = _client(kafka_bootstrap, topics, PREVIOUS)
    terminated = rotated.wait_for_outcome(rotated.terminate("job-1"), timeout=30)
    assert isinstance(terminated, StatusChanged) and terminated.status == "CANCELLING"
    events.read_until(lambda: len(events.for_job("job-1")) >= 3, 30, "job-1's events")
    statuses = [(e.get("command_id"), e["status"]) for e in events.for_job("job-1")]
    assert statuses == [
        (created.command_id, "NOT_STARTED"),
        ("report", "SNAPSHOT_RUNNING"),
        (terminated.command_id, "CANCELLING"),
    ]
