"""`syncctl worker`: run one member of the exactly-once stop worker group."""

from __future__ import annotations

from typing import Annotated

import typer

from syncctl.cli.signals import on_stop_request
from syncctl.logging import configure_logging
from syncctl.settings import load_settings
from syncctl.worker import Worker
from syncctl.worker.transaction import FatalKafkaError


def worker_command(
    bootstrap_servers: Annotated[
        str | None, typer.Option(help="Kafka bootstrap servers.", show_default="127.0.0.1:9092")
    ] = None,
    group_id: Annotated[
        str | None,
        typer.Option(help="Consumer group shared by all workers.", show_default="syncctl-worker"),
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
        typer.Option(help="Seconds an engine has to confirm a stop before it is forced.", show_default="60"),
    ] = None,
    control_topic: Annotated[str | None, typer.Option(help="Control topic.", show_default="syncjobs.control")] = None,
    state_topic: Annotated[str | None, typer.Option(help="State topic.", show_default="syncjobs.state")] = None,
    events_topic: Annotated[str | None, typer.Option(help="Events topic.", show_default="syncjobs.events")] = None,
    dlq_topic: Annotated[str | None, typer.Option(help="Dead-letter topic.", show_default="syncjobs.control.dlq")] = None,
    partitions: Annotated[
        int | None, typer.Option(help="Partitions of topics this worker creates.", show_default="12")
    ] = None,
    log_level: Annotated[str | None, typer.Option(help="DEBUG, INFO, WARNING or ERROR.", show_default="INFO")] = None,
) -> None:
    """Consume the control topic, apply commands to job records, publish events, exactly once.

    Every option can also be set with SYNCCTL_* variables (e.g. SYNCCTL_KAFKA__BOOTSTRAP_SERVERS,
    SYNCCTL_WORKER__STOP_DEADLINE) or in config/syncctl.toml. SIGTERM or Ctrl-C finishes the open
    transaction and leaves the group.
    """
    settings = load_settings(
        kafka={"bootstrap_servers": bootstrap_servers},
        worker={"group_id": group_id, "instance_id": instance_id, "stop_deadline": stop_deadline},
        topics={
            "control": control_topic, "state": state_topic, "events": events_topic,
            "dlq": dlq_topic, "partitions": partitions,
        },
        log={"level": log_level.upper() if log_level else None},
    )  # fmt: skip
    configure_logging(settings.log.level, settings.log.format)
    worker = Worker(settings)

    on_stop_request(worker.stop)
    try:
        worker.run()
    except FatalKafkaError:
        raise typer.Exit(code=1) from None
