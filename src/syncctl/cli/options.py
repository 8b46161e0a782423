"""Options every Kafka-facing command shares, and the client they configure."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from syncctl.client import SyncJobsClient
from syncctl.contract import Mode
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

# Listing jobs (`syncctl jobs`).
StatusOption = Annotated[
    list[str] | None,
    typer.Option(
        "--status",
        metavar="STATUS[,STATUS...]",
        help="Only jobs in this status (CDC_RUNNING, PAUSED, FAILED, ...); several: comma "
        "separated or repeated.",
        show_default=False,
    ),
]
ModeOption = Annotated[
    Mode | None,
    typer.Option("--mode", help="Only snapshot or continuous jobs.", show_default=False),
]
PrefixOption = Annotated[
    str | None,
    typer.Option(
        "--prefix", metavar="TEXT", help="Only jobs whose id starts with this.", show_default=False
    ),
]
ListSelectorOption = Annotated[
    list[str] | None,
    typer.Option(
        "--selector",
        metavar="NAME=VALUE",
        help="NAME=VALUE as the bulk commands take it (status, mode, stage, prefix, source, "
        "asked_by); repeat for more terms. Combined with the other filters: all must hold.",
        show_default=False,
    ),
]
LimitOption = Annotated[
    int | None,
    typer.Option(
        "--limit",
        min=1,
        help="Show at most this many jobs, newest change first.",
        show_default="50",
    ),
]
AllOption = Annotated[bool, typer.Option("--all", help="Show every matching job (no limit).")]


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
