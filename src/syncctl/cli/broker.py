"""`syncctl broker`: run a local single-node Kafka 4 in the foreground."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from syncctl.cli.signals import StopFlag, on_stop_request
from syncctl.local.broker import LocalKafka
from syncctl.local.cluster import LocalKafkaCluster
from syncctl.local.security import LocalSecurity
from syncctl.settings import BrokerSettings, default_of, load_settings


def broker_command(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where the broker keeps its data.",
            show_default=default_of(BrokerSettings, "data_dir"),
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            help="Client port on 127.0.0.1; the controller takes the next free one.",
            show_default=default_of(BrokerSettings, "port"),
        ),
    ] = None,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Wipe the data dir before starting.")
    ] = False,
    heap: Annotated[
        str | None,
        typer.Option(
            help="JVM maximum heap (-Xmx).", show_default=default_of(BrokerSettings, "heap")
        ),
    ] = None,
    nodes: Annotated[
        int,
        typer.Option(
            help="Nodes in the cluster: 1, or 3 for failure tests (replication factor 3, "
            "min.insync.replicas 2; node N listens on PORT+2(N-1)).",
            min=1,
        ),
    ] = 1,
    lib_dir: Annotated[
        Path | None,
        typer.Option(
            help="Cache of the Kafka jars from Maven Central.",
            show_default=default_of(BrokerSettings, "lib_dir"),
        ),
    ] = None,
    secure: Annotated[
        bool,
        typer.Option(
            "--secure",
            help="Serve SASL_SSL (SCRAM-SHA-512 over TLS) instead of PLAINTEXT: a CA, a "
            "certificate and users are generated into DATA_DIR/security on first start.",
        ),
    ] = False,
) -> None:
    """Start a real Apache Kafka 4 (KRaft, one node) on 127.0.0.1 in the foreground.

    The first start fetches the jars from Maven Central once (needs `mvn`); storage is formatted
    once. Ctrl-C or SIGTERM stops it cleanly; its data survives a restart. Settings also come
    from SYNCCTL_BROKER__* variables and the [broker] table of config/syncctl.toml.
    """
    settings = load_settings(
        broker={"data_dir": data_dir, "port": port, "heap": heap, "lib_dir": lib_dir}
    ).broker
    if nodes > 1:
        if secure:
            typer.echo("error: --secure runs one node; leave out --nodes", err=True)
            raise typer.Exit(code=2)
        _run_cluster(nodes, settings, fresh)
        return
    kafka = LocalKafka(
        data_dir=settings.data_dir,
        port=settings.port,
        lib_dir=settings.lib_dir,
        heap=settings.heap,
        fresh=fresh,
        secure=secure,
    )

    kafka.start()

    def request_stop() -> None:
        typer.echo("Stopping Kafka...", err=True)
        kafka.terminate()

    on_stop_request(request_stop)
    typer.echo(
        f"Kafka {kafka.version} ready on {kafka.bootstrap_servers} "
        f"(data: {kafka.data_dir}, log: {kafka.log_file})"
    )
    if kafka.security is not None:
        _print_security(kafka.security)
    sys.stdout.flush()
    code = kafka.wait()
    kafka.stop()
    typer.echo(f"Kafka stopped (data kept in {kafka.data_dir}).", err=True)
    if code not in (0, -signal.SIGTERM, 143):
        raise typer.Exit(code=1)


def _run_cluster(nodes: int, settings: BrokerSettings, fresh: bool) -> None:
    cluster = LocalKafkaCluster(
        nodes,
        data_dir=settings.data_dir,
        port=settings.port,
        lib_dir=settings.lib_dir,
        heap=settings.heap if settings.heap != "512m" else "384m",
        fresh=fresh,
    )
    cluster.start()
    stop = StopFlag()
    typer.echo(
        f"Kafka {cluster.version} ready on {cluster.bootstrap_servers} ({nodes} nodes, "
        f"data: {cluster.data_dir}, logs: {cluster.data_dir}/node-N/logs/server.log)"
    )
    sys.stdout.flush()
    while not stop.raised and all(node.running() for node in cluster.nodes):
        time.sleep(0.2)
    typer.echo("Stopping Kafka...", err=True)
    cluster.stop()
    typer.echo(f"Kafka stopped (data kept in {cluster.data_dir}).", err=True)


def _print_security(security: LocalSecurity) -> None:
    typer.echo(
        f"SASL_SSL with SCRAM-SHA-512. CA certificate: {security.ca_file}\n"
        f"Users and passwords: {security.users_file} (admin is the broker's own)\n"
        "Connect as a user by loading its settings, e.g.:\n"
        f"  set -a; . {security.env_file('syncctl-worker')}; set +a; syncctl worker\n"
        f"  set -a; . {security.env_file('syncctl-operator')}; set +a; syncctl jobs"
    )
