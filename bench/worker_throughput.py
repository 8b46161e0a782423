"""First throughput figure of one worker: create → terminate → stopped, commands/s to outcomes.

Preloads the control topic (each job's three messages in a row), then starts one worker and
times from the first to the last event it wrote (event timestamps are set by the worker's
producer). The `stopped` reports are ignored by the worker (the job is already cancelled) but
processed in the same stream. Prints one JSON line. Usage:

    .venv/bin/python bench/worker_throughput.py [--jobs 5000] [--bootstrap-servers HOST:PORT]

Without --bootstrap-servers it starts its own local broker (syncctl.testing.LocalKafka).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from syncctl.testing import LocalKafka

LIFE = (("create", {"mode": "snapshot"}), ("terminate", {}), ("stopped", {}))


@contextlib.contextmanager
def broker(address: str | None) -> Iterator[str]:
    if address:
        yield address
        return
    lib = Path(__file__).resolve().parents[1] / ".local" / "kafka" / "lib"
    with LocalKafka(lib_dir=lib) as kafka:
        yield kafka.bootstrap_servers


def preload(bootstrap: str, topic: str, jobs: int) -> int:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "enable.idempotence": True})
    now = datetime.now(UTC).isoformat()
    sent = 0
    for n in range(jobs):
        job = f"job-{n}"
        for step, fields in LIFE:
            value = {"command_id": uuid.uuid4().hex, "type": step, "job_id": job, "issued_at": now, **fields}
            while True:
                try:
                    producer.produce(topic, key=job, value=json.dumps(value))
                    break
                except BufferError:
                    producer.poll(0.1)
            sent += 1
    producer.flush(60)
    return sent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--bootstrap-servers")
    args = parser.parse_args()
    prefix = f"bench-{uuid.uuid4().hex[:6]}"
    topics = {k: f"{prefix}.{k}" for k in ("control", "state", "events", "dlq")}
    with broker(args.bootstrap_servers) as bootstrap:
        admin = AdminClient({"bootstrap.servers": bootstrap})
        new = [NewTopic(topics["control"], 12, 1), NewTopic(topics["events"], 12, 1),
               NewTopic(topics["state"], 12, 1, config={"cleanup.policy": "compact"})]  # fmt: skip
        for future in admin.create_topics(new).values():
            future.result(30)
        commands = preload(bootstrap, topics["control"], args.jobs)
        # create → NOT_STARTED; terminate of a job not started → SNAPSHOT_CANCELLED at once;
        # the runner's late `stopped` is then ignored: 3 commands, 2 events per job.
        expected_events = 2 * args.jobs
        env = {
            **os.environ, "SYNCCTL_KAFKA__BOOTSTRAP_SERVERS": bootstrap, "SYNCCTL_LOG__LEVEL": "WARNING",
            "SYNCCTL_WORKER__GROUP_ID": prefix, "SYNCCTL_WORKER__INSTANCE_ID": "bench",
            **{f"SYNCCTL_TOPICS__{k.upper()}": v for k, v in topics.items()},
        }  # fmt: skip
        profile = ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]] if os.environ.get("BENCH_PROFILE") else []
        worker = subprocess.Popen([sys.executable, *profile, "-m", "syncctl", "worker"], env=env)
        reader = Consumer({"bootstrap.servers": bootstrap, "group.id": prefix + "-reader",
                           "isolation.level": "read_committed", "enable.auto.commit": False})  # fmt: skip
        reader.assign([TopicPartition(topics["events"], p, OFFSET_BEGINNING) for p in range(12)])
        seen, first, last = 0, None, None
        deadline = time.monotonic() + 600
        while seen < expected_events and time.monotonic() < deadline:
            for message in reader.consume(10_000, 0.2):
                if message.error():
                    continue
                seen += 1
                # Event timestamps are set by the worker's producer when it writes them.
                stamp = message.timestamp()[1] / 1000
                first = stamp if first is None else min(first, stamp)
                last = stamp if last is None else max(last, stamp)
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
        reader.close()
        seconds = (last or 0) - (first or 0)
        print(json.dumps({
            "commands": commands, "events": seen, "seconds": round(seconds, 3),
            "commands_per_second": round(commands / seconds) if seconds else None,
            "cores": os.cpu_count(),
        }))  # fmt: skip


if __name__ == "__main__":
    main()
