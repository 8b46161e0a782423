"""Scaling the worker group out and back in under continuous load: 1 → 2 → 4 → 2 → 1 workers.

Partitions and their state move on every rebalance, while job lives keep arriving. Users of the
topics must not notice: every command gets exactly one outcome, each job's events come in the
order its commands were sent, and the state topic ends with the record the events describe.
"""

from __future__ import annotations

import collections
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from confluent_kafka import Producer
from tests.integration.harness import (
    ControlProducer,
    EventReader,
    TopicReader,
    Topics,
    WorkerProcess,
    latest_records,
    wait_until,
)

from syncctl.contract import Status

LIFE = ["create", "snapshot_started", "terminate", "stopped"]
LIFE_STATUSES = ["NOT_STARTED", "SNAPSHOT_RUNNING", "CANCELLING", "SNAPSHOT_CANCELLED"]
PARTITIONS = set(range(12))  # the control topic's default partition count
# Far beyond any stall of this test: a stop forced at its deadline would end a life differently.
WORKER_SETTINGS = {"stop_deadline": 600}
REBALANCE_TIMEOUT = 90  # a SIGKILLed member is noticed after the session timeout (6 s here)


class LifeSender(threading.Thread):
    """Sends job lives without a break until told to stop starting new ones.

    Pipelined: every tick starts a few new jobs and moves each job started earlier one step on,
    so that every rebalance lands in the middle of many lives (one step before it, the next
    after it, possibly on another worker).
    """

    def __init__(self, control: ControlProducer, jobs_per_tick: int = 3, tick: float = 0.1) -> None:
        super().__init__(name="life-sender", daemon=True)
        self.control = control
        self.jobs_per_tick = jobs_per_tick
        self.tick = tick
        self.jobs: list[str] = []
        self.commands: dict[str, list[str]] = {}
        self.stop_starting = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            in_flight: list[list[Any]] = []  # [jobs, index of their next step]
            while not self.stop_starting.is_set() or in_flight:
                if not self.stop_starting.is_set():
                    start = len(self.jobs)
                    new = [f"job-{n}" for n in range(start, start + self.jobs_per_tick)]
                    for job in new:
                        self.commands[job] = []
                    self.jobs.extend(new)
                    in_flight.append([new, 0])
                for entry in in_flight:
                    jobs, step = entry
                    for job in jobs:
                        fields = {"mode": "snapshot"} if LIFE[step] == "create" else {}
                        self.commands[job].append(self.control.send(job, LIFE[step], **fields))
                    entry[1] += 1
                in_flight = [entry for entry in in_flight if entry[1] < len(LIFE)]
                self.control.flush()
                time.sleep(self.tick)  # pacing of the load, not synchronisation
        except BaseException as error:  # reported by the test
            self.error = error


def ready_partitions(worker: WorkerProcess) -> set[int]:
    """The partitions a worker processes now, as its /readyz says."""
    return set(worker.readyz().get("partitions", []))


def assert_running(workers: list[WorkerProcess]) -> None:
    for worker in workers:
        assert worker.process is not None
        if worker.process.poll() is not None:
            worker.finish_reading()  # its last lines are often the reason
            errors = [e for e in list(worker.logs) if e.get("level") in ("error", "critical")]
            own = [e for e in errors if "client" not in e]  # syncctl's, not librdkafka's
            name = worker.env["SYNCCTL_WORKER__INSTANCE_ID"]
            raise AssertionError(
                f"{name} exited ({worker.process.returncode}): {(own or errors)[-2:]}"
            )


def wait_for_split(workers: list[WorkerProcess], what: str) -> dict[str, set[int]]:
    """Wait until the rebalance is over: every live worker processes some partitions, no
    partition is processed by two, and none is left out."""
    split: dict[str, set[int]] = {}

    def settled() -> bool:
        assert_running(workers)
        split.clear()
        split.update(
            {
                worker.env["SYNCCTL_WORKER__INSTANCE_ID"]: ready_partitions(worker)
                for worker in workers
            }
        )
        owned = list(split.values())
        no_overlap = sum(map(len, owned)) == len(PARTITIONS)
        return all(owned) and no_overlap and set().union(*owned) == PARTITIONS

    wait_until(settled, REBALANCE_TIMEOUT, what, interval=0.2)
    return split


def processed_since(worker: WorkerProcess, index: int) -> bool:
    return any("partition" in entry and "job_id" in entry for entry in worker.logs[index:])


class Finished:
    """Jobs whose life ended, from what a reader has read so far (parsed once per record: the
    machine is small and shared, so the test must not busy itself re-reading everything)."""

    def __init__(self, reader: TopicReader, final: bytes) -> None:
        self.reader = reader
        self.final = final
        self.jobs: set[str] = set()
        self.rejections = 0
        self._read = 0

    def update(self) -> Finished:
        records = self.reader.records
        for key, value, _ in records[self._read :]:
            if key is not None and value is not None:
                if self.final in value:
                    self.jobs.add(key.decode())
                self.rejections += b'"command_rejected"' in value
        self._read = len(records)
        return self


def assert_processed_only_restored_partitions(name: str, worker: WorkerProcess) -> int:
    """Every command a worker applied came from a partition it had restored and still held."""
    ready: set[int] = set()
    processed = 0
    for entry in list(worker.logs):
        event = entry.get("event")
        if event == "partitions ready":
            ready |= set(entry["partitions"])
        elif event == "partitions revoked":
            ready -= set(entry["partitions"])
        elif "partition" in entry and "job_id" in entry:
            processed += 1
            assert entry["partition"] in ready, (
                f"{name} logged {event!r} for {entry['job_id']} on partition {entry['partition']} "
                f"at {entry.get('timestamp')} while it held restored partitions {sorted(ready)}"
            )
    return processed


def test_growing_and_shrinking_the_group_under_load_loses_doubles_and_reorders_nothing(
    start_worker: Callable[..., WorkerProcess],
    control: ControlProducer,
    events: EventReader,
    state_reader: TopicReader,
) -> None:
    workers: dict[str, WorkerProcess] = {}

    def grow(*names: str) -> None:
        for name in names:
            workers[name] = start_worker(name, wait_ready=False, **WORKER_SETTINGS)

    grow("w1")
    wait_for_split([workers["w1"]], "w1 to hold every partition")
    finished = Finished(events, b'"status":"SNAPSHOT_CANCELLED"')
    sender = LifeSender(control)
    sender.start()
    try:

        def under_load(step: str, live: list[str]) -> None:
            """The step happened while lives were in flight, and afterwards every live worker
            applies commands and jobs keep finishing."""
            done = len(finished.update().jobs)
            assert sender.is_alive() and sender.error is None, sender.error
            assert len(sender.jobs) > done, (
                f"no job in flight at {step}; the test would prove nothing"
            )
            seen = {name: len(workers[name].logs) for name in live}

            def kept_up() -> bool:
                assert_running([workers[name] for name in live])
                assert sender.error is None, f"the sender failed: {sender.error!r}"
                return len(finished.update().jobs) >= done + 30 and all(
                    processed_since(workers[name], seen[name]) for name in live
                )

            events.read_until(kept_up, 90, f"jobs to keep finishing on every worker after {step}")

        events.read_until(lambda: len(finished.update().jobs) >= 30, 60, "the first jobs to finish")

        grow("w2")
        wait_for_split([workers["w1"], workers["w2"]], "the partitions to be split over 2 workers")
        under_load("growing to 2 workers", ["w1", "w2"])

        grow("w3", "w4")
        wait_for_split(list(workers.values()), "the partitions to be split over 4 workers")
        under_load("growing to 4 workers", ["w1", "w2", "w3", "w4"])

        # 4 → 2: one worker leaves cleanly, one dies without a word. The dead one's open
        # transaction lives on until the broker aborts it (5 s here, checked every 10 s), so
        # its partitions may move again before that (see the next test).
        assert workers["w1"].stop() == 0
        workers["w3"].kill()
        wait_for_split([workers["w2"], workers["w4"]], "the partitions to go to the 2 survivors")
        under_load("shrinking to 2 workers (SIGTERM + SIGKILL)", ["w2", "w4"])

        assert workers["w2"].stop() == 0
        wait_for_split([workers["w4"]], "w4 to hold every partition")
        under_load("shrinking to 1 worker", ["w4"])
    finally:
        sender.stop_starting.set()
        sender.join(120)
    assert not sender.is_alive() and sender.error is None, sender.error
    jobs, commands = sender.jobs, sender.commands

    # (A rejection ends the wait early: a job whose life went wrong never finishes.)
    def all_finished() -> bool:
        assert_running([workers["w4"]])
        return finished.update().jobs >= set(jobs) or finished.rejections > 0

    events.read_until(
        all_finished,
        120,
        f"all {len(jobs)} jobs to finish",
    )
    events.read_available(timeout=1)  # anything published late (a duplicate) shows up too

    # Exactly one outcome per command, in the order the commands were sent.
    all_events = events.events
    event_ids = [e["event_id"] for e in all_events]
    assert len(event_ids) == len(set(event_ids)), "an event was published twice"
    rejected = [e for e in all_events if e["type"] == "command_rejected"]
    assert not rejected, f"{len(rejected)} commands of ordinary lives were rejected: {rejected[:3]}"
    by_job: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for event in all_events:
        by_job[event["job_id"]].append(event)
    assert set(by_job) == set(jobs)
    for job in jobs:
        life = by_job[job]
        assert [e["status"] for e in life] == LIFE_STATUSES, (job, life)
        assert [e["command_id"] for e in life] == commands[job], (job, life)
        assert [e["previous_status"] for e in life] == [None, *LIFE_STATUSES[:-1]], (job, life)
        assert life[-1]["completes_command_id"] == commands[job][2], (job, life)
        assert not life[-1]["forced"], (job, life)

    # The state topic ends with the record the last event describes.
    final_state = Finished(state_reader, b'"status":"SNAPSHOT_CANCELLED"')
    state_reader.read_until(
        lambda: final_state.update().jobs >= set(jobs),
        60,
        "every job's final record in the state topic",
    )
    records = latest_records(state_reader)
    assert set(records) == set(jobs)
    for job in jobs:
        record, last = records[job], by_job[job][-1]
        assert record is not None and record.status is Status.SNAPSHOT_CANCELLED, (job, record)
        assert record.version == len(LIFE), (job, record)
        assert list(record.applied_command_ids) == commands[job], (job, record)
        assert record.stop is None and record.stats.model_dump(mode="json") == last["stats"]
        assert record.status_changed_at == datetime.fromisoformat(last["occurred_at"]), (
            record,
            last,
        )

    # No worker applied a command of a partition it had not restored, or no longer held.
    processed = {
        name: assert_processed_only_restored_partitions(name, worker)
        for name, worker in workers.items()
    }
    assert all(processed.values()), (
        f"a worker processed nothing; the test proves nothing: {processed}"
    )
    restored = [
        e for w in workers.values() for e in list(w.logs) if e.get("event") == "partition restored"
    ]
    assert sum(entry["jobs"] for entry in restored) > 0, "no partition moved with its state"


def test_a_partition_restored_while_a_dead_workers_transaction_is_open_keeps_every_committed_job(
    kafka_bootstrap: str,
    topics: Topics,
    start_worker: Callable[..., WorkerProcess],
    control: ControlProducer,
    events: EventReader,
) -> None:
    """The partitions of a SIGKILLed worker move on while the broker has not yet aborted its open
    transaction (that takes `transaction.timeout.ms`, plus up to 10 s until the broker checks).
    Jobs created after the takeover are committed behind that transaction in the state topic.
    A worker that restores the partition next must wait until the open transaction is resolved
    (a read_committed reader cannot see past it) and then find every committed job."""
    first = start_worker("w1", **WORKER_SETTINGS)
    # What a worker killed mid-transaction leaves in the state topic: writes, never committed.
    dead = Producer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "transactional.id": f"dead-{uuid.uuid4().hex}",
            "transaction.timeout.ms": 120_000,
        }
    )
    dead.init_transactions(30)
    dead.begin_transaction()
    for partition in PARTITIONS:
        dead.produce(
            topics.state, key=b"job-dead", value=b'{"job_id":"job-dead"}', partition=partition
        )
    assert dead.flush(30) == 0
    aborted = False
    try:
        jobs = [f"job-{n}" for n in range(36)]
        created = {job: control.send(job, "create", mode="snapshot") for job in jobs}
        control.flush()
        for job in jobs:
            (outcome,) = events.wait_for_command(created[job], timeout=60)
            assert outcome["status"] == "NOT_STARTED"

        assert first.stop() == 0
        second = start_worker("w2", wait_ready=False, **WORKER_SETTINGS)
        wait_until(
            lambda: second.readyz().get("reason") == "restoring state", 60, "the restore to start"
        )
        # What the broker does when the dead worker's transaction times out.
        dead.abort_transaction(30)
        aborted = True
        wait_until(lambda: second.readyz().get("status") == "ready", 60, "the restore to finish")
        terminates = {job: control.send(job, "terminate") for job in jobs}
        control.flush()
        outcomes = {job: events.wait_for_command(terminates[job], timeout=60)[0] for job in jobs}
        rejected = sorted(
            job for job, outcome in outcomes.items() if outcome["type"] == "command_rejected"
        )
        restored = sum(e["jobs"] for e in second.logs if e.get("event") == "partition restored")
        assert not rejected, (
            f"{len(rejected)} of {len(jobs)} committed jobs were unknown to the worker "
            f"that restored their partitions ({restored} jobs restored): "
            f"{outcomes[rejected[0]]['reason']}"
        )
        changes = {(o["previous_status"], o["status"]) for o in outcomes.values()}
        assert changes == {("NOT_STARTED", "SNAPSHOT_CANCELLED")}
    finally:
        if not aborted:
            dead.abort_transaction(30)
