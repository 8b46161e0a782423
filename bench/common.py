"""What every measurement shares: topics, child processes, readiness probes, preloads, percentiles."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, ConsumerGroupState, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

PARTITIONS = 12
REPO = Path(__file__).resolve().parents[1]
PROBE = b"probe-"
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
            "SYNCCTL_TOPICS__CONTROL": self.control, "SYNCCTL_TOPICS__STATE": self.state,
            "SYNCCTL_TOPICS__EVENTS": self.events, "SYNCCTL_TOPICS__DLQ": self.dlq,
        }  # fmt: skip


STATE_CONFIG = {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1"}


def create_topics(bootstrap: str, topics: dict[str, dict[str, str]], partitions: int = PARTITIONS) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    new = [NewTopic(name, partitions, 1, config=config) for name, config in topics.items()]
    for future in admin.create_topics(new, operation_timeout=30).values():
        future.result(30)
    # A topic created a moment ago may not have a leader yet: wait until metadata shows one.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        metadata = admin.list_topics(timeout=10).topics
        if all(
            name in metadata and len(metadata[name].partitions) == partitions
            and all(p.leader >= 0 for p in metadata[name].partitions.values())
            for name in topics
        ):  # fmt: skip
            return
        time.sleep(0.1)
    raise TimeoutError(f"topics {sorted(topics)} have no leaders after 30 s")


def delete_topics(bootstrap: str, names: Sequence[str]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.delete_topics(list(names), operation_timeout=30).values():
        try:
            future.result(30)
        except Exception:  # noqa: BLE001 - cleanup only; the broker's temp dir goes at the end
            pass


def command(job_id: str, kind: str, command_id: str | None = None, **fields: Any) -> bytes:
    value = {
        "command_id": command_id or uuid.uuid4().hex, "type": kind, "job_id": job_id,
        "issued_at": datetime.now(UTC).isoformat(), "requested_by": "bench", **fields,
    }  # fmt: skip
    return json.dumps(value, separators=(",", ":")).encode()


def produce(producer: Producer, topic: str, key: bytes | str, value: bytes, **kwargs: Any) -> None:
    while True:
        try:
            producer.produce(topic, key=key, value=value, **kwargs)
            return
        except BufferError:
            producer.poll(0.05)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending sequence (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


# -- child processes ------------------------------------------------------------------------
class Child:
    """A subprocess whose stderr lines are kept with the monotonic time each arrived."""

    def __init__(self, argv: list[str], env: dict[str, str], name: str) -> None:
        self.name = name
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            argv, env={**os.environ, **env}, cwd=REPO,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.lines: list[tuple[float, dict[str, Any]]] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, name=f"{name}-stderr", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            arrived = time.monotonic()
            text = raw.decode(errors="replace").rstrip()
            try:
                entry = json.loads(text)
                if not isinstance(entry, dict):
                    entry = {"event": text}
            except ValueError:
                entry = {"event": text}
            with self._changed:
                self.lines.append((arrived, entry))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, found: Callable[[list[tuple[float, dict[str, Any]]]], float | None], timeout: float) -> float:
        """Block until `found(lines)` returns a time; raise if the child exits or time runs out."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                when = found(self.lines)
                if when is not None:
                    return when
                if self.process.poll() is not None and not self._reader.is_alive():
                    raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.name}: nothing after {timeout:.0f} s:\n{self.tail()}")
                self._changed.wait(min(left, 0.5))

    def tail(self, count: int = 15) -> str:
        return "\n".join(json.dumps(entry) for _, entry in self.lines[-count:])

    def peak_rss(self) -> int:
        """VmHWM (peak resident set) of the process, in bytes."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        return int(match.group(1)) * 1024 if match else 0

    def stop(self, timeout: float = 30.0) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._reader.join(5)
        return self.process.returncode


def start_worker(
    bootstrap: str, topics: Topics, group_id: str, instance_id: str,
    log_level: str = "WARNING",
) -> Child:  # fmt: skip
    """`python -m syncctl worker` configured only through SYNCCTL_* variables, JSON logs on stderr."""
    env = {
        "SYNCCTL_KAFKA__BOOTSTRAP_SERVERS": bootstrap, "SYNCCTL_WORKER__GROUP_ID": group_id,
        "SYNCCTL_WORKER__INSTANCE_ID": instance_id, "SYNCCTL_LOG__LEVEL": log_level,
        "SYNCCTL_LOG__FORMAT": "json", **topics.env(),
    }  # fmt: skip
    argv = [sys.executable, "-m", "syncctl", "worker"]
    return Child(argv, env, f"worker {instance_id}")


def ready_partitions(lines: list[tuple[float, dict[str, Any]]], count: int) -> float | None:
    """Arrival time of the "partitions ready" line that makes `count` partitions ready."""
    ready: set[int] = set()
    for arrived, entry in lines:
        if entry.get("event") == "partitions ready":
            ready.update(entry.get("partitions", []))
            if len(ready) >= count:
                return arrived
    return None


def first_event(lines: list[tuple[float, dict[str, Any]]], event: str) -> float | None:
    return next((arrived for arrived, entry in lines if entry.get("event") == event), None)


# -- readiness ------------------------------------------------------------------------------
def wait_for_group(bootstrap: str, group_id: str, members: int, timeout: float = 60.0) -> None:
    """Until the group is stable with `members` members that own every control partition."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + timeout
    state = "unknown"
    while time.monotonic() < deadline:
        try:
            group = admin.describe_consumer_groups([group_id])[group_id].result(10)
            owned = sum(len(m.assignment.topic_partitions) for m in group.members)
            state = f"{group.state.name}, {len(group.members)} members, {owned} partitions"
            if group.state == ConsumerGroupState.STABLE and len(group.members) == members and owned == PARTITIONS:
                return
        except Exception as error:  # noqa: BLE001 - the group may not exist yet
            state = str(error)
        time.sleep(0.2)
    raise TimeoutError(f"group {group_id} not stable with {members} members after {timeout:.0f} s ({state})")


def probe_partitions(bootstrap: str, control: str, output: str, timeout: float = 60.0) -> None:
    """Send one `create` to every control partition and wait for an output keyed by each.

    Proves that every partition is owned, restored and processed end to end before a
    measurement starts. Outputs are keyed `probe-…`, which every measurement skips.
    """
    tag = uuid.uuid4().hex[:6]
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for partition in range(PARTITIONS):
        job = f"probe-{tag}-{partition}"
        produce(producer, control, job, command(job, "create", mode="snapshot"), partition=partition)
    producer.flush(30)
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


def read_committed_consumer(bootstrap: str, **extra: Any) -> Consumer:
    return Consumer({
        "bootstrap.servers": bootstrap, "group.id": unique("reader"), "isolation.level": "read_committed",
        "enable.auto.commit": False, "auto.offset.reset": "earliest", **extra,
    })  # fmt: skip


# -- the throughput input --------------------------------------------------------------------
def preload_lifecycles(bootstrap: str, topic: str, jobs: int) -> dict[int, int]:
    """Write each job's create → terminate → stopped in ONE producer transaction.

    Nothing of it is visible to a read_committed consumer until the commit, so every consumer
    of the group sees the whole input at the same moment. Returns, per partition, the offset
    just after its last message (what the group has committed once it consumed everything).
    """
    producer = Producer({
        "bootstrap.servers": bootstrap, "transactional.id": unique("preload"),
        "transaction.timeout.ms": 300_000, "linger.ms": 20, "batch.size": 1_000_000,
    })  # fmt: skip
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
            value = {"command_id": uuid.uuid4().hex, "type": kind, "job_id": job, "issued_at": issued, **fields}
            produce(producer, topic, job, json.dumps(value, separators=(",", ":")).encode(), on_delivery=delivered)
        if n % 1000 == 0:
            producer.poll(0)
    producer.flush(120)
    producer.commit_transaction(120)
    return ends


def wait_consumed(bootstrap: str, group_id: str, topic: str, ends: dict[int, int], timeout: float) -> float | None:
    """Monotonic time at which the group had committed every preloaded offset (None: timed out)."""
    # Reads the group's committed offsets; it never subscribes, so it never joins the group.
    watcher = Consumer({"bootstrap.servers": bootstrap, "group.id": group_id, "enable.auto.commit": False})
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
                        at_end.add(message.partition())
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


def attach_profiler(child: Child, output: Path) -> subprocess.Popen[bytes]:
    """Sample `child` with py-spy (collapsed stacks) until it exits; only for --profile runs."""
    spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen(
        [str(spy), "record", "--pid", str(child.process.pid), "--format", "raw", "--nonblocking",
         "--rate", "200", "--output", str(output)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
