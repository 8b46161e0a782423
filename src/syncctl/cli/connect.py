"""`syncctl connect`: run a local Kafka Connect worker with the engine's two connectors."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path
from typing import Annotated

import typer

from syncctl.cli.options import BootstrapOption
from syncctl.cli.signals import on_stop_request
from syncctl.kafka.connection import check_connection
from syncctl.local.connect import LocalConnect
from syncctl.settings import load_settings


def connect_command(
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="Port of Connect's REST API on 127.0.0.1.")
    ] = 8083,
    bootstrap_servers: BootstrapOption = None,
    data_dir: Annotated[
        Path, typer.Option(help="Worker settings and logs.", show_default=".local/connect/data")
    ] = Path(".local/connect/data"),
    heap: Annotated[str, typer.Option(help="JVM maximum heap (-Xmx).")] = "512m",
    host: Annotated[
        str,
        typer.Option(
            help="Address of the REST API. It has no authentication: other than loopback "
            "only on a private network (e.g. docker compose's)."
        ),
    ] = "127.0.0.1",
) -> None:
    """Start Kafka Connect 4.4.0 (distributed worker) on 127.0.0.1 in the foreground, with the
    Debezium PostgreSQL source and the MongoDB sink connectors.

    The first start fetches the jars from Maven Central once (needs `mvn`) into .local/connect.
    Its connectors, offsets and statuses live in Kafka (topics syncctl-connect-*). Ctrl-C or
    SIGTERM stops it. Then run `syncctl runner --engine connect` (docs/engine-connect.md).
    """
    settings = load_settings(kafka={"bootstrap_servers": bootstrap_servers})
    check_connection(settings.kafka, timeout=10)
    if not ipaddress.ip_address(host).is_loopback:
        typer.secho(
            f"warning: Kafka Connect's REST API on {host}:{port} has no authentication; "
            "anyone who reaches it can read connector configs (passwords included) and "
            "create connectors",
            err=True,
        )
    connect = LocalConnect(
        settings.kafka.bootstrap_servers, data_dir=data_dir, port=port, heap=heap, host=host
    )
    connect.start()
    on_stop_request(connect.terminate)
    typer.echo(
        f"Kafka Connect 4.4.0 ready on {connect.url} with Debezium PostgreSQL 3.6.1.Final and "
        f"MongoDB sink 2.0.1 (Kafka: {settings.kafka.bootstrap_servers}, log: {connect.log_file})"
    )
    sys.stdout.flush()
    code = connect.wait()
    connect.stop()
    typer.echo("Kafka Connect stopped.", err=True)
    if code not in (0, 143, -15):
        raise typer.Exit(code=1)
