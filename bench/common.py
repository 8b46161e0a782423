"""What every measurement shares: topics, commands, readiness checks and probes, percentiles."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    ConsumerGroupState,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic

from syncctl.kafka.partitioning import JAVA_COMPATIBLE_PARTITIONER as PARTITIONER
from syncctl.kafka.partitioning import partition_for

PARTITIONS = 12
REPO = Path(__file__).resolve().parents[1]
PROBE = b"probe-"
_QUIET = 5  # librdkafka log level for admin clients: warnings, not their info lines at exit
# One job's life in the throughput stream: create → NOT_STARTED; terminate of a job not started
# → SNAPSHOT_CANCELLED at once; the runner's late `stopped` is then ignored (no event).
LIFE: tuple[tuple[str, dict[str, Any]], ...] = (
    ("create", {"mode": "snapshot"}),
    ("terminate", {}),
    ("stopped", {}),
)
EVENTS_PER_LIFE = 2


def unique(name: str) -> str:
    return f"bench-{name}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Topics:
    control: str
    state: str
    events: str
    dlq: str

    @classmethod
    def named(cls, prefix: str) -> Topics:
        return cls(f"{prefix}.control", f"{prefix}.state", f"{prefix}.events", f"{prefix}.dlq")

    def env(self) -> dict[str, str]:
        return {
            "SYNCCTL_TOPICS__CONTROL": self.control,
            "SYNCCTL_TOPICS__STATE": self.state,
            "SYNCCTL_TOPICS__EVENTS": self.events,
            "SYNCCTL_TOPICS__DLQ": self.dlq,
        }


STATE_CONFIG = {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1"}


def create_topics(
    bootstrap: str, topics: dict[str, dict[str, str]], partitions: int = PARTITIONS
) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": _QUIET})
    new = [NewTopic(name, partitions, 1, config=config) for name, config in topics.items()]
    for future in admin.create_topics(new, operation_timeout=30).values():
        future.result(30)
    # A topic created a moment ago may not have a leader yet: wait until metadata shows one.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        metadata = admin.list_topics(timeout=10).topics
        if all(
            name in metadata
            and len(metadata[name].partitions) == partitions
            and all(p.leader >= 0 for p in metadata[name].partitions.values())
            for name in topics
        ):
            return
        time.sleep(0.1)
    raise TimeoutError(f"topics {sorted(topics)} have no leaders after 30 s")


def delete_topics(bootstrap: str, names: Sequence[str]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": _QUIET})
    for future in admin.delete_topics(list(names), operation_timeout=30).values():
        # Cleanup only (some of the names may not exist); the broker's temp dir goes at the end.
        with contextlib.suppress(Exception):
            future.result(30)


def command(job_id: str, kind: str, command_id: str | None = None, **fields: Any) -> bytes:
    value = {
        "command_id": command_id or uuid.uuid4().hex,
        "type": kind,
        "job_id": job_id,
        "issued_at": datetime.now(UTC).isoformat(),
        "requested_by": "bench",
        **fields,
    }
    return json.dumps(value, separators=(",", ":")).encode()


def produce(
    producer: Producer, topic: str, key: bytes | str | None, value: bytes | None, **kwargs: Any
) -> None:
    while True:
        try:
            producer.produce(topic, key=key, value=value, **kwargs)
            return
        except BufferError:
            producer.poll(0.05)


def close_producer(producer: Producer) -> None:
    """Deliver what is queued and release the client now, not whenever it is garbage-collected
    (a producer left open after the broker stops logs connection errors)."""
    producer.flush(30)
    close = getattr(producer, "close", None)  # confluent-kafka >= 2.13
    if close is not None:
        close()


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending sequence (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


# -- readiness ------------------------------------------------------------------------------
def wait_for_group(bootstrap: str, group_id: str, members: int, timeout: float = 60.0) -> None:
    """Until the group is stable with `members` members that own every control partition."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": _QUIET})
    deadline = time.monotonic() + timeout
    state = "unknown"
    while time.monotonic() < deadline:
        try:
            group = admin.describe_consumer_groups([group_id])[group_id].result(10)
            owned = sum(len(m.assignment.topic_partitions) for m in group.members)
            state = f"{group.state.name}, {len(group.members)} members, {owned} partitions"
            if (
                group.state == ConsumerGroupState.STABLE
                and len(group.members) == members
                and owned == PARTITIONS
            ):
                return
        except Exception as error:  # the group may not exist yet
            state = str(error)
        time.sleep(0.2)
    raise TimeoutError(
        f"group {group_id} not stable with {members} members after {timeout:.0f} s ({state})"
    )


def probe_partitions(
    bootstrap: str,
    control: str,
    output: str,
    producer: Producer | None = None,
    timeout: float = 60.0,
) -> None:
    """Send one `create` to every control partition and wait for an output keyed by each.

    Proves that every partition is owned, restored and processed end to end before a
    measurement starts. Outputs are keyed `probe-…`, which every measurement skips. Passing the
    measurement's own producer also warms it up: a new idempotent producer holds its first
    message for up to half a second while it gets its producer id.
    """
    tag = uuid.uuid4().hex[:6]
    sender = producer or Producer(
        {"bootstrap.servers": bootstrap, "enable.idempotence": True, "partitioner": PARTITIONER}
    )
    for partition in range(PARTITIONS):
        job = _key_on(partition, f"probe-{tag}-")
        produce(sender, control, job, command(job, "create", mode="snapshot"), partition=partition)
    if producer is None:
        close_producer(sender)
    else:
        sender.flush(30)
    reader = read_committed_consumer(bootstrap)
    reader.assign([TopicPartition(output, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
    wanted = f"probe-{tag}-".encode()
    seen: set[bytes] = set()
    deadline = time.monotonic() + timeout
    try:
        while len(seen) < PARTITIONS:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(seen)}/{PARTITIONS} probes answered on {output}")
            for message in reader.consume(1000, 0.1):
                key = message.key() if message.error() is None else None
                if key and key.startswith(wanted):
                    seen.add(key)
    finally:
        reader.close()


def _key_on(partition: int, prefix: str) -> str:
    """A job id whose home is `partition`, so that its probe is not forwarded elsewhere."""
    return next(
        f"{prefix}{n}"
        for n in range(10_000)
        if partition_for(f"{prefix}{n}".encode(), PARTITIONS) == partition
    )


def read_committed_consumer(bootstrap: str, **extra: Any) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": unique("reader"),
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            **extra,
        }
    )
