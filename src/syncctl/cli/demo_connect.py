"""`syncctl demo --engine connect`: the real stack, started fresh on this machine.

PostgreSQL with a sample shop (175,000 rows in four tables and a trickle of changes), Kafka,
Kafka Connect with Debezium and the MongoDB sink, FerretDB as the destination, a worker, the
Connect engine and the console; two jobs copy the shop for real.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

import typer

from syncctl.cli.demo_processes import (
    DemoLogin,
    consuming,
    demo_client,
    run_until_stopped,
    spawn_syncctl,
    spawn_worker,
    stop_children,
    wait_for,
    worker_ready,
)
from syncctl.cli.signals import StopFlag
from syncctl.client import SyncJobsClient
from syncctl.local import LocalFerretDB, LocalPostgres
from syncctl.local.broker import LocalKafka, free_port
from syncctl.local.connect import LocalConnect
from syncctl.local.sample_shop import SHOP_TABLES, SampleShop, ShopTraffic, create_sample_shop
from syncctl.settings import Settings

DEMO_DIR = Path(".local/demo-connect")  # --data-dir changes it
# A snapshot job over the whole shop (long enough to terminate) and a continuous one over the
# three smaller tables (it reaches CDC within about a minute, then follows the trickle).
CONNECT_JOBS = (
    ("shop-archive", "snapshot", SHOP_TABLES),
    ("shop-live", "continuous", SHOP_TABLES[:3]),
)


def run_connect_demo(
    settings: Settings,
    data_dir: Path | None,
    console_port: int,
    scale: float,
) -> None:
    """Start everything, create the jobs, print what to try, run until Ctrl-C, stop everything."""
    stop = StopFlag()
    base = data_dir or DEMO_DIR
    logs = base / "logs"
    with ExitStack() as stack:
        typer.echo(
            "Starting Kafka, PostgreSQL, FerretDB and Kafka Connect (a fresh stack each time)...",
            err=True,
        )
        kafka = stack.enter_context(
            LocalKafka(
                data_dir=base / "kafka",
                port=settings.broker.port,
                lib_dir=settings.broker.lib_dir,
                heap=settings.broker.heap,
                fresh=True,
            )
        )
        logs.mkdir(parents=True, exist_ok=True)
        postgres = stack.enter_context(LocalPostgres())
        ferretdb = stack.enter_context(LocalFerretDB())
        typer.echo(f"Filling the sample shop database ({scale:g}x)...", err=True)
        shop = create_sample_shop(postgres, scale=scale)
        connect = stack.enter_context(
            LocalConnect(kafka.bootstrap_servers, data_dir=base / "connect")
        )
        env = _engine_env(kafka, connect, shop, ferretdb)
        worker_http = free_port()
        children = {
            "worker": spawn_worker(env, logs, worker_http),
            "engine": spawn_syncctl(["runner", "--engine", "connect"], env, logs / "engine.log"),
        }
        login = None
        if console_port:
            login = DemoLogin.create(logs.parent / "console-users")
            children["console"] = spawn_syncctl(
                login.console_arguments(console_port), env, logs / "console.log"
            )
        stack.callback(stop_children, children)
        wait_for(worker_ready(worker_http), children["worker"], logs / "worker.log")
        engine_group = consuming(kafka.bootstrap_servers, settings.engine.group_id)
        wait_for(engine_group, children["engine"], logs / "engine.log")
        client = demo_client(settings, kafka.bootstrap_servers)
        stack.callback(client.close)
        jobs = _create_jobs(client)
        traffic = ShopTraffic(shop, rate=20.0).start()
        stack.callback(traffic.stop)
        _banner(kafka, connect, postgres, ferretdb, shop, jobs, logs, console_port, login)
        run_until_stopped(children, logs, stop)
        typer.echo("Stopping the demo...", err=True)
    typer.echo("Demo stopped.", err=True)


def _engine_env(
    kafka: LocalKafka, connect: LocalConnect, shop: SampleShop, ferretdb: LocalFerretDB
) -> dict[str, str]:
    """The children's settings: the engine's connections go in variables, never on a command
    line."""
    return {
        **os.environ,
        "SYNCCTL_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "SYNCCTL_LOG__FORMAT": "json",
        "SYNCCTL_ENGINE__CONNECT_URL": connect.url,
        "SYNCCTL_ENGINE__SOURCES__SHOP__HOST": shop.host,
        "SYNCCTL_ENGINE__SOURCES__SHOP__PORT": str(shop.port),
        "SYNCCTL_ENGINE__SOURCES__SHOP__DATABASE": shop.database,
        "SYNCCTL_ENGINE__SOURCES__SHOP__USER": shop.user,
        "SYNCCTL_ENGINE__SOURCES__SHOP__PASSWORD": shop.password,
        "SYNCCTL_ENGINE__DESTINATIONS__LOCAL__URI": ferretdb.uri,
        # FerretDB finds documents by index only when their _id is a string.
        "SYNCCTL_ENGINE__DESTINATIONS__LOCAL__DOCUMENT_ID": "key_string",
        # FerretDB lacks Decimal128 and arrays in arrays: such values are kept as exact text.
        "SYNCCTL_ENGINE__DESTINATIONS__LOCAL__SERVER": "ferretdb",
    }


def _create_jobs(client: SyncJobsClient) -> list[tuple[str, str, tuple[str, ...]]]:
    suffix = datetime.now().strftime("%H%M%S")
    created = []
    for name, mode, tables in CONNECT_JOBS:
        job_id = f"{name}-{suffix}"
        spec = {
            "source": "shop",
            "tables": list(tables),
            "destination": "local",
            "database": job_id.replace("-", "_"),
        }
        client.wait_for_outcome(client.create(job_id, mode, spec=spec), timeout=60)
        created.append((job_id, mode, tables))
    return created


def _banner(
    kafka: LocalKafka,
    connect: LocalConnect,
    postgres: LocalPostgres,
    ferretdb: LocalFerretDB,
    shop: SampleShop,
    jobs: list[tuple[str, str, tuple[str, ...]]],
    logs: Path,
    console_port: int,
    login: DemoLogin | None,
) -> None:
    snapshot = next(job for job, mode, _ in jobs if mode == "snapshot")
    continuous = next(job for job, mode, _ in jobs if mode == "continuous")
    bootstrap = "" if kafka.port == 9092 else f" -b {kafka.bootstrap_servers}"
    tries = [
        (f".venv/bin/syncctl jobs{bootstrap}", "real progress: tables and rows copied"),
        (
            f".venv/bin/syncctl terminate {snapshot} --wait{bootstrap}",
            "-> Snapshot cancelled, partial data kept",
        ),
        (
            f".venv/bin/syncctl complete-cdc {continuous} --wait{bootstrap}",
            "once CDC running: drain, clean up",
        ),
        (f"curl -s {connect.url}/connectors", "the jobs' Debezium and MongoDB connectors"),
    ]
    width = max(len(command) for command, _ in tries)
    lines = [
        (
            f"syncctl demo (Kafka Connect engine) is running: Kafka {kafka.version} on "
            f"{kafka.bootstrap_servers}, Kafka Connect on {connect.url}."
        ),
        (
            f"Source: PostgreSQL on 127.0.0.1:{postgres.port}, database {shop.database}, "
            f"{shop.rows:,} rows in {len(SHOP_TABLES)} tables, about 20 changes a second."
        ),
        f"Destination: FerretDB (MongoDB wire) at {ferretdb.uri}, one database per job.",
        "Jobs: " + ", ".join(f"{job} ({mode}, {len(tables)} tables)" for job, mode, tables in jobs),
        "",
        *([login.banner_line(console_port), ""] if login else []),
        "In another terminal (from this directory):",
        *(f"  {command.ljust(width)}  # {what}" for command, what in tries),
        "",
        f"Logs: {logs}/ (worker, engine, console), {connect.log_file}",
        "Ctrl-C stops everything; the next start begins afresh.",
    ]
    typer.echo("\n".join(lines))
