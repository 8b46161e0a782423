"""`syncctl runner`: the reference runner, a stand-in migration engine for demos and tests."""

from __future__ import annotations

from typing import Annotated

import typer

from syncctl.cli.options import BootstrapOption
from syncctl.cli.signals import on_stop_request
from syncctl.connect.engine import ConnectEngine
from syncctl.engine import Engine
from syncctl.logging import configure_logging
from syncctl.runner import Runner
from syncctl.settings import EngineSettings, LogSettings, RunnerSettings, default_of, load_settings


def runner_command(
    bootstrap_servers: BootstrapOption = None,
    rows_per_second: Annotated[
        int | None,
        typer.Option(
            help="Snapshot speed per job.",
            show_default=default_of(RunnerSettings, "rows_per_second"),
        ),
    ] = None,
    stop_delay: Annotated[
        float | None,
        typer.Option(
            help="Seconds the engine takes to confirm a stop.",
            show_default=default_of(RunnerSettings, "stop_delay"),
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for random table sizes.")] = None,
    log_level: Annotated[
        str | None,
        typer.Option(
            help="DEBUG, INFO, WARNING or ERROR.", show_default=default_of(LogSettings, "level")
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            help="reference: the simulated engine; connect: Kafka Connect (docs/engine-connect.md)."
        ),
    ] = "reference",
    connect_url: Annotated[
        str | None,
        typer.Option(
            help="Kafka Connect's REST API (--engine connect); several workers of one cluster "
            "separated by commas.",
            show_default=default_of(EngineSettings, "connect_url"),
        ),
    ] = None,
) -> None:
    """Run jobs for real-looking demos: start each created job, report progress, stop on request.

    For every job created it sends snapshot_started, progress, snapshot_completed and, for
    continuous jobs, CDC progress; when the worker says Cancelling or Completing CDC it waits
    --stop-delay seconds and sends stopped. See docs/runner-protocol.md. Settings also come
    from SYNCCTL_RUNNER__* variables and the [runner] table of config/syncctl.toml.
    """
    if engine not in ("reference", "connect"):
        raise typer.BadParameter("reference or connect", param_hint="--engine")
    settings = load_settings(
        kafka={"bootstrap_servers": bootstrap_servers},
        runner={"rows_per_second": rows_per_second, "stop_delay": stop_delay, "seed": seed},
        engine={"connect_url": connect_url},
        log={"level": log_level.upper() if log_level else None},
    )
    configure_logging(settings.log.level, settings.log.format)
    running: Engine = ConnectEngine(settings) if engine == "connect" else Runner(settings)
    on_stop_request(running.stop)
    running.run()
