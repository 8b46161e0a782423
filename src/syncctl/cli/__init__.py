"""The `syncctl` command line."""

from __future__ import annotations

import sys

import typer

from syncctl.cli.broker import broker_command
from syncctl.cli.commands import (
    cancel_schedule_command,
    complete_cdc_command,
    create_command,
    pause_command,
    resume_command,
    terminate_command,
)
from syncctl.cli.connect import connect_command
from syncctl.cli.console import console_app
from syncctl.cli.demo import demo_command
from syncctl.cli.relocate import relocate_command
from syncctl.cli.runner import runner_command
from syncctl.cli.schema import schema_command
from syncctl.cli.views import jobs_command, watch_command
from syncctl.cli.worker import worker_command
from syncctl.errors import SyncctlError
from syncctl.logging import configure_logging

app = typer.Typer(
    name="syncctl",
    help="Stop long-running data-sync jobs over Apache Kafka, exactly once.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _root() -> None:
    """Stop long-running data-sync jobs over Apache Kafka, exactly once."""


app.command("create")(create_command)
app.command("terminate")(terminate_command)
app.command("complete-cdc")(complete_cdc_command)
app.command("pause")(pause_command)
app.command("resume")(resume_command)
app.command("cancel-schedule")(cancel_schedule_command)
app.command("jobs")(jobs_command)
app.command("watch")(watch_command)
app.command("runner")(runner_command)
app.command("demo")(demo_command)
app.command("broker")(broker_command)
app.command("connect")(connect_command)
app.command("worker")(worker_command)
app.command("schema")(schema_command)
app.add_typer(console_app, name="console")
app.command("relocate-state")(relocate_command)


def main() -> None:
    """Entry point of the `syncctl` script: user errors become one line and exit code 2."""
    # Until a command configures its own logging, log lines (librdkafka's warnings among them)
    # go to stderr, never into output that scripts read (`jobs --json`, `watch --json`).
    configure_logging("WARNING", "auto")
    command = typer.main.get_command(app)
    try:
        code = command.main(prog_name="syncctl", standalone_mode=False)
    except typer.TyperException as error:  # click's errors (typer vendors click)
        sys.exit(_report_click_error(error))
    except SyncctlError as error:
        typer.secho(f"syncctl: {error}", fg=typer.colors.RED, err=True)
        sys.exit(error.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def _report_click_error(error: typer.TyperException) -> int:
    """One line that says what is wrong (not click's Usage / Try / Error block); the exit code."""
    context = getattr(error, "ctx", None)
    exit_code = int(getattr(error, "exit_code", 1))
    if type(error).__name__ == "NoArgsIsHelpError" and context is not None:
        typer.echo(context.get_help(), err=True)  # `syncctl` alone: the help it asks for
        return exit_code
    where = context.command_path if context is not None else "syncctl"
    message = getattr(error, "format_message", lambda: str(error))()
    hint = f" (see `{where} --help`)" if exit_code == 2 else ""
    typer.secho(f"{where}: {_sentence(message)}{hint}", fg=typer.colors.RED, err=True)
    return exit_code


def _sentence(message: str) -> str:
    """Click's message on one line, starting in lower case like the rest of syncctl's errors."""
    line = " ".join(message.split()).rstrip(".")
    return line[:1].lower() + line[1:]
