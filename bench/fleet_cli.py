"""`syncctl jobs` on a fleet of 100,000 jobs: this branch's CLI against another commit's.

    python -m bench.fleet_cli [--jobs 100000] [--baseline main] [--rounds 3]
                              [--bootstrap-servers HOST:PORT] [--keep-topic]

Fills a fresh 12-partition compacted state topic (as the worker creates it) with `--jobs`
realistic job records, produced directly as the worker writes them (`JobRecord` JSON, lz4,
keyed by job id, partitioned as Kafka's Java producer does): varied statuses (most jobs ended,
as in a fleet that has migrated for a year), both modes, five sources, stats, specs and a few
command ids each; 10 % of the jobs were written twice (an older version first, which the
listing must ignore) and 1 % of the ids end with a tombstone (a removed job).

Then runs each command `--rounds` times as a separate process, `python -m syncctl jobs ...`,
with stdout to a file, once with this checkout's `src/` first on PYTHONPATH and once with
the baseline commit's (`git archive`, see bench/baseline.py); the same interpreter, libraries
and broker. For each: wall time (median of the rounds), CPU time (user + system) and the
child's max RSS (from `wait4`), and the lines printed. The baseline has no --limit or --status:
its rows are `syncctl jobs` and `syncctl jobs --json`, which is what a user of it had to run.

Without --bootstrap-servers a local broker is started (syncctl.local.LocalKafka) and stopped
at the end. Prints a table and one JSON document with every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

from bench.baseline import checked_out
from bench.common import (
    PARTITIONER,
    PARTITIONS,
    REPO,
    STATE_CONFIG,
    close_producer,
    create_topics,
    delete_topics,
    produce,
    unique,
)
from syncctl.contract import JobRecord, Mode, Stages, StageState, Stats, Status
from syncctl.kafka.config import OUTPUT_COMPRESSION
from syncctl.local import LocalKafka

SOURCES = ("shop", "crm", "billing", "ledger", "hr")
USERS = ("alice", "bob", "carol", "reference-runner", "ops-bot")
# (status, weight, mode or None for either, snapshot stage, cdc stage)
MIX: tuple[tuple[Status, int, Mode | None, StageState, StageState], ...] = (
    (Status.CDC_COMPLETED, 30, Mode.CONTINUOUS, StageState.COMPLETED, StageState.COMPLETED),
    (Status.COMPLETED, 25, Mode.SNAPSHOT, StageState.COMPLETED, StageState.NOT_STARTED),
    (Status.SNAPSHOT_CANCELLED, 12, None, StageState.CANCELLED, StageState.NOT_STARTED),
    (Status.FAILED, 5, None, StageState.FAILED, StageState.NOT_STARTED),
    (Status.CDC_RUNNING, 15, Mode.CONTINUOUS, StageState.COMPLETED, StageState.RUNNING),
    (Status.SNAPSHOT_RUNNING, 6, None, StageState.RUNNING, StageState.NOT_STARTED),
    (Status.PAUSED, 3, None, StageState.PAUSED, StageState.NOT_STARTED),
    (Status.NOT_STARTED, 2, None, StageState.NOT_STARTED, StageState.NOT_STARTED),
    (Status.CDC_COMPLETING, 1, Mode.CONTINUOUS, StageState.COMPLETED, StageState.RUNNING),
    (Status.CANCELLING, 1, None, StageState.RUNNING, StageState.NOT_STARTED),
)
REWRITTEN_EVERY = 10  # one job in ten has an older version earlier in the topic
REMOVED_EVERY = 100  # one job id in a hundred ends with a tombstone
# What starting the CLI costs before it reads anything (its imports): the floor of every row.
FLOOR = {"jobs --help (start-up only)": ["jobs", "--help"]}
COMMANDS: dict[str, list[str]] = {
    **FLOOR,
    "jobs --limit 50": ["jobs", "--limit", "50"],
    "jobs --status CDC_RUNNING --limit 50": ["jobs", "--status", "CDC_RUNNING", "--limit", "50"],
    "jobs --all --json": ["jobs", "--all", "--json"],
    "jobs --json --limit 50": ["jobs", "--json", "--limit", "50"],
}
BASELINE_COMMANDS: dict[str, list[str]] = {
    **FLOOR,
    "jobs (every row)": ["jobs"],
    "jobs --json (every row)": ["jobs", "--json"],
}


def job_record(number: int, rng: random.Random, now: datetime) -> JobRecord:
    status, _, mode, snapshot, cdc = rng.choices(MIX, weights=[m[1] for m in MIX])[0]
    mode = mode or rng.choice((Mode.SNAPSHOT, Mode.CONTINUOUS))
    created = now - timedelta(seconds=rng.uniform(60, 365 * 86_400))
    changed = created + timedelta(seconds=rng.uniform(1, (now - created).total_seconds()))
    tables = rng.randint(1, 12)
    done = tables if snapshot is StageState.COMPLETED else rng.randint(0, tables)
    source = SOURCES[number % len(SOURCES)]  # so that a job's id follows from its number
    return JobRecord(
        job_id=f"{source}-{number:07d}",
        mode=mode,
        spec={
            "source": source,
            "tables": [f"public.table_{n}" for n in range(tables)],
            "destination": "archive",
            "database": source,
        },
        status=status,
        stages=Stages(snapshot=snapshot, cdc=cdc),
        stats=Stats(
            tables_total=tables,
            tables_done=done,
            rows_migrated=rng.randint(0, 50_000_000),
            events_seen=rng.randint(0, 1_000_000) if cdc is not StageState.NOT_STARTED else None,
        ),
        reason="connector orders-sink failed: timeout" if status is Status.FAILED else None,
        created_at=created,
        created_by=rng.choice(USERS),
        updated_at=changed + timedelta(seconds=rng.uniform(0, 30)),
        status_changed_at=changed,
        last_requested_by=rng.choice(USERS),
        applied_command_ids=tuple(f"{rng.getrandbits(128):032x}" for _ in range(rng.randint(1, 4))),
    )


def fill(bootstrap: str, topic: str, jobs: int, seed: int = 24) -> dict[str, Any]:
    """Write `jobs` job records (plus older versions and tombstones) to `topic`."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "linger.ms": 50,
            "partitioner": PARTITIONER,
            "batch.size": 900_000,
            "queue.buffering.max.messages": 1_000_000,
            "queue.buffering.max.kbytes": 1_048_576,
            "compression.type": OUTPUT_COMPRESSION,
        }
    )
    messages = value_bytes = 0
    statuses: dict[str, int] = {}
    for number in range(jobs):
        record = job_record(number, rng, now)
        key = record.job_id.encode()
        if number % REWRITTEN_EVERY == 0:  # an older version, superseded below
            older = record.model_copy(
                update={"status": Status.SNAPSHOT_RUNNING, "updated_at": now, "version": 0}
            )
            produce(producer, topic, key, older.model_dump_json().encode())
            messages += 1
        value = record.model_dump_json().encode()
        produce(producer, topic, key, value)
        messages += 1
        value_bytes += len(value)
        statuses[record.status.value] = statuses.get(record.status.value, 0) + 1
        if number % 10_000 == 0:
            producer.poll(0)
    for number in range(0, jobs, REMOVED_EVERY):
        produce(producer, topic, f"removed-{number:07d}".encode(), b'{"not": "read"}')
        produce(producer, topic, f"removed-{number:07d}".encode(), None)
        messages += 2
    if producer.flush(300) != 0:
        raise TimeoutError(f"records for {topic} not delivered within 300 s")
    close_producer(producer)
    return {
        "jobs": jobs,
        "messages": messages,
        "value_mib": round(value_bytes / 2**20, 1),
        "statuses": dict(sorted(statuses.items())),
    }


# Runs the command as its own child and reports that child's figures on stderr's last line. A
# process started straight from this one would inherit this process's peak RSS (Linux keeps
# the high-water mark across fork and exec), so every row would show at least the bench's.
_LAUNCHER = """
import os, sys, time
began = time.monotonic()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
wall = time.monotonic() - began
print(f"{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime} {wall}", file=sys.stderr)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_once(source: Path, arguments: list[str], env: dict[str, str]) -> dict[str, Any]:
    """One `syncctl` process: wall seconds, CPU seconds, max RSS in MiB, lines printed."""
    with tempfile.TemporaryFile() as out:
        process = subprocess.run(
            [sys.executable, "-S", "-c", _LAUNCHER, sys.executable, "-m", "syncctl", *arguments],
            env={**os.environ, **env, "PYTHONPATH": str(source)},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.PIPE,
            check=False,
        )
        *errors, figures = process.stderr.decode().strip().splitlines() or [""]
        if process.returncode != 0:
            raise RuntimeError(f"syncctl {' '.join(arguments)}: {chr(10).join(errors)}")
        max_rss_kib, cpu, wall = (float(figure) for figure in figures.split())
        out.seek(0)
        lines = sum(1 for _ in out)
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "max_rss_mib": round(max_rss_kib / 1024, 1),
        "lines": lines,
        "stderr": errors[-1:],
    }


def measure(source: Path, arguments: list[str], env: dict[str, str], rounds: int) -> dict[str, Any]:
    runs = [run_once(source, arguments, env) for _ in range(rounds)]
    return {
        "wall_s": statistics.median(r["wall_s"] for r in runs),
        "cpu_s": statistics.median(r["cpu_s"] for r in runs),
        "max_rss_mib": max(r["max_rss_mib"] for r in runs),
        "lines": runs[0]["lines"],
        "last_stderr_line": runs[0]["stderr"][0] if runs[0]["stderr"] else None,
        "walls_s": [r["wall_s"] for r in runs],
    }


@contextlib.contextmanager
def broker(address: str | None) -> Iterator[str]:
    if address:
        yield address
        return
    with LocalKafka(lib_dir=REPO / ".local" / "kafka" / "lib") as kafka:
        yield kafka.bootstrap_servers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--baseline", default="main", help="the commit to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bootstrap-servers")
    parser.add_argument("--keep-topic", action="store_true", help="do not delete the topic")
    options = parser.parse_args()
    with broker(options.bootstrap_servers) as bootstrap, checked_out(options.baseline) as base:
        prefix = unique(f"fleet{options.jobs}")
        state = f"{prefix}.state"
        create_topics(bootstrap, {state: STATE_CONFIG}, PARTITIONS)
        began = time.monotonic()
        filled = fill(bootstrap, state, options.jobs)
        filled["fill_seconds"] = round(time.monotonic() - began, 1)
        print(f"filled {state}: {json.dumps(filled)}", file=sys.stderr, flush=True)
        env = {
            "SYNCCTL_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "SYNCCTL_TOPICS__STATE": state,
            "USER": "bench",
        }
        results: dict[str, Any] = {"fleet": filled, "load_average_1m": os.getloadavg()[0]}
        sides = (
            ("new", REPO / "src", COMMANDS),
            (f"baseline {options.baseline} ({base.commit[:10]})", base.source, BASELINE_COMMANDS),
        )
        for side, source, commands in sides:
            for name, arguments in commands.items():
                figures = measure(source, arguments, env, options.rounds)
                results[f"{side}: syncctl {name}"] = figures
                print(
                    f"{side:<30} syncctl {name:<38} {figures['wall_s']:6.2f} s wall  "
                    f"{figures['cpu_s']:6.2f} s CPU  {figures['max_rss_mib']:7.1f} MiB  "
                    f"{figures['lines']:>7,} lines",
                    file=sys.stderr,
                    flush=True,
                )
        if not options.keep_topic:
            delete_topics(bootstrap, [state])
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
