"""Options every Kafka-facing command shares, and the client they configure."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from syncctl.client import SyncJobsClient
from syncctl.settings import KafkaSettings, default_of, load_settings

BootstrapOption = Annotated[
    str | None,
    typer.Option(
        "--bootstrap-servers",
        "-b",
        help="Kafka bootstrap servers (also SYNCCTL_KAFKA__BOOTSTRAP_SERVERS).",
        show_default=default_of(KafkaSettings, "bootstrap_servers"),
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="One JSON document per line, for scripts.")
]


def make_client(bootstrap_servers: str | None, requested_by: str | None = None) -> SyncJobsClient:
    settings = load_settings(kafka={"bootstrap_servers": bootstrap_servers})
    return SyncJobsClient(
        kafka=settings.kafka,
        topics=settings.topics,
        requested_by=requested_by or _whoami(),
        signing=settings.signing,
    )


def _whoami() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
