from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient
from tests.integration.harness import (
    ConsoleProcess,
    ControlProducer,
    EventReader,
    SyncctlProcess,
    TopicReader,
    Topics,
    WorkerProcess,
    syncctl_env,
    wait_until_consuming,
)

from syncctl.kafka.topics import ensure_topics


@pytest.fixture
def topics(unique_name: Callable[[str], str]) -> Topics:
    return Topics.unique(unique_name)


@pytest.fixture
def control(kafka_bootstrap: str, topics: Topics) -> ControlProducer:
    return ControlProducer(kafka_bootstrap, topics.control)


@pytest.fixture
def events(kafka_bootstrap: str, topics: Topics) -> Iterator[EventReader]:
    reader = EventReader(kafka_bootstrap, topics.events)
    yield reader
    reader.close()


@pytest.fixture
def state_reader(kafka_bootstrap: str, topics: Topics) -> Iterator[TopicReader]:
    reader = TopicReader(kafka_bootstrap, topics.state)
    yield reader
    reader.close()


@pytest.fixture
def start_worker(
    kafka_bootstrap: str, topics: Topics, unique_name: Callable[[str], str]
) -> Iterator[Callable[..., WorkerProcess]]:
    """Start workers in one group on this test's topics; all are stopped at the end."""
    group = unique_name("group")
    started: list[WorkerProcess] = []

    def start(
        instance_id: str = "w1",
        wait_ready: bool = True,
        env: dict[str, str] | None = None,
        **settings: object,
    ) -> WorkerProcess:
        worker = WorkerProcess(kafka_bootstrap, topics, group, instance_id, env, **settings)
        started.append(worker)
        return worker.start(wait_ready=wait_ready)

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def start_runner(
    kafka_bootstrap: str, topics: Topics, unique_name: Callable[[str], str]
) -> Iterator[Callable[..., SyncctlProcess]]:
    """Start the reference runner on this test's topics, with fast timings unless told otherwise."""
    started: list[SyncctlProcess] = []

    def start(**settings: object) -> SyncctlProcess:
        chosen = {"start_delay": 0.1, "progress_interval": 0.3, "stop_delay": 0.5, **settings}
        env = {
            **syncctl_env(kafka_bootstrap, topics),
            "SYNCCTL_RUNNER__GROUP_ID": unique_name("runner"),
            **{f"SYNCCTL_RUNNER__{key.upper()}": str(value) for key, value in chosen.items()},
        }
        runner = SyncctlProcess(["runner"], env)
        started.append(runner)
        runner.start()
        admin = {"bootstrap.servers": kafka_bootstrap}
        wait_until_consuming(admin, env["SYNCCTL_RUNNER__GROUP_ID"], runner)
        return runner

    yield start
    for runner in started:
        runner.stop()


@pytest.fixture
def start_console(kafka_bootstrap: str, topics: Topics) -> Iterator[Callable[..., ConsoleProcess]]:
    """Start `syncctl console OPTIONS` on this test's topics (created first if no worker did)."""
    started: list[ConsoleProcess] = []
    ensure_topics(AdminClient({"bootstrap.servers": kafka_bootstrap}), topics.settings())

    def start(
        *options: str, env: dict[str, str] | None = None, **start_options: Any
    ) -> ConsoleProcess:
        console = ConsoleProcess(kafka_bootstrap, topics, list(options), env or {})
        started.append(console)
        return console.start(**start_options)

    yield start
    for console in started:
        console.stop()


@pytest.fixture
def syncctl(
    kafka_bootstrap: str, topics: Topics
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the `syncctl` CLI as a user would, against this test's topics."""

    def run(*arguments: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        import os

        env = {**os.environ, **syncctl_env(kafka_bootstrap, topics), "USER": "tester"}
        return subprocess.run(
            [sys.executable, "-m", "syncctl", *arguments],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run
