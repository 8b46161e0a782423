"""`make run` brings up a running demo: broker, worker, runner, and jobs that make progress."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.integration.harness import require_postgres, wait_until

from syncctl import SyncJobsClient
from syncctl.contract import Status
from syncctl.local import free_port

REPO = Path(__file__).resolve().parents[2]


def test_make_run_starts_the_demo() -> None:
    dry_run = subprocess.run(["make", "-n", "run"], cwd=REPO, capture_output=True, text=True)
    assert "syncctl demo" in dry_run.stdout


def test_the_demo_runs_jobs_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port, console_port = free_port(), free_port()
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "syncctl",
            "demo",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "data"),
            "--rows-per-second",
            "500",
            "--console-port",
            str(console_port),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert demo.stdout is not None
        banner = demo.stdout.readline()
        assert banner.startswith(f"syncctl demo is running: Kafka 4.4.0 on 127.0.0.1:{port}"), (
            demo.stderr.read()
        )
        jobs_line = demo.stdout.readline()
        names = [part.split(" ")[0] for part in jobs_line.removeprefix("Demo jobs: ").split(", ")]
        assert len(names) == 4

        client = SyncJobsClient(f"127.0.0.1:{port}")

        def all_running_with_progress() -> bool:
            records = {r.job_id: r for r in client.jobs()}
            return all(
                name in records
                and records[name].status is Status.SNAPSHOT_RUNNING
                and (records[name].stats.rows_migrated or 0) > 0
                for name in names
            )

        wait_until(all_running_with_progress, 60, "every demo job to make progress", interval=0.5)

        # The banner's URL and login open the console, which lists the demo jobs.
        rest = "".join(demo.stdout.readline() for _ in range(2))
        url = f"http://127.0.0.1:{console_port}/"
        assert f"Web console: {url}" in rest
        history: list[str] = []

        def console_lists_the_jobs() -> bool:
            try:
                history[:] = [_history_page(url, rest)]
            except httpx.HTTPError:
                return False
            return all(f'data-job="{name}"' in history[0] for name in names)

        wait_until(console_lists_the_jobs, 60, "the console to list the demo jobs", interval=0.5)
    finally:
        demo.send_signal(signal.SIGINT)
        code = demo.wait(90)
    assert code == 0


def test_make_demo_connect_runs_the_demo_on_the_real_stack() -> None:
    dry_run = subprocess.run(
        ["make", "-n", "demo-connect"], cwd=REPO, capture_output=True, text=True
    )
    assert "syncctl demo --engine connect" in dry_run.stdout


def test_the_connect_demo_copies_the_sample_shop_for_real_and_stops_everything(
    tmp_path: Path,
) -> None:
    require_postgres()
    port, console_port = free_port(), free_port()
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "syncctl",
            "demo",
            "--engine",
            "connect",
            "--scale",
            "0.05",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path),
            "--console-port",
            str(console_port),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert demo.stdout is not None
        banner = [demo.stdout.readline() for _ in range(6)]
        assert banner[0].startswith("syncctl demo (Kafka Connect engine) is running"), (
            demo.stderr.read()
        )
        connect_url = banner[0].rsplit("Kafka Connect on ", 1)[1].strip().rstrip(".")
        source_port = int(banner[1].split("127.0.0.1:", 1)[1].split(",", 1)[0])
        assert "8,750 rows in 4 tables" in banner[1]
        archive, live = re.findall(r"(\S+) \((?:snapshot|continuous),", banner[3])
        client = SyncJobsClient(f"127.0.0.1:{port}")

        def copied_and_streaming() -> bool:
            records = {r.job_id: r for r in client.jobs()}
            return (
                archive in records
                and records[archive].status is Status.COMPLETED
                and live in records
                and records[live].status is Status.CDC_RUNNING
                and (records[live].stats.events_seen or 0) > 0
            )

        wait_until(
            copied_and_streaming,
            180,
            "the snapshot job to complete and the continuous one to stream changes",
        )
        copied = {r.job_id: r for r in client.jobs()}[archive].stats.rows_migrated or 0
        assert copied >= 8_750, f"the snapshot job reports {copied} rows of the shop's 8,750"
        assert f'data-job="{live}"' in _history_page(f"http://127.0.0.1:{console_port}/", banner[5])
    finally:
        demo.send_signal(signal.SIGINT)
        code = demo.wait(120)
    assert code == 0
    for what, address in (
        ("Kafka Connect", ("127.0.0.1", int(connect_url.rsplit(":", 1)[1]))),
        ("PostgreSQL", ("127.0.0.1", source_port)),
    ):
        with pytest.raises(OSError):
            socket.create_connection(address, timeout=2).close()
            pytest.fail(f"{what} still answers after the demo stopped")


def _history_page(url: str, banner: str) -> str:
    """Log in with the banner's login, as its reader would, and read History."""
    found = re.search(r"log in as (\S+) / (\S+)\)", banner)
    assert found, f"the banner names no login: {banner!r}"
    with httpx.Client(base_url=url, timeout=10, follow_redirects=True) as browser:
        login = {"user": found.group(1), "password": found.group(2), "next": "/"}
        browser.post("/login", data=login, headers={"Origin": url.rstrip("/")}).raise_for_status()
        page = browser.get("/")
        page.raise_for_status()
        return page.text
