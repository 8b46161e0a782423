"""`syncctl console`: the web console (History, Job overview, Terminate / Complete CDC), and
`syncctl console add-user`, which manages its built-in users."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from syncctl.cli.options import BootstrapOption
from syncctl.errors import ConfigError
from syncctl.kafka.connection import check_connection
from syncctl.logging import configure_logging
from syncctl.settings import ConsoleSettings, default_of, load_settings

console_app = typer.Typer(
    help="Serve the web console; `add-user` manages its users.",
    invoke_without_command=True,
    no_args_is_help=False,
    rich_markup_mode=None,
)


@console_app.callback()
def console_command(
    context: typer.Context,
    port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            help="Port to serve the console on.",
            show_default=default_of(ConsoleSettings, "port"),
        ),
    ] = None,
    host: Annotated[
        str | None,
        typer.Option(
            help="Address to listen on; any but loopback needs --users-file or a proxy login.",
            show_default=default_of(ConsoleSettings, "host"),
        ),
    ] = None,
    users_file: Annotated[
        Path | None, typer.Option(help="Built-in users (syncctl console add-user).")
    ] = None,
    public_url: Annotated[
        str | None, typer.Option(help="The URL operators open (needed off loopback).")
    ] = None,
    tls_cert: Annotated[
        Path | None, typer.Option(help="Serve HTTPS with this PEM certificate.")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option(help="The certificate's PEM private key.")] = None,
    bootstrap_servers: BootstrapOption = None,
) -> None:
    """Serve the web console: every job live, and Terminate / Complete CDC with confirmation.

    Who may log in and act is set in [console] (docs/security.md#console). Uses the same Kafka,
    TLS/SASL and signing settings as the other commands; the commands it sends carry the
    logged-in user as requested_by.
    """
    if context.invoked_subcommand is not None:
        return
    import uvicorn

    from syncctl.console.app import create_app

    settings = load_settings(
        kafka={"bootstrap_servers": bootstrap_servers},
        console={
            "port": port,
            "host": host,
            "users_file": users_file,
            "public_url": public_url,
            "tls_cert": tls_cert,
            "tls_key": tls_key,
        },
    )
    configure_logging(settings.log.level, settings.log.format)
    app = create_app(settings)  # refuses an unauthenticated console off loopback
    check_connection(settings.kafka)
    console = settings.console
    url = (
        console.public_url
        or f"{'https' if console.tls_cert else 'http'}://{console.host}:{console.port}/"
    )
    if console.users_file:
        who = f"built-in users from {console.users_file}"
    elif console.proxy_user_header:
        who = (
            f"users named by {console.proxy_user_header} from {', '.join(console.trusted_proxies)}"
        )
    else:
        who = (
            "NO LOGIN: anyone on this machine may stop jobs "
            "(loopback only; see docs/security.md#console)"
        )
    typer.echo(f"syncctl console on {url} ({who}); Ctrl-C to stop", err=True)
    uvicorn.run(
        app,
        host=console.host,
        port=console.port,
        log_level="warning",
        server_header=False,
        # X-Forwarded-* are read only from console.trusted_proxies, by the console itself.
        proxy_headers=False,
        ssl_certfile=str(console.tls_cert) if console.tls_cert else None,
        ssl_keyfile=str(console.tls_key) if console.tls_key else None,
    )


@console_app.command("add-user")
def add_user_command(
    name: Annotated[str, typer.Argument(help="User name: 1-64 of A-Z a-z 0-9 . _ @ -")],
    role: Annotated[
        str, typer.Option(help="viewer: sees jobs; operator: may also stop them.")
    ] = "viewer",
    jobs: Annotated[
        list[str] | None,
        typer.Option(
            "--jobs", help="Job id prefix this operator may stop (repeatable; default every job)."
        ),
    ] = None,
    users_file: Annotated[
        Path | None, typer.Option(help="The users file (default: console.users_file).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin, not a prompt.")
    ] = False,
) -> None:
    """Add a console user, or replace its password, role and jobs. The file is kept private
    (0600)."""
    from syncctl.console.users import ROLES, add_user

    if role not in ROLES:
        raise ConfigError(f"--role must be one of {', '.join(ROLES)}")
    path = users_file or load_settings().console.users_file
    if path is None:
        raise ConfigError(
            "name the users file: --users-file PATH, or console.users_file in the settings"
        )
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    replaced = add_user(path, name, role, password, tuple(jobs or ()))  # type: ignore[arg-type]
    typer.echo(f"{'Updated' if replaced else 'Added'} {name} ({role}) in {path}", err=True)
