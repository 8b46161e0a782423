"""`syncctl relocate-state`: put every job record on its job id's partition, with no worker
running."""

from __future__ import annotations

from typing import Annotated

import typer

from syncctl.cli.options import BootstrapOption
from syncctl.settings import WorkerSettings, default_of, load_settings
from syncctl.store.relocate import relocate_state


def relocate_command(
    bootstrap_servers: BootstrapOption = None,
    group_id: Annotated[
        str | None,
        typer.Option(
            help="The workers' group, which must have no member.",
            show_default=default_of(WorkerSettings, "group_id"),
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would move; write nothing.")
    ] = False,
    partitions: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="First give the control and state topics this many partitions (only adds).",
        ),
    ] = None,
) -> None:
    """Move job records to the state partition their id belongs on, after the partition count of
    the control and state topics changed, or (--partitions N) change it and then move them
    (docs/operations.md). Stop every worker first: this refuses to run while the worker group
    has members."""
    settings = load_settings(
        kafka={"bootstrap_servers": bootstrap_servers}, worker={"group_id": group_id}
    )
    plan = relocate_state(settings, dry_run=dry_run, partitions=partitions)
    for job_id, partitions in sorted(plan.duplicates.items()):
        typer.echo(
            f"job {job_id} had records on partitions {partitions}; keeping the one updated last"
        )
    verb = "would move" if dry_run else "moved"
    typer.echo(
        f"{verb} {len(plan.moved)} job record(s) to their partition of {plan.partition_count} "
        f"({len(plan.writes)} writes to {settings.topics.state}); every other record is in place"
    )
