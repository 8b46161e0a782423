"""`syncctl demo` (what `make run` runs): broker, worker, reference runner and a few jobs."""

from __future__ import annotations

import os
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from syncctl.cli.demo_processes import (
    DemoLogin,
    demo_client,
    run_until_stopped,
    spawn_syncctl,
    spawn_worker,
    stop_children,
    wait_for,
    worker_ready,
)
from syncctl.cli.options import BootstrapOption
from syncctl.cli.signals import StopFlag
from syncctl.client import SyncJobsClient
from syncctl.local.broker import LocalKafka, free_port
from syncctl.settings import BrokerSettings, default_of, load_settings


class DemoEngine(str, Enum):
    REFERENCE = "reference"
    CONNECT = "connect"


DEMO_JOBS = (
    ("orders", "snapshot"),
    ("invoices", "snapshot"),
    ("customers", "continuous"),
    ("inventory", "continuous"),
)
# Continuous jobs: 4-8 tables of 10,000-20,000 rows at 2,000 rows/s, a snapshot of 30-65 s
# (5th-95th percentile, 75 s at most), so they reach CDC within about a minute. Snapshot jobs:
# 60-80 such tables, 5 to 13 minutes, so that a person following the README can still terminate
# one, or see Complete CDC refused for it, minutes after the start. SYNCCTL_RUNNER__* variables
# override it.
DEMO_TABLES = {
    "SYNCCTL_RUNNER__TABLES_MIN": "4",
    "SYNCCTL_RUNNER__TABLES_MAX": "8",
    "SYNCCTL_RUNNER__SNAPSHOT_JOB_TABLES_MIN": "60",
    "SYNCCTL_RUNNER__SNAPSHOT_JOB_TABLES_MAX": "80",
    "SYNCCTL_RUNNER__ROWS_PER_TABLE_MIN": "10000",
    "SYNCCTL_RUNNER__ROWS_PER_TABLE_MAX": "20000",
}


def demo_command(
    port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            help="Broker client port.",
            show_default=default_of(BrokerSettings, "port"),
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Broker data; with --engine connect, the whole stack's (.local/demo-connect).",
            show_default=default_of(BrokerSettings, "data_dir"),
        ),
    ] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Wipe the broker's data first.")] = False,
    rows_per_second: Annotated[
        int, typer.Option(min=1, help="Snapshot speed of the demo engine.")
    ] = 2000,
    console_port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port of the web console (0: no console).")
    ] = 8080,
    create_jobs_only: Annotated[
        bool,
        typer.Option("--create-jobs-only", help="Only create the demo jobs (for docker compose)."),
    ] = False,
    bootstrap_servers: BootstrapOption = None,
    engine: Annotated[
        DemoEngine,
        typer.Option(
            help="reference: simulated copies; connect: PostgreSQL, Kafka Connect, FerretDB."
        ),
    ] = DemoEngine.REFERENCE,
    scale: Annotated[
        float,
        typer.Option(
            min=0.01, max=20, help="--engine connect: sample shop size (1: 175,000 rows)."
        ),
    ] = 1.0,
) -> None:
    """Run the whole demo locally: Kafka, a worker, the reference runner, and four jobs.

    With --engine connect, the real stack instead: PostgreSQL with a sample shop, Kafka Connect
    with Debezium and the MongoDB sink, FerretDB, the Connect engine and two jobs, all fresh.
    Prints what to try next; Ctrl-C stops everything.
    """
    if engine is DemoEngine.CONNECT:
        from syncctl.cli.demo_connect import run_connect_demo

        settings = load_settings(broker={"port": port})
        run_connect_demo(settings, data_dir, console_port, scale)
        return
    if create_jobs_only:
        settings = load_settings(kafka={"bootstrap_servers": bootstrap_servers})
        _create_jobs(
            SyncJobsClient(
                kafka=settings.kafka,
                topics=settings.topics,
                requested_by="demo",
                signing=settings.signing,
            )
        )
        return
    settings = load_settings(broker={"port": port, "data_dir": data_dir})
    kafka = LocalKafka(
        data_dir=settings.broker.data_dir,
        port=settings.broker.port,
        lib_dir=settings.broker.lib_dir,
        heap=settings.broker.heap,
        fresh=fresh,
    )
    kafka.start()
    logs = kafka.data_dir.parent / "demo-logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = {
        **DEMO_TABLES,
        **os.environ,
        "SYNCCTL_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "SYNCCTL_LOG__FORMAT": "json",
        "SYNCCTL_RUNNER__ROWS_PER_SECOND": str(rows_per_second),
    }
    worker_http = free_port()
    children = {
        "worker": spawn_worker(env, logs, worker_http),
        "runner": spawn_syncctl(["runner"], env, logs / "runner.log"),
    }
    login = None
    if console_port:
        login = DemoLogin.create(logs.parent / "console-users")
        children["console"] = spawn_syncctl(
            login.console_arguments(console_port), env, logs / "console.log"
        )
    stop = StopFlag()
    try:
        wait_for(worker_ready(worker_http), children["worker"], logs / "worker.log")
        client = demo_client(settings, kafka.bootstrap_servers)
        names = _create_jobs(client)
        earlier = client.list_jobs(limit=1).total_matching - len(names)
        client.close()
        _banner(kafka, names, logs, console_port, login, earlier)
        run_until_stopped(children, logs, stop)
    finally:
        typer.echo("Stopping the demo...", err=True)
        stop_children(children)
        kafka.stop()
        typer.echo(f"Demo stopped; Kafka's data is kept in {kafka.data_dir}.", err=True)


def _create_jobs(client: SyncJobsClient) -> list[tuple[str, str]]:
    suffix = datetime.now().strftime("%H%M%S")
    created = []
    for name, mode in DEMO_JOBS:
        job_id = f"{name}-{suffix}"
        client.wait_for_outcome(client.create(job_id, mode), timeout=60)
        created.append((job_id, mode))
    return created


def _short(path: Path) -> Path:
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _banner(
    kafka: LocalKafka,
    jobs: list[tuple[str, str]],
    logs: Path,
    console_port: int,
    login: DemoLogin | None,
    earlier: int = 0,
) -> None:
    snapshot = next(job for job, mode in jobs if mode == "snapshot")
    continuous = next(job for job, mode in jobs if mode == "continuous")
    bootstrap = "" if kafka.port == 9092 else f" -b {kafka.bootstrap_servers}"
    tries = [
        (f".venv/bin/syncctl jobs{bootstrap}", "the History table"),
        (f".venv/bin/syncctl watch{bootstrap}", "follow every status change"),
        (f".venv/bin/syncctl terminate {snapshot} --wait{bootstrap}", "-> Snapshot cancelled"),
        (
            f".venv/bin/syncctl complete-cdc {continuous} --wait{bootstrap}",
            "once it is CDC running",
        ),
    ]
    width = max(len(command) for command, _ in tries)
    lines = [
        (
            f"syncctl demo is running: Kafka {kafka.version} on {kafka.bootstrap_servers}, "
            "one worker, the reference runner."
        ),
        "Demo jobs: " + ", ".join(f"{job} ({mode})" for job, mode in jobs),
        *(
            [
                f"History also lists {earlier:,} job(s) of earlier runs: the broker keeps its "
                "data between runs (`.venv/bin/syncctl demo --fresh` starts afresh)."
            ]
            if earlier > 0
            else []
        ),
        "",
        *(
            [
                login.banner_line(console_port),
                "  then open a job, and Terminate or Complete CDC",
                "",
            ]
            if login
            else []
        ),
        "In another terminal (from this directory):",
        *(f"  {command.ljust(width)}  # {what}" for command, what in tries),
        "",
        (
            f"Logs: {_short(logs / 'worker.log')}, {_short(logs / 'runner.log')}, "
            f"{_short(kafka.log_file)}"
        ),
        "Ctrl-C stops everything.",
    ]
    typer.echo("\n".join(lines))
