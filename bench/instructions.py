"""Instructions per command on the worker's in-process path, counted by valgrind: an A/B tool.

CPU time on this machine varies by 20-40 % between runs minutes apart, more than a small change
takes off; the number of instructions executed does not (two runs agree within 0.1 %). This runs
`bench.breakdown`'s worker path (handler, state machine, store, checkpoint, producing into a
librdkafka queue that never sends) under `valgrind --tool=cachegrind`, twice: once with only the
warm-up and once with `--jobs` more jobs; the difference divided by the commands is the figure.
Command ids come from a seeded generator and PYTHONHASHSEED is fixed, so a run repeats itself.

Instructions are not time (a cache miss costs more than an add), and the path leaves out what a
broker costs (fetching, sending, the transaction round trips) and the garbage collector (frozen
after the warm-up): it says which of two commits runs less of syncctl's own code, not by how much
the worker's CPU differs. `python -m bench --baseline` measures that.

    python -m bench.instructions [--jobs N] [--baseline REF]     # prints one JSON object
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from bench.baseline import checked_out
from bench.common import REPO

WARM_UP_JOBS = 1000
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def count(jobs: int, source: Path | None = None) -> float:
    """Instructions per command of the worker path over `jobs` jobs (3 commands each), with
    `source` first on PYTHONPATH (another commit's syncctl) if given."""
    idle, busy = (_instructions(jobs, n, source) for n in (0, jobs))
    return (busy - idle) / (3 * jobs)


def _instructions(jobs: int, handled: int, source: Path | None) -> int:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(source or ""), str(REPO)) if p)
    run = subprocess.run(
        [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            sys.executable,
            "-m",
            "bench.instructions",
            "--path-only",
            str(jobs),
            str(handled),
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    found = _REFS.search(run.stderr)
    if found is None:
        raise RuntimeError(f"valgrind printed no instruction count:\n{run.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def _path_only(jobs: int, handled: int) -> None:
    """What runs under valgrind: the warm-up, then `handled` of `jobs` jobs' commands in batches
    of 200 (every job's commands are made either way: only handling them differs)."""
    import gc
    import random
    import uuid
    from datetime import UTC, datetime

    random.seed(7)  # the same command ids every run
    uuid.uuid4 = lambda: uuid.UUID(int=random.getrandbits(128), version=4)

    from bench import breakdown
    from syncctl.logging import configure_logging
    from syncctl.settings import Settings
    from syncctl.store import StateStore

    configure_logging("WARNING", "json")
    messages = breakdown._messages(WARM_UP_JOBS + jobs)
    producer = breakdown._QueueOnlyProducer()
    try:
        store = StateStore(count_statuses=True, index_endings=True)
    except TypeError:  # commits before the endings index
        store = StateStore(count_statuses=True)
    for partition in range(breakdown.PARTITIONS):
        store.add_partition(partition)
    handler, checkpoint = breakdown.worker_parts(Settings(), store, producer)
    now = datetime.now(UTC)
    warm_up = messages[: 3 * WARM_UP_JOBS]
    measured = messages[3 * WARM_UP_JOBS : 3 * (WARM_UP_JOBS + handled)]
    for message in warm_up:
        handler.handle(message, checkpoint, now)
    checkpoint.commit()
    gc.collect()
    gc.freeze()  # as the worker does after a commit: no collection counts
    for start in range(0, len(measured), 200):
        for message in measured[start : start + 200]:
            handler.handle(message, checkpoint, now)
        checkpoint.commit()
    producer.purge()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--baseline", metavar="REF", help="also count another commit's")
    parser.add_argument("--path-only", type=int, nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.path_only is not None:
        _path_only(*args.path_only)
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    worker = count(args.jobs)
    figures: dict[str, object] = {"jobs": args.jobs, "instructions_per_command": round(worker)}
    if args.baseline:
        with checked_out(args.baseline) as base:
            baseline = count(args.jobs, base.source)
        figures["baseline"] = {
            "ref": args.baseline,
            "commit": base.commit,
            "instructions_per_command": round(baseline),
        }
        figures["ratio_worker_to_baseline"] = round(worker / baseline, 3)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
