"""The cyclic garbage collector with a fleet in the worker's store: CPU per command, pauses, leaks.

    python -m bench.collector [--fleet 0 100000 1000000] [--commands 150000] [--rounds 2]

In-process and without a broker, as bench/breakdown.py runs the worker's path (handler,
checkpoint, a librdkafka producer that only queues). Before the commands, the store holds
`--fleet` jobs restored from their changelog bytes and then read once each (parsed into
models, as jobs that were touched are), like a worker that has served its fleet for a while.
Then the throughput stream (create, terminate, stopped per new job) runs through it, once with
Python's collector as it comes ("default") and once with the worker's policy ("frozen":
`gc.freeze()` once the store is restored and at most every 0.1 s as the loop turns, see
syncctl/worker/collector.py), alternating, `--rounds` times each.

Reported per run: CPU µs per command; every collection's pause (count, p99, max, by
generation, from `gc.callbacks`); and after a frozen run, what a full collection of everything,
the frozen objects included, finds unreachable (`gc.unfreeze(); gc.collect()`): cyclic garbage
the policy kept alive, i.e. a leak.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from bench.breakdown import PARTITIONS, _messages, _QueueOnlyProducer, worker_parts
from bench.restore import _PLACEHOLDER, record_templates
from syncctl.kafka.partitioning import partition_for
from syncctl.logging import configure_logging
from syncctl.settings import Settings
from syncctl.store import StateStore
from syncctl.worker.collector import Collector

FREEZE_EVERY = 0.1  # the worker's default (worker.gc_freeze_interval_ms)


def _fleet_store(fleet: int) -> StateStore:
    store = StateStore(count_statuses=True)
    for partition in range(PARTITIONS):
        store.add_partition(partition)
    running, _ = record_templates()
    head, tail = running.split(_PLACEHOLDER.encode())
    for n in range(fleet):
        key = f"fleet-{n:07d}".encode()
        store.partition(partition_for(key, PARTITIONS)).restore(key, head + key + tail)
    for n in range(fleet):  # touched once: parsed, as a served fleet's jobs are
        job = f"fleet-{n:07d}"
        store.get(partition_for(job.encode(), PARTITIONS), job)
    return store


def run(
    fleet: int, commands: int, policy: str, freeze_every: float = FREEZE_EVERY
) -> dict[str, Any]:
    settings = Settings()
    store = _fleet_store(fleet)
    messages = _messages(commands // 3)
    collector = Collector(freeze_every if policy == "frozen" else 0.0)
    gc.collect()
    collector.install()
    collector.store_restored()
    producer = _QueueOnlyProducer()
    handler, checkpoint = worker_parts(settings, store, producer)
    now = datetime.now(UTC)
    batch = 200  # transactions of a busy worker
    began = time.process_time()
    for start in range(0, len(messages), batch):
        for message in messages[start : start + batch]:
            handler.handle(message, checkpoint, now)
        checkpoint.commit()
        collector.turn_ended()
        if start % 20_000 == 0:
            producer.purge()  # the queue-only producer never sends: keep it from filling
    cpu = time.process_time() - began
    collector.uninstall()
    pauses = collector.pauses()
    result: dict[str, Any] = {
        "fleet": fleet,
        "policy": policy,
        "commands": len(messages),
        "cpu_us_per_command": round(cpu / len(messages) * 1e6, 2),
        "collections": len(pauses),
        "pause_p99_ms": _ms(_percentile([p for _, p in pauses], 0.99)),
        "pause_max_ms": _ms(max((p for _, p in pauses), default=0.0)),
        "by_generation": {
            str(g): {
                "count": sum(1 for gen, _ in pauses if gen == g),
                "max_ms": _ms(max((p for gen, p in pauses if gen == g), default=0.0)),
            }
            for g in (0, 1, 2)
        },
        "frozen_objects": gc.get_freeze_count(),
    }
    if policy == "frozen":
        gc.unfreeze()
        began = time.perf_counter()
        result["unreachable_found_by_a_full_collection"] = gc.collect()
        result["full_collection_of_everything_ms"] = _ms(time.perf_counter() - began)
    producer.purge()
    del handler, checkpoint, store
    gc.collect()
    return result


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fleet", type=int, nargs="+", default=[0, 100_000, 1_000_000])
    parser.add_argument("--commands", type=int, default=150_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--freeze-every", type=float, default=FREEZE_EVERY, help="seconds")
    options = parser.parse_args()
    configure_logging("WARNING", "json")
    runs = []
    for fleet in options.fleet:
        for n in range(options.rounds):
            order = ("default", "frozen") if n % 2 == 0 else ("frozen", "default")
            for policy in order:
                runs.append(run(fleet, options.commands, policy, options.freeze_every))
                print(json.dumps(runs[-1]), flush=True)
    summary = {}
    for fleet in options.fleet:
        for policy in ("default", "frozen"):
            mine = [r for r in runs if r["fleet"] == fleet and r["policy"] == policy]
            summary[f"{fleet} {policy}"] = {
                "cpu_us_per_command": statistics.median(r["cpu_us_per_command"] for r in mine),
                "pause_max_ms": max(r["pause_max_ms"] for r in mine),
                "pause_p99_ms": max(r["pause_p99_ms"] for r in mine),
            }
    print(json.dumps({"summary": summary}, indent=2))


if __name__ == "__main__":
    main()
