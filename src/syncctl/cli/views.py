"""What operators look at: `jobs` and `watch`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from syncctl.cli.options import (
    AllOption,
    BootstrapOption,
    JsonOption,
    LimitOption,
    ListSelectorOption,
    ModeOption,
    PrefixOption,
    StatusOption,
    make_client,
)
from syncctl.cli.render import event_line, jobs_table
from syncctl.contract import Mode, Status
from syncctl.listing import DEFAULT_LIMIT
from syncctl.selection import Selector


def jobs_command(
    status: StatusOption = None,
    mode: ModeOption = None,
    prefix: PrefixOption = None,
    selector: ListSelectorOption = None,
    limit: LimitOption = None,
    every: AllOption = False,
    bootstrap_servers: BootstrapOption = None,
    as_json: JsonOption = False,
) -> None:
    """List jobs, newest change first: status, stage, progress, last change, who asked, and the
    stop that applies.

    At most --limit jobs (50 unless told), then a line saying how many more match; --all for
    every one. Filters combine: a job is listed when it matches all of them. With --json, one
    job per line and nothing else on stdout (the "more" line goes to stderr)."""
    if limit is not None and every:
        raise typer.BadParameter("choose one of --limit N and --all", param_hint="--limit")
    selectors = _selectors(status, mode, prefix, selector)
    client = make_client(bootstrap_servers)
    jobs = client.stream_jobs(selectors, limit=None if every else (limit or DEFAULT_LIMIT))
    note = _note(jobs.total_matching, jobs.more, selectors)
    if as_json:
        for record in jobs:
            typer.echo(record.model_dump_json())
        if note:
            typer.echo(note, err=True)
    else:
        if jobs.total_matching:
            typer.echo(jobs_table(jobs))
        if note:
            typer.echo(note)
    if jobs.unreadable:
        typer.secho(
            f"syncctl: {jobs.unreadable:,} job(s) left out: their record in "
            f"{client.topics.state} is not one this syncctl can read (written by a newer "
            "version?)",
            fg=typer.colors.YELLOW,
            err=True,
        )


def _selectors(
    statuses: list[str] | None, mode: Mode | None, prefix: str | None, terms: list[str] | None
) -> list[Selector]:
    """--status, --mode and --prefix as one selector, --selector's terms as another: a job must
    match both. Checked before anything is read."""
    selectors = []
    wanted = [name.strip().upper() for value in statuses or [] for name in value.split(",")]
    for name in wanted:
        if name not in Status.__members__:
            raise typer.BadParameter(
                f"{name!r} is not a status: use one or more of "
                f"{', '.join(Status)} (comma separated or repeated)",
                param_hint="--status",
            )
    if prefix is not None and not prefix:
        raise typer.BadParameter("give the start of a job id", param_hint="--prefix")
    if wanted or mode is not None or prefix is not None:
        selectors.append(
            Selector(statuses=frozenset(Status[name] for name in wanted), mode=mode, prefix=prefix)
        )
    if terms:
        selectors.append(Selector.parse(terms))
    return selectors


def _note(total: int, more: int, selectors: list[Selector]) -> str | None:
    """What to say besides the rows: that nothing matches, or how many more do."""
    if total == 0:
        if not selectors:
            return "no jobs yet: create one with `syncctl create JOB --mode snapshot`"
        given = " ".join(term for selector in selectors for term in selector.terms())
        return f"no jobs match {given}"
    if more:
        jobs_match = "job matches" if more == 1 else "jobs match"
        return f"… {more:,} more {jobs_match}: use --limit or --all"
    return None


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
