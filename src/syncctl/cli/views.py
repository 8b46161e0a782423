"""What operators look at: `jobs` and `watch`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from syncctl.cli.options import BootstrapOption, JsonOption, make_client
from syncctl.cli.render import event_line, jobs_table


def jobs_command(bootstrap_servers: BootstrapOption = None, as_json: JsonOption = False) -> None:
    """List every job: status, stage, progress, last change, who asked, and the stop that
    applies."""
    records = make_client(bootstrap_servers).jobs()
    if as_json:
        for record in records:
            typer.echo(record.model_dump_json())
    elif records:
        typer.echo(jobs_table(records))
    else:
        typer.echo("no jobs yet: create one with `syncctl create JOB --mode snapshot`")


def watch_command(
    job: Annotated[
        str | None, typer.Argument(help="Only this job's events.", show_default=False)
    ] = None,
    bootstrap_servers: BootstrapOption = None,
    as_json: JsonOption = False,
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Start with the oldest event still kept.")
    ] = False,
) -> None:
    """Follow status changes and rejections as they are committed (Ctrl-C to stop)."""
    from datetime import UTC, datetime

    client = make_client(bootstrap_servers)
    since = datetime.fromtimestamp(0, UTC) if from_beginning else None

    def ready() -> None:
        typer.echo(
            f"watching {'events of ' + job if job else 'all events'} (Ctrl-C to stop)", err=True
        )

    for event in client.watch(job, since=since, on_ready=ready):
        typer.echo(
            json.dumps(event.model_dump(mode="json")) if as_json else event_line(event), nl=True
        )
