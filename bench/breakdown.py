"""Where a worker's CPU per command goes, in-process and without a broker (µs per command).

The throughput stream (jobs × create, terminate, stopped) runs through syncctl's own code in
stages, each timed with process CPU time: parsing alone; parsing and the state machine; then
the whole handler and checkpoint, producing into a real librdkafka producer that never sends
(its transactional calls are no-ops here, the queue only fills). Serializing and `produce()`
are also timed alone. Run it with another commit's syncctl first on PYTHONPATH to compare
(`python -m bench --baseline` does):

    python -m bench.breakdown [--jobs N] [--repeat N]      # prints one JSON object
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Message, Producer, TopicPartition

from bench.common import LIFE, command
from syncctl.contract import parse_control_message
from syncctl.kafka.partitioning import partition_for
from syncctl.logging import configure_logging
from syncctl.machine import Rules, apply
from syncctl.observability import WorkerMetrics
from syncctl.settings import Settings
from syncctl.store import StateStore
from syncctl.worker.checkpoint import Checkpoint
from syncctl.worker.handler import CommandHandler

PARTITIONS = 12
TOPIC = "control"


class _QueueOnlyProducer:
    """A real librdkafka producer with no broker: `produce()` costs what it costs in the worker;
    the transaction calls, which are round trips to a broker, cost nothing here."""

    def __init__(self) -> None:
        self._producer = Producer(
            {
                "bootstrap.servers": "127.0.0.1:9",
                "queue.buffering.max.messages": 2_000_000,
                "queue.buffering.max.kbytes": 2_097_151,
                "linger.ms": 900_000,
                "message.timeout.ms": 0,
                "log_level": 0,
            }
        )
        self.produce = self._producer.produce

    def begin_transaction(self) -> None: ...
    def poll(self, timeout: float) -> int:
        return 0

    def send_offsets_to_transaction(self, offsets: Any, metadata: Any, timeout: float) -> None: ...
    def commit_transaction(self, timeout: float) -> None: ...
    def abort_transaction(self, timeout: float) -> None: ...

    def purge(self) -> None:
        self._producer.purge()


class _NoConsumer:
    def consumer_group_metadata(self) -> None:
        return None

    def committed(self, partitions: list[TopicPartition], timeout: float) -> list[TopicPartition]:
        return partitions

    def seek(self, partition: TopicPartition) -> None: ...


def worker_parts(
    settings: Settings, store: StateStore, producer: _QueueOnlyProducer
) -> tuple[CommandHandler, Checkpoint]:
    """The worker's handler and checkpoint over `store`, producing into `producer`, with every
    partition ready."""
    metrics = WorkerMetrics(settings.worker.batch_max)
    checkpoint = Checkpoint(
        producer,  # type: ignore[arg-type]
        _NoConsumer(),  # type: ignore[arg-type]
        store,
        settings.topics,
        10.0,
        ready_partitions=lambda: range(PARTITIONS),
        outcomes=metrics,
    )
    return CommandHandler(settings, store, metrics, PARTITIONS), checkpoint


def _messages(jobs: int) -> list[Message]:
    messages, offsets = [], [0] * PARTITIONS
    now_ms = int(time.time() * 1000)
    for n in range(jobs):
        job = f"job-{n}"
        partition = partition_for(job.encode(), PARTITIONS)
        for kind, fields in LIFE:
            messages.append(
                Message(
                    topic=TOPIC,
                    partition=partition,
                    offset=offsets[partition],
                    key=job.encode(),
                    value=command(job, kind, **fields),
                    timestamp=(1, now_ms),
                )
            )
            offsets[partition] += 1
    return messages


def _cpu_us_per(count: int, run: Callable[[], None]) -> float:
    gc.collect()
    began = time.process_time()
    run()
    return (time.process_time() - began) / count * 1e6


def measure(jobs: int) -> dict[str, float]:
    settings = Settings()
    messages = _messages(jobs)
    count = len(messages)
    now = datetime.now(UTC)
    rules = Rules(history_limit=settings.worker.history_limit)
    raw = [(m.key(), m.value()) for m in messages]

    def parse_only() -> None:
        for key, value in raw:
            parse_control_message(key, value)

    parsed = [parse_control_message(key, value) for key, value in raw]

    def machine_only(keep: list[Any] | None = None) -> None:
        records: dict[str, Any] = {}
        for message in parsed:
            transition = apply(records.get(message.job_id), message, now, rules)
            records[message.job_id] = transition.record
            if keep is not None:
                keep.append(transition)

    producer = _QueueOnlyProducer()

    def worker_path() -> None:
        store = StateStore(count_statuses=True)
        for partition in range(PARTITIONS):
            store.add_partition(partition)
        handler, checkpoint = worker_parts(settings, store, producer)
        batch_max = settings.worker.batch_max
        for start in range(0, count, batch_max):
            for message in messages[start : start + batch_max]:
                handler.handle(message, checkpoint, now)
            checkpoint.commit()

    figures = {
        "parse": _cpu_us_per(count, parse_only),
        "machine": _cpu_us_per(count, lambda: machine_only()),
    }
    transitions: list[Any] = []
    machine_only(transitions)
    events = [event for t in transitions for event in t.events]
    records = [t.record for t in transitions if t.record is not None]
    serialize = _serializer()
    figures["serialize_events"] = _cpu_us_per(count, lambda: [serialize(e) for e in events])
    # One record per job per transaction is written (its last value): as many as jobs.
    figures["serialize_records"] = _cpu_us_per(
        count, lambda: [serialize(r) for r in records[:jobs]]
    )
    payloads = [serialize(e) for e in events]
    figures["produce"] = _cpu_us_per(
        count, lambda: [producer.produce("events", p, b"job") for p in payloads + payloads[:jobs]]
    )
    producer.purge()
    figures["worker_path"] = _cpu_us_per(count, worker_path)
    producer.purge()
    figures["shell_rest"] = figures["worker_path"] - sum(
        figures[k] for k in ("parse", "machine", "serialize_events", "serialize_records", "produce")
    )
    return {name: round(value, 2) for name, value in figures.items()}


def _serializer() -> Callable[[Any], bytes]:
    try:
        from syncctl.contract.serialization import to_json

        return to_json
    except ImportError:  # older commits
        return lambda model: model.model_dump_json().encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs; the medians are printed")
    args = parser.parse_args()
    configure_logging("WARNING", "json")  # as the benchmarks run the worker
    runs = [measure(args.jobs) for _ in range(args.repeat)]
    print(json.dumps({k: sorted(r[k] for r in runs)[len(runs) // 2] for k in runs[0]}))


if __name__ == "__main__":
    main()
