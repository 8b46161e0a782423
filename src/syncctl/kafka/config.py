"""librdkafka configurations for each kind of client syncctl runs."""

from __future__ import annotations

from typing import Any

from syncctl.logging import kafka_client_logger
from syncctl.settings import KafkaSettings, WorkerSettings

# Job records and events are repetitive JSON: compressed batches are ~5x smaller, so a restore
# moves a fifth of the bytes from the broker, and lz4 costs the least CPU of the codecs.
OUTPUT_COMPRESSION = "lz4"


def common(kafka: KafkaSettings) -> dict[str, Any]:
    return {
        "bootstrap.servers": kafka.bootstrap_servers,
        "logger": kafka_client_logger(),
        **kafka.client_config,
    }


def transactional_producer(kafka: KafkaSettings, worker: WorkerSettings) -> dict[str, Any]:
    return {
        **common(kafka),
        # Stable across restarts of this worker, so that a restart fences and aborts whatever
        # the previous incarnation left open instead of waiting for the transaction timeout.
        "transactional.id": f"{worker.group_id}-{worker.instance_id}",
        "transaction.timeout.ms": worker.transaction_timeout_ms,
        "linger.ms": 2,
        # Back-to-back transactions meet CONCURRENT_TRANSACTIONS while the broker finishes the
        # previous commit; the default 100 ms backoff would land on every command's latency.
        "retry.backoff.ms": 10,
        # Same partitioner as the Java clients, so events land where Java producers put them.
        "partitioner": "murmur2_random",
        "compression.type": OUTPUT_COMPRESSION,
    }


def worker_consumer(kafka: KafkaSettings, worker: WorkerSettings) -> dict[str, Any]:
    return {
        **common(kafka),
        "group.id": worker.group_id,
        "client.id": f"{worker.group_id}-{worker.instance_id}",
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "cooperative-sticky",
        "session.timeout.ms": worker.session_timeout_ms,
        "heartbeat.interval.ms": max(1000, worker.session_timeout_ms // 5),
        "fetch.wait.max.ms": 50,
    }


def restore_consumer(kafka: KafkaSettings, worker: WorkerSettings) -> dict[str, Any]:
    """Reads state partitions by assignment; its group id is never joined or committed to."""
    return {
        **common(kafka),
        "group.id": f"{worker.group_id}-restore",
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": True,
        "auto.offset.reset": "earliest",
        "fetch.wait.max.ms": 10,
    }


def reader_consumer(kafka: KafkaSettings, group_id: str) -> dict[str, Any]:
    """A consumer that only reads committed events, as every user of the events topic must."""
    return {
        **common(kafka),
        "group.id": group_id,
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    }
