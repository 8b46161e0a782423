"""Command → outcome latency at a fixed offered rate, open loop.

A sender sends `create` commands for new jobs on a fixed schedule (command i is due at
start + i / rate) and never waits for replies; when it falls behind it sends whatever is due at
once. A reader thread (read_committed, like every user of the events topic) notes when each
outcome becomes visible. Latency = visible − SCHEDULED send time, so a stall of the sender,
worker or broker shows up in the figures instead of slowing the offered load down. Outcomes are
matched to commands by command_id.

`kind="pipe"` measures the same against the bare transactional pipe (bench/pipe.py), whose
outputs are the commands themselves: the floor that Kafka transactions alone set on this machine.
`kind="pipe2"` is the pipe that also copies each command to a compacted state topic: the Kafka
work of a `create` (an event and a state record), none of the worker's Python.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Literal

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from bench.children import Child, attach_profiler, start_worker
from bench.common import (
    PARTITIONER,
    PARTITIONS,
    PROBE,
    STATE_CONFIG,
    Topics,
    close_producer,
    command,
    create_topics,
    delete_topics,
    percentile,
    probe_partitions,
    produce,
    read_committed_consumer,
    unique,
    wait_for_group,
)
from bench.restore import write_records


class _Reader(threading.Thread):
    """Keeps (monotonic arrival, value) of every non-probe event; parsing waits until the end."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(name="latency-reader", daemon=True)
        # A reader that wants outcomes promptly: do not let an idle fetch wait 500 ms.
        self._consumer = read_committed_consumer(bootstrap, **{"fetch.wait.max.ms": 10})
        self._consumer.assign(
            [TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)]
        )
        self.seen: list[tuple[float, bytes]] = []
        self.live = threading.Event()  # set once the probes' events were read: it is fetching
        self.stop_at = float("inf")
        self._probes = 0

    def run(self) -> None:
        try:
            while time.monotonic() < self.stop_at:
                messages = self._consumer.consume(1000, 0.005)
                arrived = time.monotonic()
                for message in messages:
                    if message.error() is not None:
                        continue
                    key = message.key() or b""
                    if key.startswith(PROBE):
                        self._probes += 1
                        if self._probes >= PARTITIONS:
                            self.live.set()
                    else:
                        self.seen.append((arrived, message.value() or b"{}"))
        finally:
            self._consumer.close()


def measure(
    bootstrap: str,
    rate: int,
    seconds: float,
    kind: Literal["worker", "pipe", "pipe2"] = "worker",
    drain_timeout: float = 30.0,
    profile_dir: Path | None = None,
    source: Path | None = None,
    workers: int = 1,
    warmup: float = 2.0,
    preload: int = 0,
    kill_after: float | None = None,
    touch: bool = False,
    worker_settings: dict[str, str] | None = None,
) -> dict[str, Any]:
    """`source`: run the worker from another commit's source (bench/baseline.py); `workers`:
    that many in one group. `preload`: that many job records in the state topic before the
    workers start (bench/restore.py's, the jobs of a fleet the workers restore). `kill_after`:
    SIGKILL the first worker that many seconds into the scored window; the commands scheduled
    in the 10 s from the kill are also scored alone (`after_kill`), from their scheduled time,
    the takeover (session timeout, rebalance, restore) included. `touch`: before the window,
    send each preloaded job a progress report and wait until the workers have processed them
    all, so that every record in their store is parsed (a served fleet), not restored bytes.
    `worker_settings`: SYNCCTL_* variables for the workers."""
    prefix = unique(f"lat{rate}-{kind}")
    topics = Topics.named(prefix)
    if kind == "worker":
        create_topics(
            bootstrap,
            {topics.control: {}, topics.state: STATE_CONFIG, topics.events: {}, topics.dlq: {}},
        )
        if preload:
            write_records(bootstrap, topics.state, preload)
        processes = [
            start_worker(
                bootstrap, topics, prefix, f"w{n}", source=source, settings=worker_settings
            )
            for n in range(1, workers + 1)
        ]
    else:
        also = kind == "pipe2"
        create_topics(
            bootstrap,
            {
                topics.control: {},
                topics.events: {},
                **({topics.state: STATE_CONFIG} if also else {}),
            },
        )
        argv = [
            sys.executable,
            "-m",
            "bench.pipe",
            bootstrap,
            topics.control,
            topics.events,
            prefix,
            "p1",
            *(["--also", topics.state] if also else []),
        ]
        processes = [Child(argv, {}, f"{kind} p1")]
    spies: list[subprocess.Popen[bytes]] = []
    reader = _Reader(bootstrap, topics.events)
    # Like SyncJobsClient's producer: idempotent, librdkafka's default linger (5 ms).
    producer = Producer(
        {"bootstrap.servers": bootstrap, "enable.idempotence": True, "partitioner": PARTITIONER}
    )
    try:
        wait_for_group(bootstrap, prefix, len(processes))
        probe_partitions(bootstrap, topics.control, topics.events, producer)
        if touch and preload:
            touched_in = _touch(bootstrap, topics.control, prefix, preload, producer)
        if profile_dir is not None:  # the scored window, not the touch before it
            spies = [
                attach_profiler(p, profile_dir / f"{prefix}-{p.name.replace(' ', '-')}.txt")
                for p in processes
            ]
        reader.start()
        if not reader.live.wait(30):
            raise TimeoutError("the latency reader did not see the probes' events")
        # The first `warmup` seconds are sent at the same rate but not scored: a fresh broker,
        # producer and worker are slower for their first transactions (new partitions in the
        # transaction, cold JVM paths), which is not the steady state a rate is about.
        warm = int(rate * warmup)
        count = warm + int(rate * seconds)
        ids = [f"{prefix}-{i}" for i in range(count)]
        payloads = [
            command(f"lat-{i}-{prefix[-8:]}", "create", ids[i], mode="snapshot")
            for i in range(count)
        ]
        keys = [f"lat-{i}-{prefix[-8:]}" for i in range(count)]
        start = time.monotonic() + 0.05
        sent, max_lag = 0, 0.0
        give_up = start + warmup + seconds + drain_timeout
        kill_at = None if kill_after is None else start + warmup + kill_after
        killed_at: float | None = None
        while sent < count and time.monotonic() < give_up:
            now = time.monotonic()
            if kill_at is not None and killed_at is None and now >= kill_at:
                processes[0].process.kill()
                killed_at = now
            due = min(count, int((now - start) * rate) + 1)
            if due > sent:
                max_lag = max(max_lag, now - (start + sent / rate))
                for i in range(sent, due):
                    produce(producer, topics.control, keys[i], payloads[i])
                sent = due
            producer.poll(0)
            pause = start + sent / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        send_seconds = time.monotonic() - start
        producer.flush(30)
        reader.stop_at = time.monotonic() + drain_timeout
        while len(reader.seen) < sent and time.monotonic() < reader.stop_at:
            time.sleep(0.05)
        reader.stop_at = 0.0
        reader.join(10)
        peak_rss = max((p.peak_rss() for p in processes if p.process.poll() is None), default=0)
    finally:
        reader.stop_at = 0.0
        close_producer(producer)
        for process in processes:
            process.stop()
        for spy in spies:
            spy.wait(60)
    index = {command_id: i for i, command_id in enumerate(ids)}
    by_number: dict[int, float] = {}
    for arrived, value in reader.seen:
        number = index.get(json.loads(value).get("command_id"))
        if number is not None:
            by_number[number] = arrived - (start + number / rate)
    after_kill: dict[str, Any] | None = None
    if killed_at is not None:
        window = [
            by_number.get(n)
            for n in range(count)
            if killed_at <= start + n / rate < killed_at + 10.0
        ]
        answered = sorted(v for v in window if v is not None)
        after_kill = {
            "commands": len(window),
            "missing": len(window) - len(answered),
            "p50_ms": round(percentile(answered, 50) * 1000, 1) if answered else None,
            "p99_ms": round(percentile(answered, 99) * 1000, 1) if answered else None,
            "max_ms": round(answered[-1] * 1000, 1) if answered else None,
        }
    warmup_latencies = sorted(v for n, v in by_number.items() if n < warm)
    by_number = {n - warm: v for n, v in by_number.items() if n >= warm}
    scored = count - warm
    latencies = sorted(by_number.values())
    first, last = _tenths(by_number, scored)
    delete_topics(bootstrap, [topics.control, topics.state, topics.events, topics.dlq])

    def ms(value: float) -> float:
        return round(value * 1000, 1)

    return {
        "kind": kind,
        "rate": rate,
        "seconds": seconds,
        "commands": scored,
        "warmup_commands": warm,
        "warmup_p50_ms": ms(percentile(warmup_latencies, 50)),
        "sent": sent,
        "outcomes": len(latencies),
        "missing": scored - len(latencies),
        "achieved_send_rate": round(sent / send_seconds, 1) if send_seconds > 0 else None,
        "max_sender_lag_ms": ms(max_lag),
        "p50_ms": ms(percentile(latencies, 50)),
        "p95_ms": ms(percentile(latencies, 95)),
        "p99_ms": ms(percentile(latencies, 99)),
        "max_ms": ms(latencies[-1]) if latencies else None,
        "mean_ms": ms(sum(latencies) / len(latencies)) if latencies else None,
        # A worker that falls behind has a backlog that grows for the whole run: its last
        # commands wait far longer than its first.
        "p50_first_tenth_ms": ms(percentile(first, 50)),
        "p50_last_tenth_ms": ms(percentile(last, 50)),
        "keeps_up": scored == len(latencies) and _keeps_up(first, last),
        "workers": len(processes),
        "baseline": source is not None,
        "peak_rss_mib": round(peak_rss / 2**20, 1),
        "preload": preload,
        "touched_seconds": round(touched_in, 1) if touch and preload else None,
        "after_kill": after_kill,
    }


def _touch(bootstrap: str, control: str, group: str, jobs: int, producer: Producer) -> float:
    """A progress report to each preloaded job, then wait until the group has committed past
    them all; seconds it took."""
    began = time.monotonic()
    stats = {"tables_total": 3, "tables_done": 1, "rows_migrated": 1_000}
    for n in range(jobs):
        job = f"job-{n:07d}"
        produce(producer, control, job.encode(), command(job, "progress", stats=stats))
        if n % 10_000 == 0:
            producer.poll(0)
    producer.flush(120)
    watcher = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        partitions = [TopicPartition(control, p) for p in range(PARTITIONS)]
        ends = {
            p: watcher.get_watermark_offsets(TopicPartition(control, p), timeout=10)[1]
            for p in range(PARTITIONS)
        }
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            committed = watcher.committed(partitions, timeout=10)
            if all(tp.offset >= ends[tp.partition] for tp in committed):
                return time.monotonic() - began
            time.sleep(0.5)
        raise TimeoutError(f"the workers did not process {jobs:,} progress reports in 600 s")
    finally:
        watcher.close()


def _tenths(by_number: dict[int, float], count: int) -> tuple[list[float], list[float]]:
    """Latencies of the first and the last tenth of the commands, in the order they were due."""
    tenth = max(1, count // 10)
    first = sorted(v for n, v in by_number.items() if n < tenth)
    last = sorted(v for n, v in by_number.items() if n >= count - tenth)
    return first, last


def _keeps_up(first: list[float], last: list[float]) -> bool:
    """No growing backlog: the last tenth's median is within twice the first's, plus 50 ms."""
    if not first or not last:
        return False
    return percentile(last, 50) <= 2 * percentile(first, 50) + 0.05
