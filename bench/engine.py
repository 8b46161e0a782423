"""Stops on the real engine: how long Terminate and Complete CDC take with a backlog.

PostgreSQL (the sample shop), Kafka Connect with Debezium and the MongoDB sink, FerretDB
(`document_id = key_string`), a worker and `syncctl runner --engine connect`, all on the bench's
broker. Each round:

- terminate: a snapshot job over `order_items` (100,000 rows) is terminated once the sink is at
  least `backlog` records behind what Debezium has captured; measured from sending `terminate`
  to a reader of the events topic seeing `Snapshot cancelled`.
- complete: a continuous job over `customers` (20,000 rows) in CDC; one transaction updates
  `backlog` rows on the source and `complete_cdc` is sent as soon as it commits; measured from
  the send to `CDC Completed`, then the destination is checked to hold every update.
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pymongo
from confluent_kafka import Consumer, TopicPartition

from bench.children import Child, ready_partitions, start_worker
from bench.common import REPO, STATE_CONFIG, Topics, create_topics, unique
from syncctl import SyncJobsClient
from syncctl.connect.connectors import JobNames
from syncctl.contract import Status
from syncctl.local import LocalFerretDB, LocalPostgres
from syncctl.local.connect import LocalConnect
from syncctl.local.sample_shop import SampleShop, create_sample_shop
from syncctl.settings import TopicSettings

TARGET_TERMINATE_SECONDS, TARGET_COMPLETE_SECONDS = 5.0, 15.0


class StatusClock:
    """When a reader of the events topic first saw each (job, status): follows it from now on."""

    def __init__(self, bootstrap: str, events_topic: str) -> None:
        self._seen: dict[tuple[str, Status], float] = {}
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": unique("clock"),
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
            }
        )
        partitions = (
            self._consumer.list_topics(events_topic, timeout=10).topics[events_topic].partitions
        )
        ends = [
            TopicPartition(
                events_topic,
                p,
                self._consumer.get_watermark_offsets(TopicPartition(events_topic, p), timeout=10)[
                    1
                ],
            )
            for p in partitions
        ]
        self._consumer.assign(ends)
        self._thread = threading.Thread(target=self._follow, name="status-clock", daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        while not self._stop.is_set():
            for message in self._consumer.consume(500, 0.2):
                if message.error() or message.value() is None:
                    continue
                arrived = time.monotonic()
                event = json.loads(message.value())
                if event.get("status"):
                    with self._changed:
                        self._seen.setdefault((event["job_id"], Status(event["status"])), arrived)
                        self._changed.notify_all()
        self._consumer.close()

    def wait(self, job_id: str, statuses: set[Status], timeout: float) -> tuple[Status, float]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [
                    (status, at)
                    for (job, status), at in self._seen.items()
                    if job == job_id and status in statuses
                ]
                if found:
                    return min(found, key=lambda pair: pair[1])
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"{job_id}: none of {sorted(s.value for s in statuses)} in {timeout:.0f} s"
                    )
                self._changed.wait(0.5)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)


def measure(bootstrap: str, backlog: int = 10_000, rounds: int = 3) -> dict[str, Any]:
    topics = Topics.named(unique("engine"))
    create_topics(
        bootstrap,
        {topics.control: {}, topics.state: STATE_CONFIG, topics.events: {}, topics.dlq: {}},
    )
    with (
        LocalPostgres() as postgres,
        LocalFerretDB(cache_dir=REPO / ".local" / "ferretdb") as ferretdb,
        LocalConnect(bootstrap, cache_dir=REPO / ".local" / "connect", progress=_log) as connect,
    ):
        shop = create_sample_shop(postgres)
        worker = start_worker(bootstrap, topics, unique("engine-worker"), "w1", log_level="INFO")
        engine = Child(
            [sys.executable, "-m", "syncctl", "runner", "--engine", "connect"],
            _engine_env(bootstrap, topics, connect, shop, ferretdb),
            "engine",
        )
        try:
            worker.wait_for(lambda lines: ready_partitions(lines, 12), 60)
            engine.wait_for(_engine_started, 60)
            client = SyncJobsClient(
                bootstrap,
                requested_by="bench",
                topics=TopicSettings(
                    control=topics.control, state=topics.state, events=topics.events, dlq=topics.dlq
                ),
            )
            clock = StatusClock(bootstrap, topics.events)
            try:
                terminations = [
                    _terminate_round(client, clock, shop, ferretdb, backlog, n)
                    for n in range(rounds)
                ]
                completions = [
                    _complete_round(client, clock, shop, ferretdb, backlog, n)
                    for n in range(rounds)
                ]
            finally:
                clock.close()
                client.close()
            for run in [*terminations, *completions]:
                run["engine_steps"] = _engine_steps(engine, run.pop("job_id"))
        finally:
            engine.stop()
            worker.stop()
    return {
        "backlog": backlog,
        "rounds": rounds,
        "destination": "FerretDB 1.24.2 (SQLite, document_id = key_string)",
        "terminate": _summary(terminations, TARGET_TERMINATE_SECONDS),
        "complete_cdc": _summary(completions, TARGET_COMPLETE_SECONDS),
    }


def _terminate_round(
    client: SyncJobsClient,
    clock: StatusClock,
    shop: SampleShop,
    ferretdb: LocalFerretDB,
    backlog: int,
    n: int,
) -> dict[str, Any]:
    job_id = f"bench-terminate-{n}-{uuid.uuid4().hex[:6]}"
    client.wait_for_outcome(
        client.create(job_id, "snapshot", spec=_spec(["public.order_items"], job_id)), 60
    )
    names = JobNames(job_id)
    lag = _wait_for(
        lambda: _sink_lag(client, names, ["public.order_items"]),
        lambda behind: behind >= backlog,
        120,
    )
    sent = time.monotonic()
    client.terminate(job_id)
    status, seen = clock.wait(
        job_id, {Status.SNAPSHOT_CANCELLED, Status.FAILED, Status.COMPLETED}, 90
    )
    copied = pymongo.MongoClient(ferretdb.uri)[names.job_id.replace("-", "_")][
        "order_items"
    ].count_documents({})
    result = {
        "seconds": round(seen - sent, 2),
        "status": status.value,
        "sink_backlog_at_request": lag,
        "documents_kept": copied,
        "job_id": job_id,
    }
    _log(f"  terminate round {n}: {result}")
    return result


def _complete_round(
    client: SyncJobsClient,
    clock: StatusClock,
    shop: SampleShop,
    ferretdb: LocalFerretDB,
    backlog: int,
    n: int,
) -> dict[str, Any]:
    job_id = f"bench-complete-{n}-{uuid.uuid4().hex[:6]}"
    client.wait_for_outcome(
        client.create(job_id, "continuous", spec=_spec(["public.customers"], job_id)), 60
    )
    clock.wait(job_id, {Status.CDC_RUNNING}, 180)
    marker = f" r{n}"
    with psycopg.connect(shop.dsn(), autocommit=True) as db:
        db.execute(f"UPDATE customers SET name = name || '{marker}' WHERE id <= {backlog}")
    sent = time.monotonic()
    client.complete_cdc(job_id)
    status, seen = clock.wait(job_id, {Status.CDC_COMPLETED, Status.FAILED}, 90)
    collection = pymongo.MongoClient(ferretdb.uri)[job_id.replace("-", "_")]["customers"]
    # Counted here: FerretDB answers a $regex count by decoding every document, very slowly.
    applied = sum(1 for doc in collection.find({}, {"name": 1}) if doc["name"].endswith(marker))
    result = {
        "seconds": round(seen - sent, 2),
        "status": status.value,
        "changes": backlog,
        "changes_in_destination": applied,
        "job_id": job_id,
    }
    _log(f"  complete round {n}: {result}")
    return result


def _summary(runs: list[dict[str, Any]], target: float) -> dict[str, Any]:
    seconds = [run["seconds"] for run in runs]
    ended_right = all(
        run["status"] in (Status.SNAPSHOT_CANCELLED.value, Status.CDC_COMPLETED.value)
        for run in runs
    )
    drained = all(run.get("changes_in_destination", 0) == run.get("changes", 0) for run in runs)
    return {
        "runs": runs,
        "median_seconds": statistics.median(seconds),
        "max_seconds": max(seconds),
        "target_seconds": target,
        "met": ended_right and drained and max(seconds) <= target,
    }


def _spec(tables: list[str], job_id: str) -> dict[str, Any]:
    return {
        "source": "shop",
        "tables": tables,
        "destination": "local",
        "database": job_id.replace("-", "_"),
    }


def _sink_lag(client: SyncJobsClient, names: JobNames, tables: list[str]) -> int:
    """Records Debezium has written to the job's topics that the sink has not committed yet."""
    reader = Consumer(
        {
            "bootstrap.servers": client.kafka.bootstrap_servers,
            "group.id": names.sink_group,
            "enable.auto.commit": False,
        }
    )
    try:
        partitions = [TopicPartition(names.table_topic(table), 0) for table in tables]
        committed = {tp.topic: max(tp.offset, 0) for tp in reader.committed(partitions, timeout=10)}
        ends = {tp.topic: reader.get_watermark_offsets(tp, timeout=10)[1] for tp in partitions}
    finally:
        reader.close()
    return sum(ends[topic] - committed[topic] for topic in ends)


def _wait_for(read: Callable[[], int], good: Callable[[int], bool], timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = read()
        except Exception:  # the job's topics may not exist yet
            value = -1
        if good(value):
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not reached in {timeout:.0f} s (last value {value})")
        time.sleep(0.1)


def _engine_steps(engine: Child, job_id: str) -> dict[str, Any]:
    """The engine's own account of the stop: how long each step took (its log line)."""
    for _, entry in engine.lines:
        if entry.get("job_id") == job_id and entry.get("event") in (
            "job cancelled",
            "job's CDC completed",
        ):
            return {key: value for key, value in entry.items() if key.endswith("_s")}
    return {}


def _engine_started(lines: list[tuple[float, dict[str, Any]]]) -> float | None:
    return next((at for at, entry in lines if entry.get("event") == "connect engine started"), None)


def _engine_env(
    bootstrap: str, topics: Topics, connect: LocalConnect, shop: SampleShop, ferretdb: LocalFerretDB
) -> dict[str, str]:
    return {
        "SYNCCTL_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
        "SYNCCTL_LOG__FORMAT": "json",
        **topics.env(),
        "SYNCCTL_ENGINE__CONNECT_URL": connect.url,
        "SYNCCTL_ENGINE__GROUP_ID": unique("engine"),
        "SYNCCTL_ENGINE__SOURCES__SHOP__PORT": str(shop.port),
        "SYNCCTL_ENGINE__SOURCES__SHOP__DATABASE": shop.database,
        "SYNCCTL_ENGINE__SOURCES__SHOP__USER": shop.user,
        "SYNCCTL_ENGINE__SOURCES__SHOP__PASSWORD": shop.password,
        "SYNCCTL_ENGINE__DESTINATIONS__LOCAL__URI": ferretdb.uri,
        "SYNCCTL_ENGINE__DESTINATIONS__LOCAL__DOCUMENT_ID": "key_string",
        "SYNCCTL_ENGINE__DESTINATIONS__LOCAL__SERVER": "ferretdb",
    }


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
