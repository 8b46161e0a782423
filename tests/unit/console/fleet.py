"""A realistic fleet of jobs, as the console reads it from the state and events topics.

Every job is driven through the real state machine (`machine.apply`), so its records and events
are what a worker writes: created with a spec, started, progress reports, and for most jobs an
end (completed, cancelled, CDC completed, failed); some stay running or paused. `messages(n)`
gives the (topic, key, value) triples in the order they were written.
"""

from __future__ import annotations

import heapq
import itertools
import random
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

from syncctl.console.feed import JobFeed
from syncctl.contract import (
    CancelSchedule,
    CompleteCdc,
    ControlMessage,
    Create,
    Failed,
    JobSpec,
    Mode,
    Pause,
    Paused,
    Progress,
    Resume,
    SnapshotCompleted,
    SnapshotStarted,
    Stats,
    Stopped,
    Terminate,
)
from syncctl.contract.serialization import to_json
from syncctl.machine import apply
from syncctl.settings import KafkaSettings, TopicSettings

STATE, EVENTS = "state", "events"
START = datetime(2026, 1, 1, tzinfo=UTC)
OPERATORS = ("alice", "bob", "carol", "dmitri", "eve", "farah")
PREFIXES = ("orders", "invoices", "customers", "inventory", "ledger", "shipments", "crm", "billing")

# What happens to a job after it starts, and how often (of 100).
JOURNEYS = (
    ("completed", 35),
    ("cancelled", 15),
    ("cdc_completed", 20),
    ("cdc_running", 12),
    ("snapshot_running", 8),
    ("failed", 5),
    ("paused", 5),
)


def _journey(rng: random.Random) -> str:
    pick = rng.randrange(100)
    for name, weight in JOURNEYS:
        if pick < weight:
            return name
        pick -= weight
    raise AssertionError("weights sum to 100")


def job_messages(number: int, rng: random.Random) -> list[tuple[datetime, str, str, bytes]]:
    """One job's life: (when, topic, job id, value) for every record and event it produced."""
    prefix = rng.choice(PREFIXES)
    job_id = f"{prefix}-{number:07d}"
    journey = _journey(rng)
    mode = Mode.CONTINUOUS if journey.startswith("cdc") or rng.random() < 0.3 else Mode.SNAPSHOT
    if journey == "completed":
        mode = Mode.SNAPSHOT
    operator = rng.choice(OPERATORS)
    tables = tuple(f"public.{prefix}_{n}" for n in range(rng.randint(2, 8)))
    spec = JobSpec(
        source=rng.choice(("shop", "erp", "crm")),
        tables=tables,
        destination="archive",
        database=prefix,
    )
    now = START + timedelta(seconds=number * 30 + rng.randrange(30))
    out: list[tuple[datetime, str, str, bytes]] = []
    record = None
    stats = Stats(tables_total=len(tables), tables_done=0, rows_migrated=0)

    def feed(message: object, by_engine: bool = True) -> None:
        nonlocal record, now
        now += timedelta(seconds=rng.randint(5, 600))
        record, events, *_ = apply(record, message, now)  # type: ignore[arg-type]
        if record is not None:
            out.append((now, STATE, job_id, to_json(record)))
        for event in events:
            out.append((now, EVENTS, job_id, to_json(event)))

    def common() -> dict[str, object]:
        return {"command_id": str(uuid.UUID(int=rng.getrandbits(128))), "job_id": job_id}

    feed(Create(**common(), issued_at=now, mode=mode, spec=spec, requested_by=operator))
    feed(SnapshotStarted(**common(), issued_at=now, requested_by="reference-runner"))
    for done in range(rng.randint(1, 4)):
        stats = stats.merged(
            Stats(tables_done=min(done, len(tables)), rows_migrated=(done + 1) * 12_345)
        )
        feed(Progress(**common(), issued_at=now, stats=stats, requested_by="reference-runner"))
    by = rng.choice(OPERATORS)
    if journey == "cancelled":
        feed(Terminate(**common(), issued_at=now, requested_by=by))
        feed(Stopped(**common(), issued_at=now, requested_by="reference-runner"))
    elif journey == "failed":
        feed(Failed(**common(), issued_at=now, error="connection to source lost"))
    elif journey == "paused":
        feed(Pause(**common(), issued_at=now, requested_by=by))
        feed(Paused(**common(), issued_at=now, requested_by="reference-runner"))
    elif journey != "snapshot_running":
        feed(SnapshotCompleted(**common(), issued_at=now, requested_by="reference-runner"))
        if journey.startswith("cdc"):
            feed(
                Progress(
                    **common(),
                    issued_at=now,
                    stats=Stats(events_seen=rng.randint(0, 100_000)),
                    requested_by="reference-runner",
                )
            )
        if journey == "cdc_completed":
            feed(CompleteCdc(**common(), issued_at=now, requested_by=by))
            feed(Stopped(**common(), issued_at=now, temp_data_cleaned=True))
    return out


def messages(count: int, seed: int = 24) -> Iterator[tuple[str, bytes, bytes]]:
    """(topic, key, value) of `count` jobs, in the order a worker would have written them
    (merged as they are made: only the jobs still running at a moment are held)."""
    rng = random.Random(seed)
    pending: list[tuple[datetime, int, str, str, bytes]] = []
    order = itertools.count()
    for number in range(count):
        made = job_messages(number, rng)
        while pending and pending[0][0] < made[0][0]:
            _, _, topic, job_id, value = heapq.heappop(pending)
            yield topic, job_id.encode(), value
        for at, topic, job_id, value in made:
            heapq.heappush(pending, (at, next(order), topic, job_id, value))
    while pending:
        _, _, topic, job_id, value = heapq.heappop(pending)
        yield topic, job_id.encode(), value


class FedFeed(JobFeed):
    """A JobFeed without Kafka: `take` hands it what the topics would hold."""

    def __init__(self) -> None:
        super().__init__(KafkaSettings(), TopicSettings(state=STATE, events=EVENTS))

    def start(self) -> FedFeed:
        self._index_staged()
        self.caught_up.set()
        return self

    def stop(self) -> None:
        pass

    def take(self, topic: str, key: bytes, value: bytes | None, catching_up: bool = False) -> None:
        self._take(topic, key, value, catching_up)

    def take_all(
        self, triples: Iterable[tuple[str, bytes, bytes]], catching_up: bool = True
    ) -> None:
        for topic, key, value in triples:
            self._take(topic, key, value, catching_up)
        if catching_up:
            self._index_staged()


class RecordingClient:
    """A SyncJobsClient stand-in that keeps what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[ControlMessage] = []

    def send_many(self, messages: list[ControlMessage]) -> None:
        self.sent.extend(messages)

    def _one(self, kind: type[ControlMessage], job_id: str, requested_by: str | None) -> str:
        message = kind(
            command_id=str(uuid.uuid4()),
            job_id=job_id,
            issued_at=datetime.now(UTC),
            requested_by=requested_by,
        )
        self.sent.append(message)
        return message.command_id

    def terminate(self, job_id: str, *, requested_by: str | None = None) -> str:
        return self._one(Terminate, job_id, requested_by)

    def complete_cdc(self, job_id: str, *, requested_by: str | None = None, **_: object) -> str:
        return self._one(CompleteCdc, job_id, requested_by)

    def pause(self, job_id: str, *, requested_by: str | None = None) -> str:
        return self._one(Pause, job_id, requested_by)

    def resume(self, job_id: str, *, requested_by: str | None = None) -> str:
        return self._one(Resume, job_id, requested_by)

    def cancel_schedule(self, job_id: str, *, requested_by: str | None = None) -> str:
        return self._one(CancelSchedule, job_id, requested_by)
