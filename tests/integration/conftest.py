from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.integration.harness import ControlProducer, EventReader, Topics, TopicReader, WorkerProcess


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

    def start(instance_id: str = "w1", wait_ready: bool = True, **settings: object) -> WorkerProcess:
        worker = WorkerProcess(kafka_bootstrap, topics, group, instance_id, **settings)
        started.append(worker)
        return worker.start(wait_ready=wait_ready)

    yield start
    for worker in started:
        worker.stop()
