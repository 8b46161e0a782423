"""An engine pointed at a Kafka Connect that cannot run syncctl's jobs refuses to start, saying
what is missing, before it touches a job."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from syncctl.connect import engine as engine_module
from syncctl.connect.connectors import REQUIRED_PLUGINS
from syncctl.connect.engine import ConnectEngine
from syncctl.contract import JobRecord, JobSpec, Mode, Status
from syncctl.errors import ConfigError, ServerError
from syncctl.settings import Settings
from syncctl.waiting import Patience


def test_an_engine_whose_connect_lacks_syncctls_transforms_refuses_to_start() -> None:
    installed = [
        {"class": name, "type": "source"}
        for name in REQUIRED_PLUGINS
        if not name.startswith("io.syncctl.")
    ]
    asked: list[str] = []

    def connect(request: httpx.Request) -> httpx.Response:
        asked.append(f"{request.method} {request.url.path}")
        return httpx.Response(200, json=installed)

    engine = _engine()
    engine._api._clients = [
        httpx.Client(base_url=engine._api.url, transport=httpx.MockTransport(connect))
    ]
    with pytest.raises(ConfigError, match=r"syncctl-connect-transforms\.jar") as refused:
        engine.run()
    assert "io.syncctl.connect.RowToDocument" in str(refused.value)
    # Nothing else was asked of Connect: no connector was listed, created or removed.
    assert asked == ["GET /connector-plugins"]


class _TopicAppearsLater:
    """A consumer's metadata view of a cluster where the worker creates the events topic on the
    third look (an engine started beside a fresh worker comes up first)."""

    def __init__(self, topic: str, partitions: int) -> None:
        self.topic, self.partitions, self.looks = topic, partitions, 0

    def list_topics(self, topic: str, timeout: float) -> SimpleNamespace:
        self.looks += 1
        if self.looks < 3:
            return SimpleNamespace(topics={})
        described = SimpleNamespace(error=None, partitions=dict.fromkeys(range(self.partitions)))
        return SimpleNamespace(topics={topic: described})


def _engine() -> ConnectEngine:
    return ConnectEngine(
        Settings.model_validate(
            {
                "kafka": {"bootstrap_servers": "127.0.0.1:9"},
                "engine": {"connect_url": "http://connect.invalid:8083"},
            }
        )
    )


def test_an_engine_started_before_the_events_topic_exists_waits_for_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engine_module, "_TOPIC_PATIENCE", Patience(timeout=None, interval=0.0))
    cluster = _TopicAppearsLater("syncctl.events", partitions=6)
    assert _engine()._wait_for_partitions(cluster, "syncctl.events") == 6  # type: ignore[arg-type]
    assert cluster.looks == 3


def test_an_engine_told_to_stop_while_waiting_for_the_events_topic_stops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engine_module, "_TOPIC_PATIENCE", Patience(timeout=None, interval=0.0))
    engine = _engine()
    cluster = _TopicAppearsLater("syncctl.events", partitions=6)
    engine.stop()
    assert engine._wait_for_partitions(cluster, "syncctl.events") == 0  # type: ignore[arg-type]
    assert cluster.looks == 1


class _Steps:
    """The engine's step threads, run later by the test."""

    def __init__(self) -> None:
        self.submitted: list[tuple[Any, tuple[Any, ...]]] = []

    def submit(self, step: Any, *args: Any) -> None:
        self.submitted.append((step, args))


def test_a_restarted_engine_that_connect_will_not_take_a_jobs_connectors_from_carries_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = _engine()
    engine._partitions, engine._owned = 1, {0}
    engine._api = SimpleNamespace(connectors=lambda: [])  # type: ignore[assignment]
    engine._topics = SimpleNamespace(jobs_with_topics=lambda: set())  # type: ignore[assignment]
    refusals = ["Kafka Connect refused PUT /connectors/syncctl-orders-source/config"]

    def put_connectors(job: Any) -> None:
        if refusals:
            raise ServerError(refusals.pop())

    monkeypatch.setattr(engine._lifecycle, "put_connectors", put_connectors)
    steps = _Steps()
    engine._steps = steps  # type: ignore[assignment]
    now = datetime(2026, 12, 1, tzinfo=UTC)
    running = JobRecord(
        job_id="orders",
        mode=Mode.CONTINUOUS,
        status=Status.PAUSING,
        spec=JobSpec(source="shop", tables=("public.orders",), destination="d", database="db"),
        created_at=now,
        updated_at=now,
    )
    engine._resume([running])  # the refusal does not end the engine
    assert engine._job("orders") is not None
    ((step, args),) = steps.submitted
    step(*args)  # asked again: Connect takes them now, and the pending pause follows
    assert [s.__name__ for s, _ in steps.submitted[1:]] == ["change"]
