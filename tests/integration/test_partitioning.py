"""A job lives on one partition whatever client produced its messages, and a partition count that
changed under the state is refused until the records are relocated."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient, NewPartitions
from tests.integration.harness import (
    ControlProducer,
    EventReader,
    TopicReader,
    Topics,
    WorkerProcess,
)

from syncctl import SyncJobsClient
from syncctl.kafka.partitioning import partition_for
from syncctl.local.broker import find_java

PARTITIONS = 6
JOBS = 18
REPO = Path(__file__).resolve().parents[2]


def _live_records(state: TopicReader) -> dict[str, set[int]]:
    """Job id -> the state partitions that hold a live record of it (the last value per
    partition)."""
    last: dict[tuple[int, bytes], bytes | None] = {}
    for (key, value, _), partition in zip(state.records, state.record_partitions, strict=True):
        assert key is not None
        last[(partition, key)] = value
    live: dict[str, set[int]] = {}
    for (partition, key), value in last.items():
        if value is not None:
            live.setdefault(key.decode(), set()).add(partition)
    return live


def test_a_job_driven_by_three_kinds_of_producer_has_one_record_and_one_outcome_per_command(
    kafka_bootstrap: str,
    topics: Topics,
    start_worker: Callable[..., WorkerProcess],
    events: EventReader,
    state_reader: TopicReader,
) -> None:
    start_worker(env={"SYNCCTL_TOPICS__PARTITIONS": str(PARTITIONS)})
    client = SyncJobsClient(kafka_bootstrap, topics=topics.settings(), requested_by="client")
    java_like = ControlProducer(kafka_bootstrap, topics.control, partitioner="murmur2_random")
    crc32 = ControlProducer(
        kafka_bootstrap, topics.control
    )  # librdkafka's default: consistent_random
    raw_producers = [java_like, crc32]

    def send(sender: int, job: str, type_: str, **fields: Any) -> str:
        """Sender 0 is syncctl's client, 1 a murmur2_random producer, 2 a consistent_random one."""
        if sender == 0:
            return {"create": client.create, "terminate": client.terminate}[type_](job, **fields)
        producer = raw_producers[sender - 1]
        command_id = producer.send(job, type_, requested_by=f"sender-{sender}", **fields)
        producer.flush()
        return command_id

    jobs = [f"mixed-{n}" for n in range(JOBS)]
    # Every order of senders over (create, duplicate create, terminate, second terminate).
    plans = {job: [(n + shift) % 3 for shift in range(4)] for n, job in enumerate(jobs)}
    created = {job: send(plan[0], job, "create", mode="snapshot") for job, plan in plans.items()}
    for job in jobs:
        assert [e["status"] for e in events.wait_for_command(created[job])] == ["NOT_STARTED"]
    # Different producers keep no order between them: each round waits for the one before.
    duplicates = {job: send(plan[1], job, "create", mode="snapshot") for job, plan in plans.items()}
    terminates = {job: send(plan[2], job, "terminate") for job, plan in plans.items()}
    for command in [*duplicates.values(), *terminates.values()]:
        events.wait_for_command(command)
    again = {job: send(plan[3], job, "terminate") for job, plan in plans.items()}
    commands = [*created.values(), *duplicates.values(), *terminates.values(), *again.values()]
    events.read_until(
        lambda: all(events.for_command(c) for c in commands), 60, "an outcome for every command"
    )

    for job in jobs:
        (duplicate,) = events.for_command(duplicates[job])
        assert (duplicate["type"], duplicate["code"]) == ("command_rejected", "job_exists"), (
            duplicate
        )
        (stop,) = events.for_command(terminates[job])
        assert (stop["previous_status"], stop["status"]) == ("NOT_STARTED", "SNAPSHOT_CANCELLED"), (
            stop
        )
        (second,) = events.for_command(again[job])
        assert second["type"] == "command_rejected", second
    assert all(len(events.for_command(c)) == 1 for c in commands), (
        "a command had more than one outcome"
    )

    # The state topic holds one live record per job, on the partition Java clients use for its id.
    state_reader.read_until(
        lambda: set(_live_records(state_reader)) >= set(jobs), 30, "every job's record"
    )
    live = _live_records(state_reader)
    assert {job: live[job] for job in jobs} == {
        job: {partition_for(job.encode(), PARTITIONS)} for job in jobs
    }
    # The CRC32 producer did put messages on other partitions: the worker forwarded them.
    sent = TopicReader(kafka_bootstrap, topics.control)
    sent.read_until(lambda: len(sent.records) >= len(commands), 30, "the control topic")
    forwarded = [h for _, _, h in sent.records if "syncctl.forwarded.from.partition" in dict(h)]
    sent.close()
    assert forwarded, "no message was misplaced: the test proves nothing about forwarding"
    # And `syncctl jobs` (the client) sees every one of them, once.
    listed = [record.job_id for record in client.jobs() if record.job_id in plans]
    assert sorted(listed) == sorted(jobs)


def _send_with_java(bootstrap: str, topic: str, commands: list[dict[str, Any]]) -> dict[str, int]:
    """Produce with Kafka's own Java producer (default partitioner); the partition of each job."""
    pairs = [part for command in commands for part in (command["job_id"], json.dumps(command))]
    sent = subprocess.run(
        [
            find_java(),
            "-cp",
            str(REPO / ".local" / "kafka" / "lib" / "*"),
            str(Path(__file__).parent / "java" / "SendCommands.java"),
            bootstrap,
            topic,
            *pairs,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sent.returncode == 0, sent.stderr[-3000:]
    return {
        key: int(partition)
        for key, partition in (line.split() for line in sent.stdout.splitlines())
    }


def test_a_job_created_with_syncctl_is_stopped_by_a_java_producer_on_the_same_partition(
    kafka_bootstrap: str,
    topics: Topics,
    start_worker: Callable[..., WorkerProcess],
    events: EventReader,
) -> None:
    start_worker(env={"SYNCCTL_TOPICS__PARTITIONS": str(PARTITIONS)})
    client = SyncJobsClient(kafka_bootstrap, topics=topics.settings(), requested_by="client")
    jobs = [f"java-{n}" for n in range(12)]
    for job in jobs:
        client.wait_for_outcome(client.create(job, "snapshot"), timeout=30)

    terminates = [
        {
            "command_id": uuid.uuid4().hex,
            "type": "terminate",
            "job_id": job,
            "issued_at": datetime.now(UTC).isoformat(),
            "requested_by": "java-tool",
        }
        for job in jobs
    ]
    partitions = _send_with_java(kafka_bootstrap, topics.control, terminates)

    # The Java producer and syncctl agree on every job's partition ...
    assert partitions == {job: partition_for(job.encode(), PARTITIONS) for job in jobs}
    # ... so the job is found there and stops, once.
    for command in terminates:
        (outcome,) = events.wait_for_command(command["command_id"], timeout=30)
        assert (outcome["type"], outcome["status"]) == ("status_changed", "SNAPSHOT_CANCELLED"), (
            outcome
        )


def _created(control: ControlProducer, events: EventReader, jobs: list[str]) -> list[str]:
    """`jobs` created as snapshot jobs, each answered."""
    created = {job: control.send(job, "create", mode="snapshot") for job in jobs}
    control.flush()
    for job in jobs:
        events.wait_for_command(created[job])
    return jobs


def _each_terminated_once(control: ControlProducer, events: EventReader, jobs: list[str]) -> None:
    """A terminate to each job: one outcome each, Snapshot cancelled (the job was found)."""
    terminates = {job: control.send(job, "terminate") for job in jobs}
    control.flush()
    for job in jobs:
        (outcome,) = events.wait_for_command(terminates[job], timeout=60)
        assert outcome["status"] == "SNAPSHOT_CANCELLED", outcome


def _moving(jobs: list[str], before: int, after: int) -> int:
    """How many of `jobs` live on another partition under `after` partitions than `before`."""
    return sum(partition_for(j.encode(), after) != partition_for(j.encode(), before) for j in jobs)


def _grow(bootstrap: str, topics: list[str], partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_partitions(
        [NewPartitions(topic, partitions) for topic in topics]
    ).values():
        future.result(30)


def test_state_written_under_another_partition_count_is_refused_until_relocated(
    kafka_bootstrap: str,
    topics: Topics,
    start_worker: Callable[..., WorkerProcess],
    control: ControlProducer,
    events: EventReader,
    syncctl: Callable[..., Any],
) -> None:
    first = start_worker(env={"SYNCCTL_TOPICS__PARTITIONS": "3"})
    jobs = _created(control, events, [f"grown-{n}" for n in range(30)])
    assert first.stop() == 0

    # An operator grows both topics (as the docs once only hinted) and starts a worker.
    _grow(kafka_bootstrap, [topics.control, topics.state], 5)
    refused = start_worker("w2", wait_ready=False)
    assert refused.process is not None and refused.process.wait(90) == 2
    stderr = "".join(refused.raw_stderr)
    assert "partition count changed" in stderr and "syncctl relocate-state" in stderr, stderr[
        -2000:
    ]
    assert "Traceback" not in stderr

    relocated = syncctl("relocate-state", "--group-id", refused.env["SYNCCTL_WORKER__GROUP_ID"])
    assert relocated.returncode == 0, relocated.stderr
    moved = int(relocated.stdout.split("moved ")[1].split(" ")[0])
    expected_moves = _moving(jobs, 3, 5)
    assert moved == expected_moves > 0, relocated.stdout

    # Now a worker starts, knows every job, and each command gets its one outcome.
    start_worker("w3")
    _each_terminated_once(control, events, jobs)


def test_a_worker_stops_when_the_control_topic_grows_under_it(
    kafka_bootstrap: str, topics: Topics, start_worker: Callable[..., WorkerProcess]
) -> None:
    worker = start_worker(env={"SYNCCTL_TOPICS__PARTITIONS": "2"})
    _grow(kafka_bootstrap, [topics.control, topics.state], 4)
    assert worker.process is not None and worker.process.wait(60) == 2
    stderr = "".join(worker.raw_stderr)
    assert "now has 4 partitions; this worker started with 2" in stderr, stderr[-2000:]


def test_relocation_refuses_to_run_beside_a_live_worker(
    topics: Topics, start_worker: Callable[..., WorkerProcess], syncctl: Callable[..., Any]
) -> None:
    worker = start_worker()
    refused = syncctl("relocate-state", "--group-id", worker.env["SYNCCTL_WORKER__GROUP_ID"])
    assert refused.returncode == 2
    assert "stop every worker" in refused.stderr
    assert worker.process is not None and worker.process.poll() is None, "the worker was disturbed"


def test_relocate_state_with_partitions_grows_both_topics_and_moves_the_records(
    kafka_bootstrap: str,
    topics: Topics,
    start_worker: Callable[..., WorkerProcess],
    control: ControlProducer,
    events: EventReader,
    syncctl: Callable[..., Any],
) -> None:
    """The documented way to change the count needs nothing but syncctl (the local broker has
    no kafka-topics script): a dry run first, then the change, then a worker that knows every
    job where its commands now land."""
    first = start_worker(env={"SYNCCTL_TOPICS__PARTITIONS": "3"})
    jobs = _created(control, events, [f"regrown-{n}" for n in range(20)])
    group = first.env["SYNCCTL_WORKER__GROUP_ID"]
    assert first.stop() == 0
    expected_moves = _moving(jobs, 3, 5)

    too_few = syncctl("relocate-state", "--group-id", group, "--partitions", "2")
    assert too_few.returncode == 2 and "cannot remove partitions" in too_few.stderr, too_few.stderr
    dry = syncctl("relocate-state", "--group-id", group, "--partitions", "5", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"would move {expected_moves} job record(s) to their partition of 5" in dry.stdout
    counts = AdminClient({"bootstrap.servers": kafka_bootstrap}).list_topics(timeout=10).topics
    assert len(counts[topics.state].partitions) == 3, "a dry run grows nothing"

    grown = syncctl("relocate-state", "--group-id", group, "--partitions", "5")
    assert grown.returncode == 0, grown.stderr
    assert f"moved {expected_moves} job record(s) to their partition of 5" in grown.stdout
    counts = AdminClient({"bootstrap.servers": kafka_bootstrap}).list_topics(timeout=10).topics
    assert len(counts[topics.control].partitions) == len(counts[topics.state].partitions) == 5

    start_worker("after-growth")
    _each_terminated_once(control, events, jobs)
