"""One job's life in Kafka Connect, against stand-ins of Connect, its topics, the databases and
the worker: what each step creates, reports and removes, failures included."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from syncctl import waiting
from syncctl.connect import lifecycle
from syncctl.connect.jobs import EngineJob
from syncctl.connect.lifecycle import JobLifecycle
from syncctl.contract import JobSpec, Mode
from syncctl.engine import Reporter
from syncctl.settings import EngineSettings
from tests.unit.connect.fakes import (
    Clock,
    FakeConnect,
    FakeDatabases,
    FakeDestination,
    FakeSource,
    FakeTopics,
    SentReports,
)

SPEC = JobSpec(source="shop", tables=("public.orders",), destination="local", database="shop")
ENGINE = EngineSettings.model_validate(
    {
        "sources": {"shop": {"database": "shop", "user": "engine", "password": "s3cret"}},
        "destinations": {"local": {"uri": "mongodb://127.0.0.1:27017/"}},
    }
)
SOURCE, SINK = "syncctl-j-source", "syncctl-j-sink"


@dataclass
class World:
    lifecycle: JobLifecycle
    connect: FakeConnect
    topics: FakeTopics
    source: FakeSource
    destination: FakeDestination
    reports: SentReports
    clock: Clock
    forgotten: list[str]
    interrupted: list[bool]

    def job(self, mode: Mode = Mode.CONTINUOUS, **fields: Any) -> EngineJob:
        return EngineJob("j", mode, SPEC, **fields)

    def reported(self, kind: str) -> list[Any]:
        return [message for message in self.reports.sent if message.type == kind]


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    clock = Clock()
    monkeypatch.setattr(lifecycle, "time", clock)
    monkeypatch.setattr(waiting, "time", clock)
    connect, topics, reports = FakeConnect(), FakeTopics(), SentReports()
    source = FakeSource()
    destination = FakeDestination(ENGINE.destinations["local"])
    forgotten: list[str] = []
    interrupted = [False]
    job_lifecycle = JobLifecycle(
        connect,  # type: ignore[arg-type]
        topics,  # type: ignore[arg-type]
        ENGINE,
        FakeDatabases(source, destination),
        Reporter(reports, "engine-1"),  # type: ignore[arg-type]
        drain_limit=600.0,
        forget=forgotten.append,
        interrupted=lambda job: interrupted[0],
    )
    return World(
        job_lifecycle, connect, topics, source, destination, reports, clock, forgotten, interrupted
    )


def _everything_removed(world: World) -> None:
    assert world.connect.connectors == {}
    for name in (SOURCE, SINK):
        # Stopped before its offsets go: Connect deletes only a stopped connector's offsets.
        order = [c for c in world.connect.calls if c.endswith(name) and not c.startswith("put")]
        assert order[-2:] == [f"delete offsets {name}", f"delete {name}"], order
    assert len(world.source.dropped) == 2  # the replication slot and the publication
    assert world.topics.deleted == ["j"]


# -- starting ------------
def test_a_job_without_a_spec_or_with_an_unknown_database_is_refused_saying_what_to_add(
    world: World,
) -> None:
    assert "needs one" in (world.lifecycle.refusal(None) or "")
    unknown = SPEC.model_copy(update={"source": "crm"})
    assert world.lifecycle.refusal(unknown) == (
        "source 'crm' is not configured in the engine (known: shop); add [engine.sources.crm]"
    )
    elsewhere = SPEC.model_copy(update={"destination": "atlas"})
    assert "add [engine.destinations.atlas]" in (world.lifecycle.refusal(elsewhere) or "")
    assert world.lifecycle.refusal(SPEC) is None


def test_a_job_starts_with_its_sink_before_its_source_and_says_so(world: World) -> None:
    assert world.lifecycle.start(world.job(), drop_destination=True)
    assert world.connect.calls == [f"put {SINK}", f"put {SOURCE}"]
    assert world.destination.dropped == ["shop"]
    assert world.reports.types() == ["snapshot_started"]
    assert world.reports.sent[0].requested_by == "engine-1"


def test_a_missing_table_fails_the_job_before_anything_is_created(world: World) -> None:
    world.source.missing = ["public.orders"]
    assert not world.lifecycle.start(world.job(), drop_destination=True)
    assert world.connect.calls == [] and world.destination.dropped == []
    (failed,) = world.reported("failed")
    assert "has no table public.orders" in failed.error


def test_ferretdb_set_up_as_mongodb_fails_the_job_with_the_setting_to_change(world: World) -> None:
    world.destination.ferretdb = True
    assert not world.lifecycle.start(world.job(), drop_destination=False)
    assert world.connect.calls == []
    (failed,) = world.reported("failed")
    assert 'engine.destinations.local.server = "ferretdb"' in failed.error


def test_a_database_drivers_error_is_the_jobs_failure_not_the_engines(world: World) -> None:
    def broken(tables: tuple[str, ...]) -> list[str]:
        raise OSError("connection refused")

    world.source.missing_tables = broken  # type: ignore[method-assign]
    assert not world.lifecycle.start(world.job(), drop_destination=False)
    (failed,) = world.reported("failed")
    assert failed.error == "OSError: connection refused"


# -- pausing ------------
def test_a_pause_pauses_both_connectors_then_confirms(world: World) -> None:
    world.lifecycle.put_connectors(world.job())
    world.lifecycle.change(world.job(), pause=True)
    assert world.connect.connectors == {SOURCE: "PAUSED", SINK: "PAUSED"}
    assert world.reports.types() == ["paused"]
    world.lifecycle.change(world.job(), pause=False)
    assert world.reports.types() == ["paused", "resumed"]


def test_a_pause_connect_refuses_is_not_confirmed(world: World) -> None:
    world.lifecycle.put_connectors(world.job())
    world.connect.refuse.add(f"pause {SINK}")
    world.lifecycle.change(world.job(), pause=True)
    assert world.reports.sent == []  # the worker's deadline ends the pause, with its reason


# -- terminating ------------
def test_terminate_stops_the_source_first_counts_what_the_destination_holds_and_removes_all(
    world: World,
) -> None:
    job = world.job(Mode.SNAPSHOT)
    world.lifecycle.put_connectors(job)
    world.topics.positions = [(900, 100), (1000, 0)]
    world.destination.documents = 1_024  # a batch cut by the stop is written, not committed
    world.lifecycle.cancel(job)
    assert world.connect.calls[2] == f"stop {SOURCE}"
    assert world.reports.types() == ["progress", "stopped"]
    assert world.reports.sent[0].stats.rows_migrated == 1_024
    assert world.reports.sent[1].temp_data_cleaned is None
    _everything_removed(world)


def test_a_terminate_connect_refuses_fails_the_job_with_the_reason_and_still_cleans_up(
    world: World,
) -> None:
    job = world.job(Mode.SNAPSHOT)
    world.lifecycle.put_connectors(job)
    world.connect.refuse.add(f"stop {SOURCE}")
    world.lifecycle.cancel(job)
    (failed,) = world.reported("failed")
    assert failed.error == f"could not cancel cleanly: Kafka Connect refused stop {SOURCE}"
    assert world.forgotten == ["j"]
    # What could be removed was; the source is removed by a restarted engine.
    assert set(world.connect.connectors) == {SOURCE}
    assert world.topics.deleted == ["j"]


# -- completing CDC ------------
def test_complete_cdc_drains_every_change_then_reports_the_final_figures_and_cleans_up(
    world: World,
) -> None:
    job = world.job(in_cdc=True, rows_at_cdc_start=5_000)
    world.lifecycle.put_connectors(job)
    world.source.slot = [(100, 120), (200, 240), (256, 256)]
    world.topics.positions = [(5_100, 40), (5_120, 30), (5_150, 0), (5_150, 0)]
    world.lifecycle.complete(job)
    assert world.reports.types() == ["progress", "stopped"]
    final, stopped = world.reports.sent
    assert final.stats.events_seen == 150
    assert stopped.temp_data_cleaned is True
    _everything_removed(world)


def test_a_paused_job_is_resumed_to_drain_before_it_completes(world: World) -> None:
    job = world.job(in_cdc=True)
    world.lifecycle.put_connectors(job)
    world.lifecycle.change(job, pause=True)
    world.lifecycle.complete(job)
    assert world.connect.calls.index(f"resume {SOURCE}") < world.connect.calls.index(
        f"stop {SOURCE}"
    )
    assert world.reports.types()[-1] == "stopped"


def test_a_drain_that_moves_says_so_and_one_that_stops_moving_fails_the_job(
    world: World,
) -> None:
    job = world.job(in_cdc=True)
    world.lifecycle.put_connectors(job)
    # The sink works a backlog of 60,000 down for 30 s (a look every 0.1 s), then sticks.
    looks = [(n * 200, 60_000 - n * 200) for n in range(300)]
    world.topics.positions = [(0, 60_000), *looks]
    world.lifecycle.complete(job)
    draining = world.reported("draining")
    assert len(draining) >= 5  # every 5 s while it moved: the worker's deadline moves with it
    assert all(d.remaining > 0 for d in draining)
    (failed,) = world.reported("failed")
    assert failed.error == "could not complete CDC cleanly: the drain made no progress for 40 s"
    assert world.connect.connectors == {}  # a failed job leaves nothing running either


def test_a_drain_waiting_on_connect_moving_its_tasks_is_not_a_stall(world: World) -> None:
    job = world.job(in_cdc=True)
    world.lifecycle.put_connectors(job)
    world.connect.moving = True  # its worker died: Connect moves the sink's task
    world.topics.positions = [(0, 500)] * 600 + [(500, 0)]  # 60 s without movement, then done

    world.lifecycle.complete(job)
    assert world.reported("failed") == []
    assert world.reports.types()[-1] == "stopped"


def test_a_drains_sink_that_fails_is_restarted_and_the_drain_completes(world: World) -> None:
    job = world.job(in_cdc=True)
    world.lifecycle.put_connectors(job)
    world.topics.positions = [(0, 500)]  # the sink writes nothing while it is failed
    went_away = []

    def destination_away(now: float) -> None:
        if now >= 1002.0 and not went_away:  # the destination went away: the sink fails
            went_away.append(now)
            world.connect.connectors[SINK] = "FAILED"
        if f"restart {SINK}" in world.connect.calls:
            world.topics.positions = [(500, 0)]  # restarted, it writes the backlog

    world.clock.on_sleep.append(destination_away)
    world.lifecycle.complete(job)
    assert world.connect.calls.count(f"restart {SINK}") == 1
    assert world.reported("failed") == []
    assert world.reports.types()[-1] == "stopped"
    _everything_removed(world)


def test_a_drain_whose_sink_keeps_failing_fails_the_job_with_connects_reason(
    world: World,
) -> None:
    job = world.job(in_cdc=True)
    world.lifecycle.put_connectors(job)
    world.topics.positions = [(0, 500)]
    world.connect.connectors[SINK] = "FAILED"
    world.clock.on_sleep.append(
        lambda now: (
            world.connect.connectors.__setitem__(SINK, "FAILED")
            if SINK in world.connect.connectors
            else None
        )
    )
    world.lifecycle.complete(job)
    (failed,) = world.reported("failed")
    assert "the destination went away" in failed.error
    assert world.connect.connectors == {}


def test_a_stop_the_worker_forced_during_the_drain_ends_it_and_removes_the_job(
    world: World,
) -> None:
    job = world.job(in_cdc=True)
    world.lifecycle.put_connectors(job)
    world.topics.positions = [(0, 500)]  # a sink that does not get anywhere

    def forced(now: float) -> None:
        if now >= 1010.0:  # the worker's deadline passed: the job ended CDC Completed (forced)
            job.ended = True
            world.interrupted[0] = True

    world.clock.on_sleep.append(forced)
    world.lifecycle.complete(job)
    assert world.reports.sent == []  # the worker has already ended the job
    assert world.connect.connectors == {}
    assert set(world.source.dropped) == {job.names.slot, job.names.publication}
    assert world.topics.deleted == ["j"]


def test_a_drain_left_by_an_engine_shutting_down_reports_nothing_and_removes_nothing(
    world: World,
) -> None:
    job = world.job(in_cdc=True)
    world.lifecycle.put_connectors(job)
    world.source.slot = [(100, 100)]  # the source has not streamed everything yet
    world.clock.on_sleep.append(lambda now: world.interrupted.__setitem__(0, True))
    world.lifecycle.complete(job)
    assert world.reports.sent == []
    assert set(world.connect.connectors) == {SOURCE, SINK}  # the next engine carries the stop on
    assert world.source.dropped == [] and world.topics.deleted == []


def test_an_engine_taking_over_a_drain_whose_source_is_gone_finishes_the_sinks_part(
    world: World,
) -> None:
    job = world.job(in_cdc=True, rows_at_cdc_start=10)
    world.lifecycle.put_connectors(job)
    world.topics.positions = [(10, 500)]
    # The engine before drained the source, removed it, and was cut while the sink wrote.
    world.clock.on_sleep.append(lambda now: world.interrupted.__setitem__(0, True))
    world.lifecycle.complete(job)
    assert set(world.connect.connectors) == {SINK} and world.reports.sent == []

    world.interrupted[0] = False
    world.clock.on_sleep.clear()
    world.topics.positions = [(300, 210), (510, 0)]
    world.lifecycle.complete(job)
    assert world.reported("failed") == []
    assert world.reports.types() == ["progress", "stopped"]
    assert world.reports.sent[0].stats.events_seen == 500
    assert world.connect.connectors == {}


def test_a_finished_snapshot_job_reports_completed_after_it_is_removed(world: World) -> None:
    job = world.job(Mode.SNAPSHOT)
    world.lifecycle.put_connectors(job)
    stats = job.last_stats.model_copy(update={"rows_migrated": 3_000, "tables_done": 1})
    world.lifecycle.finish_snapshot_job(job, stats)
    assert world.connect.connectors == {}
    assert world.reports.types() == ["progress", "snapshot_completed"]
    assert world.reports.sent[0].stats.rows_migrated == 3_000


# -- failures while running ----------------------------------------------------------------------
def test_a_failed_connector_is_restarted_after_a_growing_wait_then_the_job_fails(
    world: World,
) -> None:
    job = world.job()
    world.connect.connectors = {SOURCE: "RUNNING", SINK: "FAILED"}
    restarted_at = []
    for _ in range(200):  # the engine looks about once a second
        if world.connect.connectors.get(SINK) == "RUNNING":
            world.connect.connectors[SINK] = "FAILED"  # it fails again at once
        if SINK not in world.connect.connectors:
            break
        world.lifecycle.recover(job, {SINK: "ConnectException: the destination went away"})
        if world.connect.calls.count(f"restart {SINK}") > len(restarted_at):
            restarted_at.append(world.clock.now)
        world.clock.sleep(1.0)
    # Restarted 2, 4, 8, 16 and 32 s after each failure was seen, the source left alone.
    waits = [b - a for a, b in zip([1000.0, *restarted_at], restarted_at, strict=False)]
    assert waits == [2.0, 5.0, 9.0, 17.0, 33.0]  # each wait, plus the look that saw it fail
    assert f"restart {SOURCE}" not in world.connect.calls
    (failed,) = world.reported("failed")
    assert failed.error == (
        "ConnectException: the destination went away (failed again after 5 restarts)"
    )
    _everything_removed(world)


def test_a_connector_that_recovers_is_not_failed_and_its_restarts_start_afresh_later(
    world: World,
) -> None:
    job = world.job()
    world.connect.connectors = {SOURCE: "RUNNING", SINK: "FAILED"}
    for _ in range(5):  # fails, and is restarted, five times
        while world.connect.connectors[SINK] == "FAILED":
            world.lifecycle.recover(job, {SINK: "the destination went away"})
            world.clock.sleep(1.0)
        world.connect.connectors[SINK] = "FAILED"
    world.clock.sleep(601.0)  # then runs for ten minutes
    world.lifecycle.recover(job, {SINK: "the destination went away"})
    world.clock.sleep(2.0)
    world.lifecycle.recover(job, {SINK: "the destination went away"})
    assert world.connect.connectors[SINK] == "RUNNING"
    assert world.reported("failed") == []
    assert world.forgotten == []
