"""Restore: how long a worker takes to rebuild N job records from the state topic, and its memory.

Writes N valid job records (JobRecord JSON, compressed like the worker's own changelog; 1 %
with a pending stop, whose deadline is a year away, so that the parse-at-restore path is
exercised but no deadline fires) to a compacted 12-partition state topic with a matching empty
control topic. Then starts a worker and times, from its log lines on stderr, from process start
and from "partitions assigned; restoring state" to the "partitions ready" line that makes all
partitions ready. Peak RSS is VmHWM of the worker process once it is ready.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka import Producer

from bench.children import first_event, ready_partitions, start_worker
from bench.common import (
    PARTITIONER,
    PARTITIONS,
    STATE_CONFIG,
    Topics,
    close_producer,
    create_topics,
    delete_topics,
    produce,
    unique,
)
from syncctl.contract import JobRecord, PendingStop, Stages, StageState, Status
from syncctl.kafka.config import OUTPUT_COMPRESSION

_PLACEHOLDER = "JOBIDPLACEHOLDER"
PENDING_STOP_EVERY = 100  # 1 % of the records have a pending stop


def record_templates() -> tuple[bytes, bytes]:
    """A running job's record and a cancelling one's, with a placeholder job id."""
    now = datetime.now(UTC)
    running = JobRecord(
        job_id=_PLACEHOLDER,
        mode="snapshot",
        status=Status.SNAPSHOT_RUNNING,
        stages=Stages(snapshot=StageState.RUNNING),
        created_at=now,
        created_by="bench",
        updated_at=now,
        status_changed_at=now,
        last_requested_by="bench",
        applied_command_ids=("c" * 32, "d" * 32),
    )
    stop = PendingStop(
        command_id="e" * 32,
        command_type="terminate",
        requested_at=now,
        requested_by="bench",
        deadline_at=now + timedelta(days=365),
    )
    cancelling = running.model_copy(update={"status": Status.CANCELLING, "stop": stop})
    templates = running.model_dump_json().encode(), cancelling.model_dump_json().encode()
    for template in templates:  # what the worker reads must be a valid record
        JobRecord.model_validate_json(template.replace(_PLACEHOLDER.encode(), b"job-1"))
    return templates


def write_records(
    bootstrap: str, topic: str, count: int, compression: str = OUTPUT_COMPRESSION
) -> int:
    """Write `count` records keyed by job id; return the bytes of values written."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "linger.ms": 50,
            "partitioner": PARTITIONER,
            "batch.size": 900_000,
            "queue.buffering.max.messages": 1_000_000,
            "queue.buffering.max.kbytes": 1_048_576,
            "compression.type": compression,
        }
    )
    running, cancelling = record_templates()
    head_r, tail_r = running.split(_PLACEHOLDER.encode())
    head_c, tail_c = cancelling.split(_PLACEHOLDER.encode())
    written = 0
    for n in range(count):
        job = f"job-{n:07d}".encode()
        value = head_c + job + tail_c if n % PENDING_STOP_EVERY == 0 else head_r + job + tail_r
        produce(producer, topic, job, value)
        written += len(value)
        if n % 10_000 == 0:
            producer.poll(0)
    if producer.flush(300) != 0:
        raise TimeoutError(f"records for {topic} not delivered within 300 s")
    close_producer(producer)
    return written


def measure(
    bootstrap: str, records: int, timeout: float = 300.0, compression: str = OUTPUT_COMPRESSION
) -> dict[str, Any]:
    prefix = unique(f"restore{records}")
    topics = Topics.named(prefix)
    create_topics(bootstrap, {topics.control: {}, topics.state: STATE_CONFIG})
    began = time.monotonic()
    value_bytes = write_records(bootstrap, topics.state, records, compression)
    write_seconds = time.monotonic() - began
    # INFO: the readiness lines are INFO; a restore processes no command, so nothing else is logged.
    worker = start_worker(bootstrap, topics, prefix, "w1", log_level="INFO")
    try:
        ready = worker.wait_for(lambda lines: ready_partitions(lines, PARTITIONS), timeout)
        assigned = first_event(worker.lines, "partitions assigned; restoring state")
        started = first_event(worker.lines, "worker started")
        peak_rss = worker.peak_rss()
    finally:
        worker.stop()
    delete_topics(bootstrap, [topics.control, topics.state, topics.events, topics.dlq])
    return {
        "records": records,
        "compression": compression,
        "pending_stops": (records + PENDING_STOP_EVERY - 1) // PENDING_STOP_EVERY,
        "value_mib": round(value_bytes / 2**20, 1),
        "write_seconds": round(write_seconds, 2),
        "seconds_from_process_start": round(ready - worker.started, 3),
        "seconds_from_worker_started": round(ready - started, 3) if started else None,
        "seconds_from_assigned": round(ready - assigned, 3) if assigned else None,
        "peak_rss_mib": round(peak_rss / 2**20, 1),
    }
