"""Move job records to the partition their job id belongs on (after the partition count changed).

A job's record must sit on the state partition its id hashes to (Kafka's murmur2, over the
current partition count), or the commands for it reach a worker that does not hold it. Records
end up elsewhere when the control topic gains partitions, or when they were written by a syncctl
older than 0.2 from commands a CRC32-partitioning producer had placed. Workers refuse such state;
`syncctl relocate-state` moves it, while no worker runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewPartitions

from syncctl.contract import JobRecord
from syncctl.errors import ConfigError
from syncctl.kafka import config
from syncctl.kafka.groups import group_members
from syncctl.kafka.partitioning import partition_for
from syncctl.kafka.producing import produce_with_room
from syncctl.kafka.reading import read_to_end
from syncctl.kafka.topics import partition_counts
from syncctl.settings import Settings
from syncctl.waiting import Patience, wait_until


@dataclass(frozen=True)
class Write:
    partition: int
    job_id: bytes
    value: bytes | None  # None: a tombstone that removes the record from this partition


@dataclass
class Relocation:
    """What `relocate-state` writes, and what it had to decide."""

    partition_count: int
    writes: list[Write] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    # Jobs with live records on more than one partition: the one updated last is kept.
    duplicates: dict[str, list[int]] = field(default_factory=dict)


def plan_relocation(
    latest: Mapping[tuple[int, bytes], bytes | None], partition_count: int
) -> Relocation:
    """From the last value of each (partition, job id), the writes that put every job at home."""
    placed: dict[bytes, dict[int, bytes]] = {}
    for (partition, key), value in latest.items():
        if value is not None:
            placed.setdefault(key, {})[partition] = value
    plan = Relocation(partition_count)
    for key, records in placed.items():
        home = partition_for(key, partition_count)
        if list(records) == [home]:
            continue
        kept = max(
            records.values(), key=lambda value: JobRecord.model_validate_json(value).updated_at
        )
        if len(records) > 1:
            plan.duplicates[key.decode()] = sorted(records)
        if records.get(home) != kept:
            plan.writes.append(Write(home, key, kept))
        plan.writes.extend(
            Write(partition, key, None) for partition in sorted(records) if partition != home
        )
        plan.moved.append(key.decode())
    return plan


def relocate_state(
    settings: Settings, dry_run: bool = False, partitions: int | None = None
) -> Relocation:
    """Read the state topic, and unless `dry_run`, write the relocation in one transaction.

    `partitions`: first give the control and state topics that many partitions (Kafka can only
    add them), so that no other tool is needed; with `dry_run` nothing grows and the plan is
    for that count.
    """
    kafka, topics = settings.kafka, settings.topics
    admin = AdminClient(config.common(kafka))
    counts = partition_counts(admin)
    control, state = counts.get(topics.control), counts.get(topics.state)
    if control is None or state is None:
        raise ConfigError(
            f"topics {topics.control} and {topics.state} must both exist; has a worker run?"
        )
    if partitions is not None and partitions < max(control, state):
        raise ConfigError(
            f"{topics.control} has {control} partitions and {topics.state} {state}; Kafka cannot "
            f"remove partitions, so {partitions} is too few: to go down, create new topics and "
            "point syncctl at them (topics.*)"
        )
    if partitions is None and control != state:
        raise ConfigError(
            f"topic {topics.control} has {control} partitions but {topics.state} has {state}: give "
            f"both the same count first (syncctl relocate-state --partitions {max(control, state)})"
        )
    _require_no_workers(admin, settings.worker.group_id)
    count = partitions if partitions is not None else control
    if partitions is not None and not dry_run:
        _grow(admin, {topics.control: control, topics.state: state}, partitions)
    plan = plan_relocation(_latest(settings), count)
    if not dry_run and plan.writes:
        _write(settings, plan.writes)
    return plan


def _grow(admin: AdminClient, counts: dict[str, int], partitions: int) -> None:
    """Give each topic `partitions` partitions, and wait until the cluster's metadata says so."""
    growing = [NewPartitions(topic, partitions) for topic, n in counts.items() if n < partitions]
    if not growing:
        return
    for topic, future in admin.create_partitions(growing, request_timeout=30).items():
        try:
            future.result(30)
        except KafkaException as error:
            raise ConfigError(f"could not add partitions to {topic}: {error}") from error
    if not wait_until(
        lambda: all(partition_counts(admin).get(t) == partitions for t in counts),
        Patience(timeout=30, interval=0.2),
    ):
        raise ConfigError(f"{' and '.join(counts)} do not show {partitions} partitions after 30 s")


def _require_no_workers(admin: AdminClient, group_id: str) -> None:
    members = group_members(admin, group_id, partitions_only=False)
    if members:
        raise ConfigError(
            f"{len(members)} worker(s) of group {group_id} are running ({', '.join(members)}): "
            "stop every worker before relocating their state"
        )


def _latest(settings: Settings) -> dict[tuple[int, bytes], bytes | None]:
    reader = config.reader_consumer(settings.kafka, f"syncctl-relocate-{uuid.uuid4()}")
    latest: dict[tuple[int, bytes], bytes | None] = {}
    # Long enough for a killed worker's open transaction to time out.
    for message in read_to_end(reader, settings.topics.state, timeout=180):
        if message.key() is not None:
            latest[(message.partition(), message.key())] = message.value()
    return latest


def _write(settings: Settings, writes: Iterable[Write]) -> None:
    worker = settings.worker
    producer = Producer(
        {
            **config.common(settings.kafka),
            # A worker's own id would fence it; this one fences only an earlier, interrupted
            # relocation.
            "transactional.id": f"{worker.group_id}-relocate",
            "transaction.timeout.ms": 60_000,
            "compression.type": config.OUTPUT_COMPRESSION,
        }
    )
    try:
        producer.init_transactions(30)
        producer.begin_transaction()
        for write in writes:
            produce_with_room(
                producer,
                settings.topics.state,
                key=write.job_id,
                value=write.value,
                partition=write.partition,
            )
        producer.commit_transaction(60)
    except KafkaException as error:
        raise ConfigError(
            f"relocation not written (nothing changed): {error.args[0].str()}"
        ) from error
