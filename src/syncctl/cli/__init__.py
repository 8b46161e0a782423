"""The `syncctl` command line."""

from __future__ import annotations

import importlib
import sys

import click
import typer
from typer.core import TyperGroup

from syncctl.errors import SyncctlError
from syncctl.logging import configure_logging

# Each command's module is imported only when that command runs (or help lists it): `syncctl
# jobs` then starts without loading the Connect engine, the worker, the console and the local
# stack, which cost it about half a second of every call. name -> (module, Typer app or function)
COMMANDS: dict[str, tuple[str, str]] = {
    "create": ("syncctl.cli.commands", "create_command"),
    "terminate": ("syncctl.cli.commands", "terminate_command"),
    "complete-cdc": ("syncctl.cli.commands", "complete_cdc_command"),
    "pause": ("syncctl.cli.commands", "pause_command"),
    "resume": ("syncctl.cli.commands", "resume_command"),
    "cancel-schedule": ("syncctl.cli.commands", "cancel_schedule_command"),
    "jobs": ("syncctl.cli.views", "jobs_command"),
    "watch": ("syncctl.cli.views", "watch_command"),
    "runner": ("syncctl.cli.runner", "runner_command"),
    "demo": ("syncctl.cli.demo", "demo_command"),
    "broker": ("syncctl.cli.broker", "broker_command"),
    "connect": ("syncctl.cli.connect", "connect_command"),
    "worker": ("syncctl.cli.worker", "worker_command"),
    "schema": ("syncctl.cli.schema", "schema_command"),
    "console": ("syncctl.cli.console", "console_app"),
    "relocate-state": ("syncctl.cli.relocate", "relocate_command"),
}


class _CommandsOnDemand(TyperGroup):
    """The root group: a command is built from its module the first time it is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute = COMMANDS[cmd_name]
        target = getattr(importlib.import_module(module), attribute)
        if not isinstance(target, typer.Typer):
            target = _single(cmd_name, target)
        command = typer.main.get_command(target)
        command.name = cmd_name
        return command


def _single(name: str, function: object) -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)
    app.command(name)(function)  # type: ignore[arg-type]
    return app


app = typer.Typer(
    name="syncctl",
    cls=_CommandsOnDemand,
    help="Stop long-running data-sync jobs over Apache Kafka, exactly once.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _root() -> None:
    """Stop long-running data-sync jobs over Apache Kafka, exactly once."""


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
