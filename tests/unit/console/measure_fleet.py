"""The console at fleet size, without a broker: RSS, History's pages and their time.

    PYTHONPATH=src:. python -m tests.unit.console.measure_fleet --jobs 100000

Generates N realistic jobs (tests/unit/console/fleet.py, every record and event the worker
would have written, in order) in a child process into a file, then feeds them through the
console's JobFeed as it reads the topics (`_take`, from the beginning), and serves History
through the real app (Starlette's TestClient, logged in as the loopback operator). Prints the
console process's RSS and each page's size and median time. Not a test: `make bench` material.
"""

from __future__ import annotations

import argparse
import gc
import re
import statistics
import struct
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path

_TOPICS = {b"s": "state", b"e": "events"}


def generate(count: int, path: Path) -> None:
    from tests.unit.console.fleet import messages

    with path.open("wb") as out:
        for topic, key, value in messages(count):
            out.write(topic[0].encode())
            out.write(struct.pack(">HI", len(key), len(value)))
            out.write(key)
            out.write(value)


def read(path: Path) -> Iterator[tuple[str, bytes, bytes]]:
    with path.open("rb") as source:
        while head := source.read(7):
            topic, (key_size, value_size) = _TOPICS[head[:1]], struct.unpack(">HI", head[1:])
            yield topic, source.read(key_size), source.read(value_size)


def rss_mib() -> float:
    status = Path("/proc/self/status").read_text()
    found = re.search(r"VmRSS:\s+(\d+)", status)
    return int(found.group(1)) / 1024 if found else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    data = options.data or Path(f"/tmp/syncctl-fleet-{options.jobs}.bin")
    if options.generate:
        generate(options.jobs, data)
        return
    if not data.exists():
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "tests.unit.console.measure_fleet", "--generate",
             "--jobs", str(options.jobs), "--data", str(data)],
            check=True,
        )  # fmt: skip
        print(f"generated {options.jobs:,} jobs in {time.monotonic() - started:.1f} s -> {data}")

    from starlette.testclient import TestClient

    from syncctl.console.app import create_app
    from syncctl.settings import Settings
    from tests.unit.console.fleet import FedFeed, RecordingClient

    feed = FedFeed()
    app = create_app(Settings(), feed=feed, client=RecordingClient())  # type: ignore[arg-type]
    gc.collect()
    before = rss_mib()
    started = time.monotonic()
    records = events = 0
    for topic, key, value in read(data):
        feed.take(topic, key, value, catching_up=True)
        records += topic == "state"
        events += topic == "events"
    read_at = time.monotonic()
    feed.start()  # indexes what it read, as the feed does once caught up
    indexed_at = time.monotonic()
    gc.collect()
    print(
        f"fed {records:,} records and {events:,} events of {feed.count():,} jobs: read "
        f"{read_at - started:.1f} s, indexed {indexed_at - read_at:.1f} s"
    )
    print(f"RSS: {rss_mib():.0f} MiB (app and imports before feeding: {before:.0f} MiB)")

    def measure(http: TestClient, path: str, runs: int = 15) -> tuple[int, float, str]:
        times = []
        for _ in range(runs):
            began = time.perf_counter()
            answer = http.get(path)
            times.append(time.perf_counter() - began)
            assert answer.status_code == 200, (path, answer.status_code)
        count = re.search(r'id="job-count"[^>]*>([^<]*)', answer.text)
        return len(answer.content), statistics.median(times) * 1000, count.group(1) if count else ""

    with TestClient(app, base_url="http://127.0.0.1:8080") as http:
        first = http.get("/").text
        older = re.search(r'href="\?(after=[^"]+)" id="page-older"', first)
        job = re.search(r'data-job="([^"]+)"', first)
        assert older and job
        deep = "/?" + older.group(1)
        for _ in range(200):  # 200 pages down: the 10,001st job
            found = re.search(r'href="\?(after=[^"]+)" id="page-older"', http.get(deep).text)
            assert found
            deep = "/?" + found.group(1)
        pages = {
            "first page": "/",
            "page 2": "/?" + older.group(1),
            "page 202 (after 200 x Older)": deep,
            "status=CDC_RUNNING": "/?status=CDC_RUNNING",
            "status=PAUSED,FAILED & mode=continuous":
                "/?status=PAUSED&status=FAILED&mode=continuous",
            "asked_by=alice & stage=cdc": "/?asked_by=alice&stage=cdc",
            "prefix=orders-": "/?prefix=orders-",
            "prefix=orders-00012 (a search)": "/?prefix=orders-00012",
            "prefix=orders- & status=COMPLETED, 200 rows":
                "/?prefix=orders-&status=COMPLETED&limit=200",
            "Job overview": f"/jobs/{job.group(1)}",
        }  # fmt: skip
        print(f"{'page':<46} {'bytes':>9} {'median ms':>10}  shows")
        for name, path in pages.items():
            size, millis, shows = measure(http, path)
            print(f"{name:<46} {size:>9,} {millis:>10.1f}  {shows}")
    gc.collect()
    print(f"RSS after serving: {rss_mib():.0f} MiB")
    live(feed, data)


def live(feed: object, data: Path, changes: int = 20_000) -> None:
    """What a first page's stream would carry while `changes` records of the fleet change."""
    import asyncio

    from syncctl.console.feed import View

    page, _ = feed.page()  # type: ignore[attr-defined]
    view = View(ids=frozenset(e.job_id for e in page.entries), count_new=True)
    tail: deque[tuple[str, bytes, bytes]] = deque(maxlen=changes)
    tail.extend(item for item in read(data) if item[0] == "state")

    async def run() -> tuple[int, int, float]:
        queue = feed.subscribe(view)  # type: ignore[attr-defined]
        began = time.perf_counter()
        for topic, key, value in tail:
            feed.take(topic, key, value)  # type: ignore[attr-defined]
        took = time.perf_counter() - began
        await asyncio.sleep(0.1)
        sent = 0
        count = 0
        while not queue.empty():
            sent += len(queue.get_nowait())
            count += 1
        return count, sent, took

    count, sent, took = asyncio.run(run())
    print(
        f"live: {len(tail):,} record changes across the fleet in {took:.1f} s; a first page's "
        f"stream got {count} row updates ({sent:,} bytes) and a count of {len(view.new):,} "
        "new jobs (one small message a second at most)"
    )


if __name__ == "__main__":
    main()
