"""Random but valid job lives, interleaved: the chaos suite's input."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

PROGRESS_STATS = ("tables_total", "tables_done", "rows_migrated", "events_seen")


@dataclass
class Traffic:
    """Control-topic records in sending order, and what went into them."""

    records: list[tuple[bytes | None, bytes | None]] = field(default_factory=list)
    jobs: int = 0
    duplicates: int = 0
    bad: int = 0


def _message(rng: random.Random, job: str, kind: str, serial: list[int]) -> dict[str, object]:
    serial[0] += 1
    message: dict[str, object] = {
        "command_id": f"{job}-c{serial[0]}",
        "type": kind,
        "job_id": job,
        "issued_at": "2026-11-26T12:00:00Z",
    }
    if kind == "progress":
        message["stats"] = {
            k: rng.randint(0, 10**6) for k in rng.sample(PROGRESS_STATS, rng.randint(1, 4))
        }
    elif kind == "failed":
        message["error"] = "source went away"
    elif kind == "stopped":
        message["temp_data_cleaned"] = rng.random() < 0.5
    elif kind == "schedule":
        # Weeks ahead, so that no worker applies it during the run (the replay fires no timer).
        message["type"] = "complete_cdc"
        message["at"] = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT00:00:00Z")
    return message


def life(rng: random.Random, job: str) -> list[dict[str, object]]:
    """One job's messages in order: a plausible life, with operator mistakes mixed in."""
    serial = [0]
    mode = rng.choice(["snapshot", "continuous"])
    kinds = ["create"]
    progress = lambda n: ["progress"] * rng.randint(0, n)  # noqa: E731
    ending = rng.random()
    if ending < 0.1:
        kinds += ["terminate"]  # cancelled before it started
    else:
        kinds += ["snapshot_started", *progress(10)]
        if mode == "snapshot":
            kinds += rng.choice(
                [
                    ["snapshot_completed"],
                    ["terminate", *progress(1), "stopped"],
                    ["terminate", "snapshot_completed", "stopped"],  # the race from the state table
                    ["failed"],
                    ["complete_cdc", "terminate", "stopped"],  # a wrong_stage mistake first
                    ["pause", "paused", *progress(1), "resume", "resumed", "snapshot_completed"],
                    ["pause", "paused", "terminate", *progress(1), "stopped"],
                    # The snapshot finishes around the pause: it counts once resumed.
                    ["pause", "snapshot_completed", "paused", "resume", "resumed"],
                    ["pause", "resume", "paused", "pause", "resume", "resumed", "failed"],
                ]
            )
        else:
            kinds += rng.choice(
                [
                    ["snapshot_completed", *progress(10), "complete_cdc", *progress(2), "stopped"],
                    ["snapshot_completed", "terminate", "complete_cdc", "complete_cdc", "stopped"],
                    ["terminate", "stopped"],
                    ["snapshot_completed", *progress(2), "failed"],
                    ["snapshot_completed", "pause", "paused", "complete_cdc", "stopped"],
                    [
                        "snapshot_completed",
                        "pause",
                        "paused",
                        "resume",
                        "resumed",
                        "complete_cdc",
                        "stopped",
                    ],
                    ["pause", "snapshot_completed", "paused", "terminate", "stopped"],
                    # Scheduled, moved, cancelled, then completed now: the stop replaces it.
                    [
                        "snapshot_completed",
                        "schedule",
                        "schedule",
                        "cancel_schedule",
                        "complete_cdc",
                        "stopped",
                    ],
                    [
                        "schedule",
                        "snapshot_completed",
                        "complete_cdc",
                        "stopped",
                        "cancel_schedule",
                    ],
                ]
            )
    if rng.random() < 0.3:
        kinds += [rng.choice(["terminate", "complete_cdc", "create"])]  # after the end: rejected
    messages = [_message(rng, job, kind, serial) for kind in kinds]
    for message in messages:
        if message["type"] == "create":
            message["mode"] = mode
    return messages


def traffic(seed: int, jobs: int) -> Traffic:
    rng = random.Random(seed)
    out = Traffic(jobs=jobs)
    queues = []
    for n in range(jobs):
        job = f"job-{seed}-{n}"
        records: list[tuple[bytes | None, bytes | None]] = []
        for message in life(rng, job):
            encoded = (job.encode(), json.dumps(message).encode())
            records.append(encoded)
            if rng.random() < 0.05:  # a producer retry without idempotence: the same message again
                records.append(encoded)
                out.duplicates += 1
            if rng.random() < 0.02:  # garbage for this job's key
                records.append(
                    (job.encode(), rng.choice([b"{not json", b"[]", b'{"type": "pause"}']))
                )
                out.bad += 1
        queues.append(records)
    # Interleave the jobs at random, keeping each job's own order.
    while queues:
        index = rng.randrange(len(queues))
        out.records.append(queues[index].pop(0))
        if not queues[index]:
            queues[index] = queues[-1]
            queues.pop()
    return out
