"""Retention: a state topic whose history is mostly ended jobs, with retention on.

Writes N job records to a compacted 12-partition state topic as a long-lived fleet leaves it:
`expired_share` of them ended (Completed) 60 days ago, the rest running. The topic compacts
quickly (small segments, tombstones kept 1 s) so that what a restore reads later is what
compaction leaves. Then:

1. a worker with the default retention (30 days) restores all N records and expires the ended
   ones (one tombstone and one `job_expired` event each, in its own transactions): restore
   time, time to expire them all, RSS at ready and once they are gone;
2. once the topic has compacted, a second worker restores it: restore time and RSS now, against
   the first restore of the whole history.

`python -m bench.retention --records 1000000` runs it alone; `make bench` runs it at its sizes.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka import Producer

from bench.children import Child, first_event, ready_partitions, start_worker
from bench.common import (
    PARTITIONER,
    PARTITIONS,
    Topics,
    close_producer,
    create_topics,
    delete_topics,
    produce,
    unique,
)
from syncctl.contract import JobRecord, Stages, StageState, Status
from syncctl.kafka.config import OUTPUT_COMPRESSION

_PLACEHOLDER = "JOBIDPLACEHOLDER"
# Compacted within seconds: small segments, a cleaner that starts at little dirt, tombstones
# dropped after 1 s (the default keeps them a day, during which a restore still reads them).
_FAST_COMPACTING = {
    "cleanup.policy": "compact",
    "min.cleanable.dirty.ratio": "0.01",
    "segment.ms": "5000",
    "delete.retention.ms": "1000",
    "min.compaction.lag.ms": "0",
}


def _templates() -> tuple[bytes, bytes]:
    """A running job's record and one that ended 60 days ago, with a placeholder job id."""
    now = datetime.now(UTC)
    running = JobRecord(
        job_id=_PLACEHOLDER,
        mode="snapshot",
        status=Status.SNAPSHOT_RUNNING,
        stages=Stages(snapshot=StageState.RUNNING),
        created_at=now,
        created_by="bench",
        updated_at=now,
        status_changed_at=now,
        applied_command_ids=("c" * 32, "d" * 32),
    )
    long_ago = now - timedelta(days=60)
    ended = running.model_copy(
        update={
            "status": Status.COMPLETED,
            "stages": Stages(snapshot=StageState.COMPLETED),
            "updated_at": long_ago,
            "status_changed_at": long_ago,
        }
    )
    return running.model_dump_json().encode(), ended.model_dump_json().encode()


def _write(bootstrap: str, topic: str, records: int, expired_share: float) -> int:
    """Write the records; return how many of them ended long ago."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "linger.ms": 50,
            "partitioner": PARTITIONER,
            "batch.size": 900_000,
            "queue.buffering.max.messages": 1_000_000,
            "queue.buffering.max.kbytes": 1_048_576,
            "compression.type": OUTPUT_COMPRESSION,
        }
    )
    running, ended = (t.split(_PLACEHOLDER.encode()) for t in _templates())
    every = max(1, round(1 / (1 - expired_share))) if expired_share < 1 else 0
    expired = 0
    for n in range(records):
        job = f"job-{n:07d}".encode()
        live = every and n % every == 0
        head, tail = running if live else ended
        expired += not live
        produce(producer, topic, job, head + job + tail)
        if n % 10_000 == 0:
            producer.poll(0)
    if producer.flush(300) != 0:
        raise TimeoutError(f"records for {topic} not delivered within 300 s")
    close_producer(producer)
    return expired


def _expired(lines: list[tuple[float, dict[str, Any]]], wanted: int) -> float | None:
    """When the worker's `ended jobs expired` lines add up to `wanted`."""
    total = 0
    for at, entry in lines:
        if entry.get("event") == "ended jobs expired":
            total += int(entry.get("jobs", 0))
            if total >= wanted:
                return at
    return None


def _restore(child: Child, timeout: float) -> tuple[float, float | None]:
    ready = child.wait_for(lambda lines: ready_partitions(lines, PARTITIONS), timeout)
    assigned = first_event(child.lines, "partitions assigned; restoring state")
    return ready, assigned


def _changelog_records(child: Child) -> int:
    return sum(
        int(entry.get("changelog_records", 0))
        for _, entry in child.lines
        if entry.get("event") == "partition restored"
    )


def measure(
    bootstrap: str, records: int, expired_share: float = 0.9, timeout: float = 900.0
) -> dict[str, Any]:
    prefix = unique(f"retention{records}")
    topics = Topics.named(prefix)
    create_topics(bootstrap, {topics.control: {}, topics.state: _FAST_COMPACTING})
    expired = _write(bootstrap, topics.state, records, expired_share)
    try:
        first = start_worker(bootstrap, topics, prefix, "w1", log_level="INFO")
        try:
            ready, assigned = _restore(first, timeout)
            rss_at_ready = first.rss()
            done = first.wait_for(lambda lines: _expired(lines, expired), timeout)
            rss_after = first.rss()
            read_first = _changelog_records(first)
        finally:
            first.stop()
        # Compaction removes the expired records, then their tombstones: until it has, a restore
        # still reads them. The cleaner runs every 15 s by default; give it a few rounds.
        time.sleep(45)
        second = start_worker(bootstrap, topics, prefix, "w2", log_level="INFO")
        try:
            ready_2, assigned_2 = _restore(second, timeout)
            rss_2 = second.rss()
            read_second = _changelog_records(second)
        finally:
            second.stop()
    finally:
        delete_topics(bootstrap, [topics.control, topics.state, topics.events, topics.dlq])
    return {
        "records": records,
        "ended_long_ago": expired,
        "first_worker": {
            "changelog_records_read": read_first,
            "restore_seconds": round(ready - (assigned or first.started), 3),
            "rss_mib_at_ready": round(rss_at_ready / 2**20, 1),
            "seconds_to_expire_all": round(done - ready, 1),
            "expired_per_second": round(expired / max(done - ready, 1e-9)),
            "rss_mib_after_expiry": round(rss_after / 2**20, 1),
        },
        "after_compaction": {
            "changelog_records_read": read_second,
            "restore_seconds": round(ready_2 - (assigned_2 or second.started), 3),
            "rss_mib_at_ready": round(rss_2 / 2**20, 1),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--expired-share", type=float, default=0.9)
    parser.add_argument("--bootstrap", help="a running broker (default: start a local one)")
    args = parser.parse_args()
    if args.bootstrap:
        print(json.dumps(measure(args.bootstrap, args.records, args.expired_share), indent=2))
        return
    from bench.common import REPO
    from syncctl.local import LocalKafka

    with LocalKafka(lib_dir=REPO / ".local" / "kafka" / "lib") as kafka:
        result = measure(kafka.bootstrap_servers, args.records, args.expired_share)
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
