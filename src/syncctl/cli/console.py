"""`syncctl console`: the web console (History, Job overview, Terminate / Complete CDC)."""

from __future__ import annotations

from typing import Annotated

import typer

from syncctl.cli.options import BootstrapOption
from syncctl.kafka.connection import check_connection
from syncctl.logging import configure_logging
from syncctl.settings import load_settings


def console_command(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to serve the console on.")] = 8080,
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 for every interface).")] = "127.0.0.1",
    bootstrap_servers: BootstrapOption = None,
) -> None:
    """Serve the web console: every job live, and Terminate / Complete CDC with confirmation.

    Uses the same Kafka, TLS/SASL and signing settings as the other commands (SYNCCTL_* and
    config/syncctl.toml); stop commands are signed when signing.key_id is set.
    """
    import uvicorn

    from syncctl.console.app import create_app

    settings = load_settings(kafka={"bootstrap_servers": bootstrap_servers})
    configure_logging(settings.log.level, settings.log.format)
    check_connection(settings.kafka)
    typer.echo(f"syncctl console on http://{host}:{port}/ (Ctrl-C to stop)", err=True)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
