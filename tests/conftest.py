"""Shared fixtures: one real Kafka broker for the whole test session, and unique topic names.

The broker is, in order of preference: the one named by `SYNCCTL_TEST_BOOTSTRAP`; an
`apache/kafka` container when a Docker engine answers; else a local broker started from the
Maven Central jars (`syncctl.local.LocalKafka`). There is no mock or fake of Kafka anywhere.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from syncctl.local import LocalKafka, free_port, wait_for_broker

REPO = Path(__file__).resolve().parents[1]
KAFKA_IMAGE = "apache/kafka:4.1.1"


def docker_engine_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:  # any failure means "no engine to use"
        return False
    return True


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap address of a real Kafka broker shared by the session."""
    if address := os.environ.get("SYNCCTL_TEST_BOOTSTRAP"):
        yield address
    elif docker_engine_answers():
        yield from _container_broker()
    else:
        with LocalKafka(lib_dir=REPO / ".local" / "kafka" / "lib") as kafka:
            yield kafka.bootstrap_servers


def _container_broker() -> Iterator[str]:
    from testcontainers.core.container import DockerContainer

    from syncctl.local.broker import LocalKafka as _Readiness  # noqa: F401

    port = free_port()
    # The apache/kafka image takes its whole config from KAFKA_* variables once any is set.
    container = (
        DockerContainer(KAFKA_IMAGE)
        .with_bind_ports(9092, port)
        .with_env("KAFKA_NODE_ID", "1")
        .with_env("KAFKA_PROCESS_ROLES", "broker,controller")
        .with_env("KAFKA_LISTENERS", "PLAINTEXT://:9092,CONTROLLER://:9093")
        .with_env("KAFKA_ADVERTISED_LISTENERS", f"PLAINTEXT://127.0.0.1:{port}")
        .with_env("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
        .with_env(
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
        )
        .with_env("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093")
        .with_env("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
        .with_env("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR", "1")
        .with_env("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
    )
    with container:
        bootstrap = f"127.0.0.1:{port}"
        if not wait_for_broker(bootstrap, timeout=90):
            raise TimeoutError(f"the {KAFKA_IMAGE} container did not answer on {bootstrap}")
        yield bootstrap


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Names that no other test uses, so tests never see each other's topics or groups."""
    test = request.node.name.replace("[", "-").replace("]", "")[:60]

    def make(prefix: str) -> str:
        return f"{prefix}.{test}.{uuid.uuid4().hex[:8]}"

    return make


@pytest.fixture
def new_topic(kafka_bootstrap: str, unique_name: Callable[[str], str]) -> Callable[..., str]:
    """Create a topic with a unique name and return the name."""
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})

    def create(prefix: str = "test", partitions: int = 1, **config: str) -> str:
        name = unique_name(prefix)
        futures = admin.create_topics([NewTopic(name, partitions, 1, config=config)])
        futures[name].result(30)
        return name

    return create
