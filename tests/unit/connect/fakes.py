"""Stand-ins for what a job's lifecycle talks to: Kafka Connect's REST API, the job's topics, the
source and destination databases, the worker (reports), and time. Each records what was asked of
it, so that a test states what a user of Connect, PostgreSQL or the events topic would see."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from syncctl.connect.jobs import EngineJob
from syncctl.errors import ServerError
from syncctl.settings import DestinationConnection


class Clock:
    """Virtual time: `sleep` moves it on at once."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.on_sleep: list[Callable[[float], None]] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        for hook in self.on_sleep:
            hook(self.now)


@dataclass
class FakeConnect:
    connectors: dict[str, str] = field(default_factory=dict)  # name -> state
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # "stop syncctl-j-source", ...
    moving: bool = False

    def _call(self, what: str) -> None:
        self.calls.append(what)
        if what in self.refuse:
            raise ServerError(f"Kafka Connect refused {what}")

    def put_config(self, name: str, config: dict[str, Any]) -> None:
        self._call(f"put {name}")
        self.configs[name] = config
        self.connectors.setdefault(name, "RUNNING")

    def status(self, name: str) -> dict[str, Any] | None:
        state = self.connectors.get(name)
        if state is None:
            return None
        trace = "org.apache.kafka.connect.errors.ConnectException: the destination went away"
        return {"connector": {"state": state, "trace": trace}, "tasks": []}

    def stop(self, name: str, timeout: float = 30.0) -> None:
        if name in self.connectors:
            self._call(f"stop {name}")
            self.connectors[name] = "STOPPED"

    def pause(self, name: str, timeout: float = 30.0) -> None:
        self._call(f"pause {name}")
        self.connectors[name] = "PAUSED"

    def resume(self, name: str, timeout: float = 30.0) -> None:
        if name in self.connectors:
            self._call(f"resume {name}")
            self.connectors[name] = "RUNNING"

    def restart_failed(self, name: str) -> None:
        self._call(f"restart {name}")
        if self.connectors.get(name) == "FAILED":
            self.connectors[name] = "RUNNING"

    def delete_offsets(self, name: str) -> None:
        if name in self.connectors:
            self._call(f"delete offsets {name}")

    def delete(self, name: str) -> None:
        if name in self.connectors:
            self._call(f"delete {name}")
            del self.connectors[name]

    def tasks_moving(self, name: str) -> bool:
        return self.moving


@dataclass
class FakeTopics:
    """`positions`: the sink's (written, lag) at each look, the last one repeated."""

    positions: list[tuple[int, int]] = field(default_factory=lambda: [(0, 0)])
    deleted: list[str] = field(default_factory=list)

    def sink_position(self, job: EngineJob) -> tuple[int, int]:
        return self.positions.pop(0) if len(self.positions) > 1 else self.positions[0]

    def sink_group_rebalancing(self, job: EngineJob) -> bool:
        return False

    def jobs_with_topics(self) -> set[str]:
        return set()

    def delete(self, job: EngineJob) -> None:
        self.deleted.append(job.job_id)


@dataclass
class FakeSource:
    missing: list[str] = field(default_factory=list)
    # The slot's (confirmed, read) positions at each look, the last one repeated; the WAL's
    # position when the drain begins is 0/100 (256).
    slot: list[tuple[int, int]] = field(default_factory=lambda: [(256, 256)])
    pending: int = 0
    dropped: list[str] = field(default_factory=list)

    def missing_tables(self, tables: tuple[str, ...]) -> list[str]:
        return self.missing

    def primary_keys(self, tables: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
        return {table: ("id",) for table in tables}

    def current_lsn(self) -> str:
        return "0/100"

    def slot_positions(self, slot: str) -> tuple[int, int]:
        return self.slot.pop(0) if len(self.slot) > 1 else self.slot[0]

    def changes_pending(self, slot: str, publication: str, lsn: str) -> int:
        if self.slot == [(-1, -1)]:
            raise RuntimeError(f'replication slot "{slot}" does not exist')  # as PostgreSQL says
        return self.pending

    def drop_slot_and_publication(self, slot: str, publication: str) -> None:
        self.dropped += [slot, publication]
        self.slot = [(-1, -1)]


@dataclass
class FakeDestination:
    connection: DestinationConnection
    documents: int = 0
    ferretdb: bool = False
    dropped: list[str] = field(default_factory=list)

    def drop(self, database: str) -> None:
        self.dropped.append(database)

    def documents_in(self, database: str, collections: list[str]) -> int:
        return self.documents

    def is_ferretdb(self) -> bool:
        return self.ferretdb


@dataclass
class FakeDatabases:
    source_db: FakeSource
    destination_db: FakeDestination

    def source(self, name: str) -> FakeSource:
        return self.source_db

    def destination(self, name: str) -> FakeDestination:
        return self.destination_db


@dataclass
class SentReports:
    """The worker's side of a `Reporter`: what reached the control topic."""

    sent: list[Any] = field(default_factory=list)

    def send(self, message: Any) -> str:
        self.sent.append(message)
        return str(message.command_id)

    def send_many(self, messages: list[Any]) -> None:
        self.sent += messages

    def types(self) -> list[str]:
        return [message.type for message in self.sent]
