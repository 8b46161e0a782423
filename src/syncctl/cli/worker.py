"""`syncctl worker`: run one member of the exactly-once stop worker group."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Annotated

import typer

from syncctl.cli.options import BootstrapOption
from syncctl.cli.signals import on_stop_request
from syncctl.kafka.errors import FatalKafkaError
from syncctl.logging import configure_logging, get_logger
from syncctl.observability import OperationsServer, WorkerMetrics
from syncctl.settings import (
    LogSettings,
    Settings,
    TopicSettings,
    WorkerSettings,
    default_of,
    load_settings,
)
from syncctl.worker import Worker

log = get_logger("syncctl.worker")


def worker_command(
    bootstrap_servers: BootstrapOption = None,
    group_id: Annotated[
        str | None,
        typer.Option(
            help="Consumer group shared by all workers.",
            show_default=default_of(WorkerSettings, "group_id"),
        ),
    ] = None,
    instance_id: Annotated[
        str | None,
        typer.Option(
            help="Stable name of this worker (transactional.id = GROUP_ID-INSTANCE_ID); unique per "
            "worker, unchanged across its restarts.",
            show_default="the host name",
        ),
    ] = None,
    stop_deadline: Annotated[
        float | None,
        typer.Option(
            help="Seconds an engine has to confirm a stop before it is forced.",
            show_default=default_of(WorkerSettings, "stop_deadline"),
        ),
    ] = None,
    control_topic: Annotated[
        str | None,
        typer.Option(help="Control topic.", show_default=default_of(TopicSettings, "control")),
    ] = None,
    state_topic: Annotated[
        str | None,
        typer.Option(help="State topic.", show_default=default_of(TopicSettings, "state")),
    ] = None,
    events_topic: Annotated[
        str | None,
        typer.Option(help="Events topic.", show_default=default_of(TopicSettings, "events")),
    ] = None,
    dlq_topic: Annotated[
        str | None,
        typer.Option(help="Dead-letter topic.", show_default=default_of(TopicSettings, "dlq")),
    ] = None,
    partitions: Annotated[
        int | None,
        typer.Option(
            help="Partitions of topics this worker creates.",
            show_default=default_of(TopicSettings, "partitions"),
        ),
    ] = None,
    log_level: Annotated[
        str | None,
        typer.Option(
            help="DEBUG, INFO, WARNING or ERROR.", show_default=default_of(LogSettings, "level")
        ),
    ] = None,
    http_port: Annotated[
        int | None,
        typer.Option(
            help="Serve /healthz, /readyz and /metrics on this port (0: any free port).",
            show_default="off",
        ),
    ] = None,
    shutdown_grace: Annotated[
        float | None,
        typer.Option(
            help="Seconds a stop request allows before the worker exits anyway.",
            show_default=default_of(WorkerSettings, "shutdown_grace"),
        ),
    ] = None,
) -> None:
    """Consume the control topic, apply commands to job records, publish events, exactly once.

    Every option can also be set with SYNCCTL_* variables (e.g. SYNCCTL_KAFKA__BOOTSTRAP_SERVERS,
    SYNCCTL_WORKER__STOP_DEADLINE) or in config/syncctl.toml. SIGTERM or Ctrl-C finishes the open
    transaction and leaves the group.
    """
    settings = load_settings(
        kafka={"bootstrap_servers": bootstrap_servers},
        worker={
            "group_id": group_id,
            "instance_id": instance_id,
            "stop_deadline": stop_deadline,
            "shutdown_grace": shutdown_grace,
        },
        http={"port": http_port},
        topics={
            "control": control_topic,
            "state": state_topic,
            "events": events_topic,
            "dlq": dlq_topic,
            "partitions": partitions,
        },
        log={"level": log_level.upper() if log_level else None},
    )
    configure_logging(settings.log.level, settings.log.format)
    serving = settings.http.port is not None
    worker = Worker(settings, WorkerMetrics(settings.worker.batch_max) if serving else None)
    server = _serve(settings, worker) if serving else None
    on_stop_request(_stop_within_grace(worker, settings.worker.shutdown_grace))
    try:
        worker.run()
    except FatalKafkaError:
        raise typer.Exit(code=1) from None
    finally:
        if server is not None:
            server.close()


def _serve(settings: Settings, worker: Worker) -> OperationsServer:
    assert settings.http.port is not None
    try:
        server = OperationsServer(
            settings.http.port, worker.metrics.registry, worker.readiness, settings.http.host
        )
    except OSError as error:
        typer.echo(
            f"error: cannot serve HTTP on {settings.http.host}:{settings.http.port} "
            f"({error.strerror}); choose another --http-port",
            err=True,
        )
        raise typer.Exit(code=2) from None
    return server.start()


def _stop_within_grace(worker: Worker, grace: float) -> Callable[[], None]:
    """First request: finish the open transaction and leave the group, within `grace` seconds.
    A second request, or the grace running out, exits at once: whatever transaction is still
    open is aborted by the broker or by the next owner's `init_transactions`."""
    requested = threading.Event()

    def give_up(reason: str) -> None:
        log.error("worker exiting without a clean shutdown", reason=reason)
        os._exit(1)

    def on_request() -> None:
        if requested.is_set():
            give_up("a second stop request")
        requested.set()
        log.info("stop requested; finishing the open transaction", grace_seconds=grace)
        worker.stop()
        timer = threading.Timer(grace, give_up, args=(f"the {grace} s shutdown grace ran out",))
        timer.daemon = True
        timer.start()

    return on_request
