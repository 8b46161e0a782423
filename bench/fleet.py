"""A fleet in the store: what the console and `syncctl jobs` cost at 100,000 and 1,000,000 jobs.

    python -m bench.fleet [--jobs 100000 1000000] [--bootstrap-servers HOST:PORT]

Measured as an operator meets them, each in its own process on one local broker:

- the state topic is filled as the worker writes it (bench/fleet_cli.py `fill`: realistic
  records, most jobs ended, older versions and tombstones among them);
- `syncctl jobs` runs as a user types it (`python -m syncctl jobs ...`, 3 rounds, median wall
  and CPU time, the child's peak RSS);
- `syncctl console` is started as a user starts it (loopback, no users file: everyone on the
  machine is an operator). Once `/healthz` says ready, History's pages are fetched over HTTP
  (median of 15, time to the last byte), the console's RSS is read from /proc, and a first
  page's live stream is followed while 2,000 jobs a second, picked across the whole fleet, get
  a new version: the stream's bytes per second must follow what is on the page, not the fleet.

Prints one JSON document; `python -m bench` runs it as its fleet step.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from confluent_kafka import Producer

from bench.common import (
    PARTITIONER,
    PARTITIONS,
    REPO,
    STATE_CONFIG,
    Topics,
    close_producer,
    create_topics,
    delete_topics,
    produce,
    unique,
)
from bench.fleet_cli import COMMANDS, broker, fill, job_record
from bench.fleet_cli import measure as measure_command
from syncctl.kafka.config import OUTPUT_COMPRESSION
from syncctl.local.broker import free_port

PAGE_RUNS = 15
LIVE_SECONDS, LIVE_RATE = 10.0, 2_000
# History's pages, by what a user asks for; the deep page is reached by following "Older".
PAGES = {
    "first page": "/",
    "status=CDC_RUNNING": "/?status=CDC_RUNNING",
    "status=PAUSED,FAILED & mode=continuous": "/?status=PAUSED&status=FAILED&mode=continuous",
    "asked_by=alice & stage=cdc": "/?asked_by=alice&stage=cdc",
    "prefix=crm- (a search)": "/?prefix=crm-",
    "prefix=crm-00012 (narrow search)": "/?prefix=crm-00012",
}
DEEP_PAGES = 100
_OLDER = re.compile(r'href="\?(after=[^"]+)" id="page-older"')
_JOB = re.compile(r'data-job="([^"]+)"')
_COUNT = re.compile(r'id="job-count"[^>]*>([^<]*)')


def measure(bootstrap: str, jobs: int) -> dict[str, Any]:
    topics = Topics.named(unique(f"fleet{jobs}"))
    create_topics(bootstrap, {topics.state: STATE_CONFIG, topics.events: {}, topics.control: {}})
    try:
        began = time.monotonic()
        filled = fill(bootstrap, topics.state, jobs)
        filled["fill_seconds"] = round(time.monotonic() - began, 1)
        env = {
            **topics.env(),
            "SYNCCTL_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "USER": "bench",
        }
        cli = {
            f"syncctl {name}": measure_command(REPO / "src", arguments, env, rounds=3)
            for name, arguments in COMMANDS.items()
        }
        return {"jobs": jobs, "fleet": filled, "cli": cli, "console": _console(env, jobs)}
    finally:
        delete_topics(bootstrap, [topics.state, topics.events, topics.control])


def _console(env: dict[str, str], jobs: int) -> dict[str, Any]:
    port = free_port()
    argv = [sys.executable, "-m", "syncctl", "console", "--port", str(port)]
    with _process(argv, env) as process:
        began = time.monotonic()
        _wait_ready(port, process, timeout=60 + jobs / 2_000)
        ready_s = time.monotonic() - began
        rss_ready = _rss_mib(process.pid)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        first = _get(connection, "/")
        pages = {name: _page(connection, path) for name, path in PAGES.items()}
        deep = _deep_path(connection, first, DEEP_PAGES)
        pages[f"page {DEEP_PAGES + 1} (after {DEEP_PAGES} x Older)"] = _page(connection, deep)
        job = _JOB.search(first)
        if job:
            pages["Job overview"] = _page(connection, f"/jobs/{quote(job.group(1))}")
        ids = _JOB.findall(first)
        live = _live(port, env, ids, jobs)
        rss_after = _rss_mib(process.pid)
        return {
            "seconds_to_ready": round(ready_s, 1),
            "rss_mib_at_ready": rss_ready,
            "rss_mib_after_pages_and_live": rss_after,
            "peak_rss_mib": _rss_mib(process.pid, "VmHWM"),
            "pages": pages,
            "live": live,
        }


@contextlib.contextmanager
def _process(argv: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        argv,
        env={**os.environ, **env, "PYTHONPATH": str(REPO / "src")},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the console exited with {process.returncode} before ready")
        with contextlib.suppress(OSError):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"the console was not ready within {timeout:.0f} s")


def _get(connection: http.client.HTTPConnection, path: str) -> str:
    connection.request("GET", path)
    answer = connection.getresponse()
    body = answer.read()
    if answer.status != 200:
        raise RuntimeError(f"GET {path}: {answer.status}")
    return body.decode()


def _page(connection: http.client.HTTPConnection, path: str) -> dict[str, Any]:
    """Bytes and median milliseconds to the last byte; what the page says it shows."""
    times = []
    body = ""
    for _ in range(PAGE_RUNS):
        began = time.perf_counter()
        body = _get(connection, path)
        times.append((time.perf_counter() - began) * 1000)
    shown = _COUNT.search(body)
    return {
        "bytes": len(body.encode()),
        "median_ms": round(statistics.median(times), 1),
        "max_ms": round(max(times), 1),
        "rows": len(_JOB.findall(body)),
        "shows": shown.group(1).strip() if shown else None,
    }


def _deep_path(connection: http.client.HTTPConnection, first: str, pages: int) -> str:
    body = first
    path = "/"
    for _ in range(pages):
        older = _OLDER.search(body)
        if older is None:
            break
        path = "/?" + older.group(1).replace("&amp;", "&")
        body = _get(connection, path)
    return path


def _live(port: int, env: dict[str, str], ids: list[str], jobs: int) -> dict[str, Any]:
    """A first page's stream while LIVE_RATE jobs a second, across the fleet, change."""
    received = [0]
    messages = [0]
    stop = threading.Event()
    view = f"ids={quote(','.join(ids))}&first=1"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=LIVE_SECONDS + 30)
    connection.request("GET", f"/stream?{view}", headers={"Accept": "text/event-stream"})
    answer = connection.getresponse()

    def follow() -> None:
        while not stop.is_set():
            line = answer.fp.readline()
            if not line:
                return
            received[0] += len(line)
            messages[0] += line.startswith(b"data:")

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    changed = _change_jobs(env, jobs, LIVE_RATE, LIVE_SECONDS)
    time.sleep(2.0)  # the last changes' updates and the once-a-second count reach the stream
    stop.set()
    connection.close()
    return {
        "changes": changed,
        "changes_per_second": LIVE_RATE,
        "seconds": LIVE_SECONDS,
        "stream_bytes": received[0],
        "stream_bytes_per_second": round(received[0] / (LIVE_SECONDS + 2.0)),
        "stream_messages": messages[0],
        "rows_on_page": len(ids),
    }


def _change_jobs(env: dict[str, str], jobs: int, rate: int, seconds: float) -> int:
    """New versions of random jobs, at `rate` a second, as the worker would write them."""
    producer = Producer(
        {
            "bootstrap.servers": env["SYNCCTL_KAFKA__BOOTSTRAP_SERVERS"],
            "enable.idempotence": True,
            "linger.ms": 5,
            "partitioner": PARTITIONER,
            "compression.type": OUTPUT_COMPRESSION,
        }
    )
    rng = random.Random(7)
    now = datetime.now(UTC)
    total = int(rate * seconds)
    began = time.monotonic()
    for sent in range(total):
        due = began + sent / rate
        if (wait := due - time.monotonic()) > 0:
            time.sleep(wait)
        number = rng.randrange(jobs)
        record = job_record(number, random.Random(number), now).model_copy(
            update={"updated_at": datetime.now(UTC), "status_changed_at": datetime.now(UTC)}
        )
        value = record.model_dump_json().encode()
        produce(producer, env["SYNCCTL_TOPICS__STATE"], record.job_id.encode(), value)
        producer.poll(0)
    producer.flush(30)
    close_producer(producer)
    return total


def _rss_mib(pid: int, field: str = "VmRSS") -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(rf"{field}:\s+(\d+)", status)
    return round(int(found.group(1)) / 1024, 1) if found else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--bootstrap-servers")
    options = parser.parse_args()
    with broker(options.bootstrap_servers) as bootstrap:
        results = []
        for jobs in options.jobs:
            results.append(measure(bootstrap, jobs))
            print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    print(json.dumps({"partitions": PARTITIONS, "runs": results}, indent=2))


if __name__ == "__main__":
    main()
