"""Throughput: commands per second from a preloaded control topic to committed outputs.

For `workers` syncctl workers in one group (or the bare transactional pipe, bench/pipe.py):
start them on empty topics, wait until the group is stable and every partition has answered a
probe, then preload `jobs` × (create, terminate, stopped) in ONE producer transaction, so the
whole input becomes visible at once. Done is when the group's committed offsets reach the end
of the input. Throughput = commands / (last output timestamp − first output timestamp).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

from bench.children import Child, attach_profiler, start_worker
from bench.common import (
    EVENTS_PER_LIFE,
    LIFE,
    PARTITIONER,
    PARTITIONS,
    PROBE,
    STATE_CONFIG,
    Topics,
    close_producer,
    create_topics,
    delete_topics,
    probe_partitions,
    produce,
    read_committed_consumer,
    unique,
    wait_for_group,
)

Kind = Literal["worker", "pipe"]


def preload_lifecycles(bootstrap: str, topic: str, jobs: int) -> dict[int, int]:
    """Write each job's create → terminate → stopped in ONE producer transaction.

    Nothing of it is visible to a read_committed consumer until the commit, so every consumer
    of the group sees the whole input at the same moment. Returns, per partition, the offset
    just after its last message (what the group has committed once it consumed everything).
    """
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "transactional.id": unique("preload"),
            "transaction.timeout.ms": 300_000,
            "linger.ms": 20,
            "batch.size": 1_000_000,
            "partitioner": PARTITIONER,
        }
    )
    ends: dict[int, int] = {}

    def delivered(error: KafkaError | None, message: Any) -> None:
        if error is None:
            ends[message.partition()] = max(ends.get(message.partition(), 0), message.offset() + 1)

    producer.init_transactions(30)
    producer.begin_transaction()
    issued = datetime.now(UTC).isoformat()
    for n in range(jobs):
        job = f"job-{n}"
        for kind, fields in LIFE:
            value = {
                "command_id": uuid.uuid4().hex,
                "type": kind,
                "job_id": job,
                "issued_at": issued,
                **fields,
            }
            produce(
                producer,
                topic,
                job,
                json.dumps(value, separators=(",", ":")).encode(),
                on_delivery=delivered,
            )
        if n % 1000 == 0:
            producer.poll(0)
    producer.flush(120)
    producer.commit_transaction(120)
    close_producer(producer)
    return ends


def wait_consumed(
    bootstrap: str, group_id: str, topic: str, ends: dict[int, int], timeout: float
) -> float | None:
    """Monotonic time at which the group had committed every preloaded offset (None: timed out)."""
    # Reads the group's committed offsets; it never subscribes, so it never joins the group.
    watcher = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group_id, "enable.auto.commit": False}
    )
    wanted = [TopicPartition(topic, p) for p in ends]
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            committed = watcher.committed(wanted, timeout=10)
            if all(tp.offset >= ends[tp.partition] for tp in committed):
                return time.monotonic()
            time.sleep(0.25)
        return None
    finally:
        watcher.close()


@dataclass
class Span:
    outputs: int
    first: float  # seconds since the epoch, output-record timestamps
    last: float

    @property
    def seconds(self) -> float:
        return self.last - self.first


def output_span(bootstrap: str, topic: str, timeout: float = 120.0) -> Span:
    """Count a topic's committed records (probes left out) and their first and last timestamp.

    Timestamps are CreateTime, set by the writer's producer when it produced the record.
    """
    reader = read_committed_consumer(bootstrap, **{"enable.partition.eof": True})
    reader.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
    at_end: set[int] = set()
    count, first, last = 0, float("inf"), float("-inf")
    deadline = time.monotonic() + timeout
    try:
        while len(at_end) < PARTITIONS and time.monotonic() < deadline:
            for message in reader.consume(10_000, 0.2):
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        at_end.add(message.partition() or 0)
                    continue
                key = message.key()
                if key is not None and key.startswith(PROBE):
                    continue
                count += 1
                stamp = message.timestamp()[1] / 1000
                first, last = min(first, stamp), max(last, stamp)
    finally:
        reader.close()
    return Span(count, first, last)


def measure(
    bootstrap: str,
    kind: Kind,
    jobs: int,
    workers: int = 1,
    timeout: float = 300.0,
    profile_dir: Path | None = None,
    source: Path | None = None,
) -> dict[str, Any]:
    """`source`: run the workers from another commit's source (bench/baseline.py)."""
    prefix = unique(f"tp-{kind}{workers}")
    topics = Topics.named(prefix)
    if kind == "worker":
        create_topics(
            bootstrap,
            {topics.control: {}, topics.state: STATE_CONFIG, topics.events: {}, topics.dlq: {}},
        )
    else:
        create_topics(bootstrap, {topics.control: {}, topics.events: {}})
    group = prefix
    children: list[Child] = []
    spies: list[subprocess.Popen[bytes]] = []
    try:
        for n in range(1, workers + 1):
            if kind == "worker":
                children.append(start_worker(bootstrap, topics, group, f"w{n}", source=source))
            else:
                argv = [
                    sys.executable,
                    "-m",
                    "bench.pipe",
                    bootstrap,
                    topics.control,
                    topics.events,
                    group,
                    f"p{n}",
                ]
                children.append(Child(argv, {}, f"pipe p{n}"))
        wait_for_group(bootstrap, group, workers)
        probe_partitions(bootstrap, topics.control, topics.events)
        wait_for_group(bootstrap, group, workers, timeout=10)  # nobody left or joined meanwhile
        if profile_dir is not None:
            spies = [
                attach_profiler(c, profile_dir / f"{prefix}-{c.name.replace(' ', '-')}.txt")
                for c in children
            ]
        cpu_before = [child.cpu_seconds() for child in children]
        ends = preload_lifecycles(bootstrap, topics.control, jobs)
        visible = time.monotonic()
        done = wait_consumed(bootstrap, group, topics.control, ends, timeout)
        # CPU per command is far steadier on a shared machine than commands/s.
        cpu_used = sum(c.cpu_seconds() - b for c, b in zip(children, cpu_before, strict=True))
        peak_rss = [child.peak_rss() for child in children]
    finally:
        for child in children:
            child.stop()
        for spy in spies:
            spy.wait(60)
    span = output_span(bootstrap, topics.events)
    commands = jobs * len(LIFE)
    expected = jobs * (EVENTS_PER_LIFE if kind == "worker" else len(LIFE))
    delete_topics(bootstrap, [topics.control, topics.state, topics.events, topics.dlq])
    return {
        "kind": kind,
        "baseline": source is not None,
        "workers": workers,
        "partitions": PARTITIONS,
        "jobs": jobs,
        "commands": commands,
        "outputs": span.outputs,
        "outputs_expected": expected,
        "complete": done is not None and span.outputs == expected,
        "seconds": round(span.seconds, 3),
        "commands_per_second": round(commands / span.seconds, 1) if span.seconds > 0 else None,
        "outputs_per_second": round(span.outputs / span.seconds, 1) if span.seconds > 0 else None,
        "wall_seconds_commit_to_offsets": round(done - visible, 3) if done is not None else None,
        "peak_rss_mib": [round(rss / 2**20, 1) for rss in peak_rss],
        "cpu_seconds": round(cpu_used, 3),
        "cpu_us_per_command": round(cpu_used / commands * 1e6, 1),
    }
