"""librdkafka configurations for each kind of client syncctl runs."""

from __future__ import annotations

from typing import Any

from syncctl.kafka.partitioning import JAVA_COMPATIBLE_PARTITIONER
from syncctl.logging import kafka_client_logger
from syncctl.settings import KafkaSettings, WorkerSettings

# Job records and events are repetitive JSON: compressed batches are ~5x smaller, so a restore
# moves a fifth of the bytes from the broker, and lz4 costs the least CPU of the codecs.
OUTPUT_COMPRESSION = "lz4"


def common(kafka: KafkaSettings) -> dict[str, Any]:
    return {
        "bootstrap.servers": kafka.bootstrap_servers,
        "logger": kafka_client_logger(),
        **security(kafka),
        **kafka.client_config,
    }


def security(kafka: KafkaSettings) -> dict[str, Any]:
    """librdkafka's names for the connection's protocol, SASL credentials and TLS files."""
    settings: dict[str, Any] = {"security.protocol": kafka.security_protocol}
    if kafka.security_protocol.startswith("SASL_"):
        assert kafka.sasl_password is not None  # checked when the settings were loaded
        settings.update(
            {
                "sasl.mechanism": kafka.sasl_mechanism,
                "sasl.username": kafka.sasl_username,
                "sasl.password": kafka.sasl_password.get_secret_value(),
            }
        )
    if kafka.security_protocol.endswith("SSL"):
        files = {
            "ssl.ca.location": kafka.ssl_ca_location,
            "ssl.certificate.location": kafka.ssl_certificate_location,
            "ssl.key.location": kafka.ssl_key_location,
        }
        settings.update({key: str(path) for key, path in files.items() if path is not None})
        if kafka.ssl_key_password is not None:
            settings["ssl.key.password"] = kafka.ssl_key_password.get_secret_value()
        settings["ssl.endpoint.identification.algorithm"] = (
            "https" if kafka.ssl_verify_hostname else "none"
        )
    return settings


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
        # The contract's partitioner: records and forwarded commands land where Java puts them.
        "partitioner": JAVA_COMPATIBLE_PARTITIONER,
        "compression.type": OUTPUT_COMPRESSION,
    }


def command_producer(kafka: KafkaSettings) -> dict[str, Any]:
    """What the client, the CLI, the console and the runner send commands and reports with."""
    return {
        **common(kafka),
        "enable.idempotence": True,
        "message.timeout.ms": 15_000,
        # A job's messages must reach the partition its record lives on, whatever client sends
        # them: the Java producer's murmur2, not librdkafka's default CRC32 (docs/contract.md).
        "partitioner": JAVA_COMPATIBLE_PARTITIONER,
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
        "heartbeat.interval.ms": max(100, worker.session_timeout_ms // 5),
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
        # Prefetch bound: the default (64 MiB of compressed batches, ~5x that once decompressed)
        # only adds memory, since a restore is bound by Python's CPU, not by the network.
        "queued.max.messages.kbytes": 16_384,
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
