"""Crashes, takeovers and restarts: no outcome lost, none doubled, state intact."""

from __future__ import annotations

import collections
import signal
import threading
import time
from collections.abc import Callable

from confluent_kafka.admin import AdminClient, NewTopic
from tests.integration.harness import (
    ControlProducer,
    EventReader,
    TopicReader,
    Topics,
    WorkerProcess,
    latest_records,
)

from syncctl.contract import Status

LIFE = ["create", "snapshot_started", "terminate", "stopped"]
LIFE_STATUSES = ["NOT_STARTED", "SNAPSHOT_RUNNING", "CANCELLING", "SNAPSHOT_CANCELLED"]


def send_life(control: ControlProducer, job_id: str, steps: list[str]) -> None:
    for kind in steps:
        control.send(job_id, kind, **({"mode": "snapshot"} if kind == "create" else {}))


def assert_each_job_saw_its_life_exactly_once(events: EventReader, jobs: list[str]) -> None:
    all_ids = [e["event_id"] for e in events.events]
    assert len(all_ids) == len(set(all_ids)), "an event was published twice"
    by_job = collections.defaultdict(list)
    for event in events.events:
        by_job[event["job_id"]].append(event["status"])
    for job in jobs:
        assert by_job[job] == LIFE_STATUSES, (job, by_job[job])


def finished(events: EventReader, jobs: list[str]) -> Callable[[], bool]:
    def check() -> bool:
        done = {e["job_id"] for e in events.events if e["status"] == "SNAPSHOT_CANCELLED"}
        return done.issuperset(jobs)

    return check


def test_a_worker_killed_mid_stream_and_restarted_loses_and_doubles_nothing(
    start_worker: Callable[..., WorkerProcess],
    control: ControlProducer,
    events: EventReader,
    state_reader: TopicReader,
) -> None:
    worker = start_worker("w1")
    jobs = [f"job-{n}" for n in range(400)]

    killed = threading.Event()

    def keep_sending() -> None:
        # A steady stream, so that the kill lands while transactions are open; the second half
        # waits for the kill, so the stream always goes on across it.
        for start in range(0, len(jobs), 10):
            if start == len(jobs) // 2:
                killed.wait(60)
            for job in jobs[start : start + 10]:
                send_life(control, job, LIFE)
            control.flush()
            time.sleep(0.02)

    sender = threading.Thread(target=keep_sending)
    sender.start()
    events.read_until(lambda: len(events.events) >= 100, 30, "the worker to be mid-stream")
    worker.kill(signal.SIGKILL)
    killed.set()
    assert sender.is_alive(), "the stream ended before the kill; the test proves nothing"
    worker.start()  # same instance id: fences the dead incarnation and aborts its transaction
    sender.join()

    events.read_until(finished(events, jobs), 60, "every job to reach Snapshot cancelled")
    assert_each_job_saw_its_life_exactly_once(events, jobs)
    state_reader.read_until(
        lambda: set(latest_records(state_reader)) >= set(jobs), 30, "state of every job"
    )
    records = latest_records(state_reader)
    assert {records[job].status for job in jobs} == {Status.SNAPSHOT_CANCELLED}
    assert all(records[job].version == len(LIFE) for job in jobs)


def test_a_second_worker_takes_over_a_killed_workers_partitions_with_their_state(
    start_worker: Callable[..., WorkerProcess],
    control: ControlProducer,
    events: EventReader,
) -> None:
    first = start_worker("w1")
    second = start_worker("w2")
    first_partitions = set(first.readyz()["partitions"])
    jobs = [f"job-{n}" for n in range(100)]
    for job in jobs:
        send_life(control, job, LIFE[:2])
    control.flush()
    events.read_until(lambda: len(events.events) >= 2 * len(jobs), 30, "jobs running")

    first.kill(signal.SIGKILL)
    # Stops sent now reach jobs whose state only the dead worker held.
    for job in jobs:
        send_life(control, job, LIFE[2:])
    control.flush()

    events.read_until(finished(events, jobs), 90, "every job to reach Snapshot cancelled")
    assert_each_job_saw_its_life_exactly_once(events, jobs)
    taken_over = set(second.readyz()["partitions"])
    assert first_partitions and first_partitions <= taken_over


def test_state_written_in_many_transactions_is_restored_on_restart(
    start_worker: Callable[..., WorkerProcess],
    control: ControlProducer,
    events: EventReader,
) -> None:
    worker = start_worker("w1")
    jobs = [f"job-{n}" for n in range(40)]
    for job in jobs:
        # One at a time, so that every command is a transaction of its own in the changelog.
        created = control.send(job, "create", mode="continuous")
        control.flush()
        events.wait_for_command(created)
    assert worker.stop() == 0

    restarted = start_worker("w1")
    restored = [e for e in restarted.logs if e.get("event") == "partition restored"]
    assert sum(entry["jobs"] for entry in restored) == len(jobs)
    terminates = [control.send(job, "terminate") for job in jobs]
    control.flush()
    for terminate in terminates:
        (outcome,) = events.wait_for_command(terminate)
        # Answered from the restored record: without it this would be an unknown_job rejection.
        assert (outcome["type"], outcome["previous_status"], outcome["status"]) == (
            "status_changed",
            "NOT_STARTED",
            "SNAPSHOT_CANCELLED",
        )


def test_a_control_and_state_topic_with_different_partition_counts_stop_the_worker_clearly(
    kafka_bootstrap: str, topics: Topics, start_worker: Callable[..., WorkerProcess]
) -> None:
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    for future in admin.create_topics(
        [
            NewTopic(topics.control, 3, 1),
            NewTopic(topics.state, 2, 1, config={"cleanup.policy": "compact"}),
        ]
    ).values():
        future.result(30)

    worker = start_worker(wait_ready=False)
    assert worker.process is not None
    assert worker.process.wait(60) == 2
    stderr = "".join(worker.raw_stderr)
    assert f"topic {topics.control} has 3 partitions but {topics.state} has 2" in stderr
    assert "Traceback" not in stderr


def test_a_worker_fenced_by_a_newer_one_with_its_instance_id_stops_with_a_clear_line(
    start_worker: Callable[..., WorkerProcess],
    control: ControlProducer,
    events: EventReader,
) -> None:
    older = start_worker("same-id")
    start_worker("same-id")  # its init_transactions fences the older one's producer
    jobs = [f"job-{n}" for n in range(60)]
    for job in jobs:
        send_life(control, job, LIFE)
    control.flush()

    assert older.process is not None
    assert older.process.wait(60) == 1
    assert any(
        entry.get("event") == "worker stopping: this worker can no longer write to Kafka"
        for entry in older.logs
    )
    events.read_until(finished(events, jobs), 90, "the newer worker to finish every job")
    assert_each_job_saw_its_life_exactly_once(events, jobs)
