"""Throughput: commands per second from a preloaded control topic to committed outputs.

For `workers` syncctl workers in one group (or the bare transactional pipe, bench/pipe.py):
start them on empty topics, wait until the group is stable and every partition has answered a
probe, then preload `jobs` × (create, terminate, stopped) in ONE producer transaction, so the
whole input becomes visible at once. Done is when the group's committed offsets reach the end
of the input. Throughput = commands / (last output timestamp − first output timestamp).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Literal

from bench.common import (
    EVENTS_PER_LIFE, LIFE, PARTITIONS, STATE_CONFIG, Child, Topics, attach_profiler, create_topics, delete_topics,
    output_span, preload_lifecycles, probe_partitions, start_worker, unique, wait_consumed, wait_for_group,
)  # fmt: skip

Kind = Literal["worker", "pipe"]


def measure(
    bootstrap: str, kind: Kind, jobs: int, workers: int = 1,
    timeout: float = 300.0, profile_dir: Path | None = None,
) -> dict[str, Any]:  # fmt: skip
    prefix = unique(f"tp-{kind}{workers}")
    topics = Topics.named(prefix)
    if kind == "worker":
        create_topics(bootstrap, {topics.control: {}, topics.state: STATE_CONFIG, topics.events: {}, topics.dlq: {}})
    else:
        create_topics(bootstrap, {topics.control: {}, topics.events: {}})
    group = prefix
    children: list[Child] = []
    spies: list[subprocess.Popen[bytes]] = []
    try:
        for n in range(1, workers + 1):
            if kind == "worker":
                children.append(start_worker(bootstrap, topics, group, f"w{n}"))
            else:
                argv = [sys.executable, "-m", "bench.pipe", bootstrap, topics.control, topics.events, group, f"p{n}"]
                children.append(Child(argv, {}, f"pipe p{n}"))
        wait_for_group(bootstrap, group, workers)
        probe_partitions(bootstrap, topics.control, topics.events)
        wait_for_group(bootstrap, group, workers, timeout=10)  # nobody left or joined meanwhile
        if profile_dir is not None:
            spies = [attach_profiler(c, profile_dir / f"{prefix}-{c.name.replace(' ', '-')}.txt") for c in children]
        ends = preload_lifecycles(bootstrap, topics.control, jobs)
        visible = time.monotonic()
        done = wait_consumed(bootstrap, group, topics.control, ends, timeout)
        peak_rss = [child.peak_rss() for child in children]
    finally:
        for child in children:
            child.stop()
        for spy in spies:
            spy.wait(60)
    span = output_span(bootstrap, topics.events)
    commands = jobs * len(LIFE)
    expected = jobs * (EVENTS_PER_LIFE if kind == "worker" else len(LIFE))
    delete_topics(bootstrap, [topics.control, topics.state, topics.events, topics.dlq])
    return {
        "kind": kind,
        "workers": workers,
        "partitions": PARTITIONS,
        "jobs": jobs,
        "commands": commands,
        "outputs": span.outputs,
        "outputs_expected": expected,
        "complete": done is not None and span.outputs == expected,
        "seconds": round(span.seconds, 3),
        "commands_per_second": round(commands / span.seconds, 1) if span.seconds > 0 else None,
        "outputs_per_second": round(span.outputs / span.seconds, 1) if span.seconds > 0 else None,
        "wall_seconds_commit_to_offsets": round(done - visible, 3) if done is not None else None,
        "peak_rss_mib": [round(rss / 2**20, 1) for rss in peak_rss],
    }
