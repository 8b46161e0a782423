"""syncctl against a broker that demands SASL_SSL (SCRAM-SHA-512 over TLS):
`syncctl broker --secure`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.integration.harness import Topics, WorkerProcess, secure_kafka_settings

from syncctl import SyncJobsClient
from syncctl.contract import StatusChanged
from syncctl.local import LocalKafka
from syncctl.local.security import LocalSecurity

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def secure_kafka() -> Iterator[LocalKafka]:
    with LocalKafka(lib_dir=REPO / ".local" / "kafka" / "lib", secure=True) as kafka:
        yield kafka


@pytest.fixture
def security(secure_kafka: LocalKafka) -> LocalSecurity:
    assert secure_kafka.security is not None
    return secure_kafka.security


@pytest.fixture
def secure_worker(
    secure_kafka: LocalKafka,
    security: LocalSecurity,
    topics: Topics,
    unique_name: Callable[[str], str],
) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(password: str | None = None, wait_ready: bool = True) -> WorkerProcess:
        env = security.client_env("syncctl-worker")
        if password is not None:
            env["SYNCCTL_KAFKA__SASL_PASSWORD"] = password
        worker = WorkerProcess(
            secure_kafka.bootstrap_servers, topics, unique_name("group"), env=env
        )
        started.append(worker)
        return worker.start(wait_ready=wait_ready)

    yield start
    for worker in started:
        worker.stop()


def _client(secure_kafka: LocalKafka, topics: Topics, user: str) -> SyncJobsClient:
    return SyncJobsClient(kafka=secure_kafka_settings(secure_kafka, user), topics=topics.settings())


def test_the_worker_and_the_client_work_over_sasl_ssl_and_never_log_a_password(
    secure_kafka: LocalKafka,
    security: LocalSecurity,
    topics: Topics,
    secure_worker: Callable[..., WorkerProcess],
) -> None:
    worker = secure_worker()  # DEBUG logging: the most that is ever written
    client = _client(secure_kafka, topics, "syncctl-operator")
    created = client.create("job-secure", "snapshot")
    outcome = client.wait_for_outcome(created, timeout=60)
    assert isinstance(outcome, StatusChanged) and outcome.status == "NOT_STARTED"
    terminated = client.wait_for_outcome(client.terminate("job-secure"), timeout=60)
    assert isinstance(terminated, StatusChanged) and terminated.status == "SNAPSHOT_CANCELLED"

    assert worker.stop() == 0
    logged = "".join(worker.raw_stderr)
    assert "partitions ready" in logged
    for user in ("syncctl-worker", "syncctl-operator", "admin"):
        assert security.password(user) not in logged


def test_wrong_credentials_stop_the_worker_at_once_with_a_clear_message(
    security: LocalSecurity, secure_worker: Callable[..., WorkerProcess]
) -> None:
    wrong = "not-" + security.password("syncctl-worker")
    worker = secure_worker(password=wrong, wait_ready=False)
    assert worker.process is not None
    # Well under the worker's 30 s connection timeout: refused credentials are not retried.
    assert worker.process.wait(20) == 2
    stderr = "".join(worker.raw_stderr)
    assert "refused the credentials of user 'syncctl-worker'" in stderr
    assert "SYNCCTL_KAFKA__SASL_PASSWORD" in stderr
    assert "Traceback" not in stderr
    assert wrong not in stderr


def test_the_cli_connects_with_the_env_file_printed_by_broker_secure(
    secure_kafka: LocalKafka,
    security: LocalSecurity,
    topics: Topics,
    secure_worker: Callable[..., WorkerProcess],
) -> None:
    secure_worker()
    env_lines = security.env_file("syncctl-operator").read_text().splitlines()
    env = dict(line.split("=", 1) for line in env_lines if line)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "syncctl",
            "create",
            "job-cli",
            "--mode",
            "snapshot",
            "--wait",
            "--bootstrap-servers",
            secure_kafka.bootstrap_servers,
        ],
        env={**_base_env(), **env, **topics.env()},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Not started" in result.stdout
    assert security.password("syncctl-operator") not in result.stdout + result.stderr


def _base_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("SYNCCTL_")}
