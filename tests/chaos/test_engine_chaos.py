"""Engine chaos: real jobs on the real stack while its servers are killed.

PostgreSQL → Debezium → Kafka → MongoDB sink → FerretDB, driven by a worker and the Connect
engine. Snapshot and continuous jobs run over tables that change all the time (long TOASTed
values that updates leave alone included); terminate, pause, resume and Complete CDC are sent
while the engine (SIGKILL), a Kafka Connect worker (SIGKILL, one of two), FerretDB (SIGKILL)
and PostgreSQL (fast shutdown and restart) go down at seeded random moments.

At the end: every job has exactly one final status on the events topic; every unforced *CDC
Completed* and every *Completed* destination equals its source; every *Snapshot cancelled*
destination holds only documents equal to a version of their row that was written to the
source; nothing of an ended job remains (connector, slot, publication, topic); no Debezium
placeholder in any destination and no password in any log.

`make chaos` runs it (SYNCCTL_CHAOS=full, about 6 minutes); SYNCCTL_CHAOS_SEED=N reproduces a
run's schedule (the servers' own timing still varies).
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from syncctl import SyncJobsClient
from syncctl.connect.connectors import JobNames
from syncctl.contract import JobRecord, Status
from tests.integration.harness import (
    EventReader,
    SyncctlProcess,
    Topics,
    WorkerProcess,
    require_postgres,
    syncctl_env,
    wait_until,
    wait_until_consuming,
)

psycopg = pytest.importorskip("psycopg")
pymongo = pytest.importorskip("pymongo")

pytestmark = pytest.mark.skipif(
    os.environ.get("SYNCCTL_CHAOS") != "full",
    reason="the engine chaos run is part of `make chaos` (SYNCCTL_CHAOS=full)",
)

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "chaos-source-secret"
PLACEHOLDER = "__debezium_unavailable_value"
LIVE_TABLES = 4  # one continuous job each
LIVE_ROWS = 1_500
ARCHIVE_ROWS = 120_000  # a snapshot long enough to be terminated while it copies
STOCK_ROWS = 3_000
CHAOS_SECONDS = 150.0
KINDS = ("engine", "connect", "ferretdb", "postgres")


def _body(row_id: int) -> str:
    """A value PostgreSQL stores out of line (TOAST) and that updates never touch."""
    return f"row {row_id} " + "abcdefghij" * 300


@dataclass
class Versions:
    """Every (version, amount) a row of a live table was given, committed or maybe so (a
    statement cut by a PostgreSQL restart may have committed)."""

    written: dict[int, set[tuple[int, int]]] = field(default_factory=lambda: defaultdict(set))


class SourceTraffic:
    """Inserts, updates (never of the TOASTed body) and deletes on one table, about 8 a second,
    until stopped; it rides out PostgreSQL restarts by connecting again."""

    def __init__(self, dsn: str, table: str, rng: random.Random, versions: Versions) -> None:
        self._dsn, self._table, self._rng, self._versions = dsn, table, rng, versions
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.changes = 0
        self._next_id = LIVE_ROWS + 1
        self._version = 1

    def start(self) -> SourceTraffic:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        connection = None
        while not self._stop.wait(0.125):
            try:
                if connection is None:
                    connection = psycopg.connect(self._dsn, autocommit=True)
                self._change(connection)
            except psycopg.OperationalError:
                connection = None
                self._stop.wait(0.5)

    def _change(self, connection: Any) -> None:
        self._version += 1
        version, choice = self._version, self._rng.random()
        if choice < 0.2:
            row_id = self._next_id
            self._next_id += 1
            self._versions.written[row_id].add((version, row_id * 1000 + version))
            connection.execute(
                f"INSERT INTO public.{self._table} VALUES (%s, %s, %s, %s)",
                (row_id, version, row_id * 1000 + version, _body(row_id)),
            )
        elif choice < 0.9:
            first = self._rng.randrange(1, self._next_id)
            ids = range(first, min(first + self._rng.choice((1, 1, 5, 40)), self._next_id))
            for row_id in ids:
                self._versions.written[row_id].add((version, row_id * 1000 + version))
            connection.execute(
                f"UPDATE public.{self._table} SET version = %s, amount = id * 1000 + %s "
                "WHERE id BETWEEN %s AND %s",
                (version, version, ids.start, ids.stop - 1),
            )
        else:
            connection.execute(
                f"DELETE FROM public.{self._table} WHERE id = %s",
                (self._rng.randrange(1, self._next_id),),
            )
        self.changes += 1


@dataclass
class Stack:
    kafka_bootstrap: str
    postgres: Any
    ferretdb: Any
    connect: list[Any]

    def dsn(self) -> str:
        return self.postgres.dsn("shop", "engine", PASSWORD)


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str) -> Iterator[Stack]:
    from concurrent.futures import ThreadPoolExecutor

    from syncctl.local import LocalFerretDB, LocalPostgres
    from syncctl.local.connect import LocalConnect

    require_postgres()
    with LocalPostgres() as postgres, LocalFerretDB() as ferretdb:
        with psycopg.connect(postgres.dsn(), autocommit=True) as admin:
            admin.execute(f"CREATE ROLE engine WITH LOGIN REPLICATION PASSWORD '{PASSWORD}'")
            admin.execute("CREATE DATABASE shop OWNER engine")
        group = f"chaos-connect-{uuid.uuid4().hex[:6]}"
        workers = [
            LocalConnect(kafka_bootstrap, cache_dir=REPO / ".local" / "connect", group_id=group)
            for _ in range(2)
        ]
        try:
            with ThreadPoolExecutor(2) as starting:
                list(starting.map(lambda worker: worker.start(), workers))
            yield Stack(kafka_bootstrap, postgres, ferretdb, workers)
        finally:
            for worker in workers:
                worker.stop()


def _fill(stack: Stack) -> None:
    with psycopg.connect(stack.dsn(), autocommit=True) as shop:
        for n in range(LIVE_TABLES):
            shop.execute(
                f"CREATE TABLE public.live_{n} "
                "(id int PRIMARY KEY, version int, amount bigint, body text)"
            )
            # Out of line without compression: every row's body is a TOASTed value.
            shop.execute(f"ALTER TABLE public.live_{n} ALTER COLUMN body SET STORAGE EXTERNAL")
            shop.execute(
                f"INSERT INTO public.live_{n} SELECT n, 1, n * 1000 + 1, "
                f"'row ' || n || ' ' || repeat('abcdefghij', 300) "
                f"FROM generate_series(1, {LIVE_ROWS}) n"
            )
        shop.execute("CREATE TABLE public.archive (id int PRIMARY KEY, amount bigint)")
        shop.execute(
            f"INSERT INTO public.archive SELECT n, n * 7 FROM generate_series(1, {ARCHIVE_ROWS}) n"
        )
        shop.execute("CREATE TABLE public.stock (id int PRIMARY KEY, amount bigint)")
        shop.execute(
            f"INSERT INTO public.stock SELECT n, n * 3 FROM generate_series(1, {STOCK_ROWS}) n"
        )


@dataclass(frozen=True)
class Kill:
    at: float
    kind: str
    down_for: float


def _schedule(rng: random.Random) -> list[Kill]:
    """Each kind of kill at least once, and as many again at random, over the chaos window."""
    kinds = [*KINDS, *rng.choices(KINDS, k=len(KINDS))]
    rng.shuffle(kinds)
    times = sorted(rng.uniform(10, CHAOS_SECONDS - 10) for _ in kinds)
    return [Kill(at, kind, rng.uniform(1, 8)) for at, kind in zip(times, kinds, strict=True)]


# The chaos window, up to 300 s for every job to end, then the checks: more than pytest's 300 s.
@pytest.mark.timeout(900)
def test_jobs_end_correct_and_leave_nothing_while_the_engine_connect_and_databases_die(
    kafka_bootstrap: str, stack: Stack, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    seed = int(os.environ.get("SYNCCTL_CHAOS_SEED", random.randrange(1, 10**6)))
    rng = random.Random(seed)
    about = f"(seed {seed}: rerun with SYNCCTL_CHAOS_SEED={seed})"
    kills = _schedule(random.Random(seed + 1))
    print(f"engine chaos seed {seed}: kills {[(round(k.at), k.kind) for k in kills]}")
    _fill(stack)

    topics = Topics.unique(unique_name)
    worker = WorkerProcess(kafka_bootstrap, topics, unique_name("group"))
    worker.start()
    engine_env = {
        **syncctl_env(kafka_bootstrap, topics),
        "SYNCCTL_ENGINE__CONNECT_URL": ",".join(w.url for w in stack.connect),
        "SYNCCTL_ENGINE__GROUP_ID": unique_name("engine"),
        "SYNCCTL_ENGINE__INSTANCE_ID": "chaos-engine",
        "SYNCCTL_ENGINE__SOURCES__SHOP__PORT": str(stack.postgres.port),
        "SYNCCTL_ENGINE__SOURCES__SHOP__DATABASE": "shop",
        "SYNCCTL_ENGINE__SOURCES__SHOP__USER": "engine",
        "SYNCCTL_ENGINE__SOURCES__SHOP__PASSWORD": PASSWORD,
        "SYNCCTL_ENGINE__DESTINATIONS__LOCAL__URI": stack.ferretdb.uri,
        "SYNCCTL_ENGINE__DESTINATIONS__LOCAL__DOCUMENT_ID": "key_string",
        "SYNCCTL_ENGINE__DESTINATIONS__LOCAL__SERVER": "ferretdb",
    }
    engine = SyncctlProcess(["runner", "--engine", "connect"], engine_env)
    engine.start()
    events = EventReader(kafka_bootstrap, topics.events)
    client = SyncJobsClient(kafka_bootstrap, topics=topics.settings(), requested_by="chaos")
    versions = {n: Versions() for n in range(LIVE_TABLES)}
    traffic = {
        n: SourceTraffic(stack.dsn(), f"live_{n}", random.Random(seed + 10 + n), versions[n])
        for n in range(LIVE_TABLES)
    }
    try:
        wait_until_consuming(
            {"bootstrap.servers": kafka_bootstrap}, engine_env["SYNCCTL_ENGINE__GROUP_ID"], engine
        )
        for source in traffic.values():
            source.start()

        def spec(table: str) -> dict[str, Any]:
            return {
                "source": "shop",
                "tables": [f"public.{table}"],
                "destination": "local",
                "database": table,
            }

        live = {f"live-{n}": n for n in range(LIVE_TABLES)}
        for job_id, n in live.items():
            client.create(job_id, "continuous", spec=spec(f"live_{n}"))
        client.create("archive", "snapshot", spec=spec("archive"))
        client.create("stock", "snapshot", spec=spec("stock"))

        # What each job is asked, and when (seconds into the chaos window).
        plan: list[tuple[float, str, str]] = [(rng.uniform(5, 40), "archive", "terminate")]
        for job_id in live:
            complete_at = rng.uniform(60, CHAOS_SECONDS)
            if rng.random() < 0.5:
                pause_at = rng.uniform(20, complete_at - 20)
                resume_at = pause_at + rng.uniform(3, 15)
                plan += [(pause_at, job_id, "pause"), (resume_at, job_id, "resume")]
            plan.append((complete_at, job_id, "complete"))
        plan.sort()

        began = time.monotonic()
        done_kills: list[str] = []
        pending_kills, pending_plan = list(kills), list(plan)
        while pending_kills or pending_plan:
            now = time.monotonic() - began
            if pending_plan and pending_plan[0][0] <= now:
                _, job_id, action = pending_plan.pop(0)
                if action == "complete":  # nothing changes after the request: exact equality
                    traffic[live[job_id]].stop()
                _send(client, job_id, action)
            elif pending_kills and pending_kills[0].at <= now:
                kill = pending_kills.pop(0)
                done_kills.append(_kill(kill, stack, engine, rng))
            else:
                time.sleep(0.1)
        print(f"engine chaos seed {seed}: killed {done_kills}")

        final: dict[str, JobRecord] = {}
        nudges: list[str] = []
        nudged_at: dict[str, float] = {}

        def all_ended() -> bool:
            records = client.jobs()
            final.update({r.job_id: r for r in records if r.status.terminal})
            for record in records:
                if not record.status.terminal:
                    _carry_on(client, record, live, nudged_at, nudges)
            return set(final) >= {*live, "archive", "stock"}

        try:
            wait_until(all_ended, 300, "every job to end", interval=1.0)
        except AssertionError:
            stuck = {r.job_id: r.status.value for r in client.jobs() if not r.status.terminal}
            raise AssertionError(
                f"jobs that never ended {about}: {stuck}; "
                f"{_keep_logs(tmp_path, worker, engine, stack, stuck)}"
            ) from None
        events.read_until(
            lambda: all(
                any(e.get("status") in _TERMINAL for e in events.for_job(job_id))
                for job_id in final
            ),
            60,
            "every job's end on the events topic",
        )
        failed = {j: r.reason for j, r in final.items() if r.status is Status.FAILED}
        if failed:  # allowed as an end, but worth a look: keep what explains it
            kept = _keep_logs(tmp_path, worker, engine, stack, failed)
            print(f"engine chaos seed {seed}: failed {failed}; {kept}")
        forced = {
            e["job_id"] for e in events.events if e.get("status") in _TERMINAL and e.get("forced")
        }
        try:
            _check_one_end_each(events, final, about)
            checked = _check_destinations(stack, final, forced, versions, live, about)
            _check_nothing_left(stack, final, about)
        except AssertionError as broken:  # keep every log: they are what explains it
            kept = _keep_logs(tmp_path, worker, engine, stack, final)
            raise AssertionError(f"{broken}\n{kept}") from None
        engine.stop()
        _check_no_secrets(stack, worker, engine, about)
        print(
            f"engine chaos seed {seed}: ends "
            f"{dict(Counter(r.status.value for r in final.values()))}, forced {sorted(forced)}, "
            f"{sum(s.changes for s in traffic.values())} source changes; "
            f"sent again after a refusal: {nudges}; checked: {checked}"
        )
    finally:
        for source in traffic.values():
            source.stop()
        events.close()
        client.close()
        engine.stop()
        worker.stop()


_TERMINAL = {status.value for status in Status if status.terminal}


def _carry_on(
    client: SyncJobsClient,
    record: JobRecord,
    live: dict[str, int],
    nudged_at: dict[str, float],
    nudges: list[str],
) -> None:
    """What an operator does after the chaos window with a job whose stop was refused (a
    Complete CDC sent while a pause or resume was pending, or while the job was paused or still
    in its snapshot stage): ask again once the job can take it. A snapshot job is never asked:
    it must end by itself, and nothing is sent while a stop or change is pending."""
    if record.stop or record.change or time.monotonic() - nudged_at.get(record.job_id, 0) < 10:
        return
    if record.status is Status.PAUSED:
        action = "resume"
    elif record.job_id in live and record.status is Status.CDC_RUNNING:
        action = "complete"
    elif record.job_id == "archive" and record.status is Status.SNAPSHOT_RUNNING:
        action = "terminate"
    else:
        return
    nudged_at[record.job_id] = time.monotonic()
    nudges.append(f"{action} {record.job_id}")
    _send(client, record.job_id, action)


def _send(client: SyncJobsClient, job_id: str, action: str) -> None:
    send = {
        "terminate": client.terminate,
        "complete": client.complete_cdc,
        "pause": client.pause,
        "resume": client.resume,
    }[action]
    send(job_id)


def _kill(kill: Kill, stack: Stack, engine: SyncctlProcess, rng: random.Random) -> str:
    """Take one server down for `kill.down_for` seconds; what was done, for the summary."""
    if kill.kind == "engine":
        engine.kill()  # its raw_stderr goes on across restarts
        time.sleep(kill.down_for)
        engine.start()
    elif kill.kind == "connect":
        worker = rng.choice(stack.connect)
        worker.kill()
        time.sleep(kill.down_for)
        worker.start()
    elif kill.kind == "ferretdb":
        stack.ferretdb.kill()
        time.sleep(kill.down_for)
        stack.ferretdb.start()
    else:
        stack.postgres.restart()  # a fast shutdown: sessions cut, then up again
    return f"{kill.kind}@{kill.at:.0f}s"


def _keep_logs(
    where: Path,
    worker: SyncctlProcess,
    engine: SyncctlProcess,
    stack: Stack,
    about_jobs: dict[str, Any],
) -> str:
    """Keep the worker's, the engine's and each Connect worker's logs of a run that went wrong;
    the engine's last lines about `about_jobs`, for the message."""
    engine_log = "".join(engine.raw_stderr)
    (where / "engine.log").write_text(engine_log)
    (where / "worker.log").write_text("".join(worker.raw_stderr))
    for n, connect in enumerate(stack.connect):
        for path in connect.log_file.parent.glob("*.log"):
            (where / f"connect-{n}-{path.name}").write_text(path.read_text(errors="replace"))
    lines = [line for line in engine_log.splitlines() if any(j in line for j in about_jobs)]
    return f"logs in {where}; the engine's last lines on them:\n" + "\n".join(lines[-15:])


def _check_one_end_each(events: EventReader, final: dict[str, JobRecord], about: str) -> None:
    for job_id in final:
        ends = [
            e
            for e in events.for_job(job_id)
            if e.get("type") == "status_changed"
            and e.get("status") in _TERMINAL
            and e.get("previous_status") not in _TERMINAL
        ]
        assert len(ends) == 1, f"{job_id} ended {len(ends)} times {about}: {ends}"


def _documents(stack: Stack, database: str, collection: str) -> dict[int, dict[str, Any]]:
    found = pymongo.MongoClient(stack.ferretdb.uri)[database][collection].find()
    return {int(doc["_id"]): doc for doc in found}


def _check_destinations(
    stack: Stack,
    final: dict[str, JobRecord],
    forced: set[str],
    versions: dict[int, Versions],
    live: dict[str, int],
    about: str,
) -> list[str]:
    checked = []
    with psycopg.connect(stack.dsn(), autocommit=True) as shop:
        for job_id, record in sorted(final.items()):
            table = record.spec.tables[0].split(".", 1)[1] if record.spec else job_id
            copied = _documents(stack, table, table)
            placeholders = [k for k, doc in copied.items() if PLACEHOLDER in repr(doc)]
            assert not placeholders, f"{job_id}: placeholders in {placeholders[:5]} {about}"
            if record.status is Status.FAILED:
                checked.append(f"{job_id} failed ({record.reason}): no placeholder")
                continue
            if job_id in live:
                rows = {
                    row[0]: row[1:]
                    for row in shop.execute(
                        f"SELECT id, version, amount, body FROM public.{table}"
                    ).fetchall()
                }
                documents = {
                    k: (d.get("version"), d.get("amount"), d.get("body")) for k, d in copied.items()
                }
            else:
                rows = {
                    row[0]: (row[1],)
                    for row in shop.execute(f"SELECT id, amount FROM public.{table}").fetchall()
                }
                documents = {k: (d.get("amount"),) for k, d in copied.items()}
            complete = record.status in (Status.COMPLETED, Status.CDC_COMPLETED)
            if complete and job_id not in forced:
                missing = set(rows) - set(documents)
                extra = set(documents) - set(rows)
                wrong = [k for k in set(rows) & set(documents) if rows[k] != documents[k]]
                assert not (missing or extra or wrong), (
                    f"{job_id} {record.status.value} but its destination differs {about}: "
                    f"missing {sorted(missing)[:5]}, extra {sorted(extra)[:5]}, "
                    f"wrong {sorted(wrong)[:5]}"
                )
                checked.append(f"{job_id} {record.status.value}: equal ({len(rows)} rows)")
            else:
                for key, document in documents.items():
                    if job_id in live:
                        version, amount, body = document
                        ever = versions[live[job_id]].written.get(key, set()) | {
                            (1, key * 1000 + 1)
                        }
                        assert (version, amount) in ever and body == _body(key), (
                            f"{job_id}: document {key} {document[:2]} is no version of its row "
                            f"{about}"
                        )
                    else:
                        assert key in rows and rows[key] == document, (
                            f"{job_id}: document {key} is not its row {about}"
                        )
                checked.append(
                    f"{job_id} {record.status.value}"
                    f"{' (forced)' if job_id in forced else ''}: "
                    f"{len(documents)} documents, each a version of its row"
                )
    return checked


def _leftovers(stack: Stack, job_ids: list[str]) -> list[str]:
    import httpx
    from confluent_kafka.admin import AdminClient

    connectors = set(httpx.get(f"{stack.connect[0].url}/connectors", timeout=30).json())
    topics = set(
        AdminClient({"bootstrap.servers": stack.kafka_bootstrap}).list_topics(timeout=10).topics
    )
    left = []
    with psycopg.connect(stack.dsn(), autocommit=True) as shop:
        slots = {row[0] for row in shop.execute("SELECT slot_name FROM pg_replication_slots")}
        publications = {row[0] for row in shop.execute("SELECT pubname FROM pg_publication")}
    for job_id in job_ids:
        names = JobNames(job_id)
        left += [c for c in (names.source, names.sink) if c in connectors]
        left += [f"slot {names.slot}"] * (names.slot in slots)
        left += [f"publication {names.publication}"] * (names.publication in publications)
        prefixes = (f"syncctl.{job_id}.", f"__debezium-heartbeat.syncctl.{job_id}")
        left += [topic for topic in topics if topic.startswith(prefixes)]
    return left


def _check_nothing_left(stack: Stack, final: dict[str, JobRecord], about: str) -> None:
    found: list[str] = []

    def clean() -> bool:
        found[:] = _leftovers(stack, sorted(final))
        return not found

    try:
        wait_until(clean, 90, "every ended job's leftovers to be removed", interval=2.0)
    except AssertionError:
        raise AssertionError(f"left behind {about}: {found}") from None


def _check_no_secrets(
    stack: Stack, worker: SyncctlProcess, engine: SyncctlProcess, about: str
) -> None:
    logs = {"engine": "".join(engine.raw_stderr), "worker": "".join(worker.raw_stderr)}
    for n, connect in enumerate(stack.connect):
        for path in connect.log_file.parent.glob("*.log"):
            logs[f"connect {n} {path.name}"] = path.read_text(errors="replace")
    leaked = [name for name, text in logs.items() if PASSWORD in text]
    assert not leaked, f"the source password is in {leaked} {about}"
