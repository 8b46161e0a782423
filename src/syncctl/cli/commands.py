"""Operator commands: `create`, `terminate`, `complete-cdc`, `pause`, `resume`."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from syncctl.cli.options import BootstrapOption, make_client
from syncctl.cli.render import event_line, visible
from syncctl.client import SyncJobsClient
from syncctl.contract import CommandRejected, Mode, ScheduleChanged, StopExtended
from syncctl.selection import Selector
from syncctl.settings import WorkerSettings, default_of

JobArgument = Annotated[
    str, typer.Argument(help="Job id (letters, digits and '-').", show_default=False)
]
WaitOption = Annotated[
    bool, typer.Option("--wait", help="Print each status change until the stop has finished.")
]
# Checked before anything is sent: a command must not go out with a wait that cannot be kept.
TimeoutOption = Annotated[
    float,
    typer.Option(
        min=1,
        help="Seconds to wait with --wait (at least 1); the workers' stop deadline is "
        f"{default_of(WorkerSettings, 'stop_deadline')} s unless set otherwise.",
    ),
]
ByOption = Annotated[str | None, typer.Option("--by", help="Who asks; defaults to your user name.")]


def create_command(
    job: JobArgument,
    mode: Annotated[
        Mode, typer.Option(help="snapshot: one copy; continuous: a snapshot, then CDC.")
    ],
    drop_destination: Annotated[
        bool, typer.Option("--drop-destination", help="Drop the destination data before copying.")
    ] = False,
    bootstrap_servers: BootstrapOption = None,
    by: ByOption = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait for the worker to accept or reject it.")
    ] = False,
    timeout: TimeoutOption = 30.0,
    source: Annotated[
        str | None, typer.Option(help="Spec: a source connection named in the engine's settings.")
    ] = None,
    table: Annotated[
        list[str] | None,
        typer.Option("--table", help="Spec: a schema.table to copy (repeat for more)."),
    ] = None,
    destination: Annotated[
        str | None, typer.Option(help="Spec: a destination connection of the engine.")
    ] = None,
    database: Annotated[str | None, typer.Option(help="Spec: the destination database.")] = None,
) -> None:
    """Register a new sync job (status Not started).

    A job for the Kafka Connect engine needs a spec: --source, one --table or more,
    --destination and --database (docs/engine-connect.md)."""
    spec = _spec(source, table or [], destination, database)
    client = make_client(bootstrap_servers, by)
    command_id = client.create(job, mode, drop_destination=drop_destination, spec=spec)
    typer.echo(f"create sent for {job} (command {command_id})")
    if wait:
        _follow(client, command_id, timeout, until_final=False)


def _spec(
    source: str | None, tables: list[str], destination: str | None, database: str | None
) -> dict[str, Any] | None:
    given = {"source": source, "tables": tables, "destination": destination, "database": database}
    if not any(given.values()):
        return None
    missing = [
        f"--{name.removesuffix('s') if name == 'tables' else name}"
        for name, value in given.items()
        if not value
    ]
    if missing:
        raise typer.BadParameter(
            f"a spec needs {', '.join(missing)} as well", param_hint="--source/--table/..."
        )
    return given


OptionalJob = Annotated[
    str | None,
    typer.Argument(help="Job id; or none, with --selector.", show_default=False),
]
SelectorOption = Annotated[
    list[str] | None,
    typer.Option(
        "--selector",
        help="Every job matching NAME=VALUE (status=CDC_RUNNING,PAUSED; mode=continuous; "
        "prefix=orders-; source=shop); repeat to narrow. One command per job.",
    ),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="With --selector: list the jobs, send nothing.")
]


def terminate_command(
    job: OptionalJob = None,
    selector: SelectorOption = None,
    dry_run: DryRunOption = False,
    bootstrap_servers: BootstrapOption = None,
    by: ByOption = None,
    wait: WaitOption = False,
    timeout: TimeoutOption = 90.0,
) -> None:
    """Stop a job in its snapshot stage: it ends as Snapshot cancelled; copied data stays.

    A stopped job cannot be resumed. With --wait: exit 0 when the job is Snapshot cancelled,
    1 when the command was rejected (the reason is printed), 2 on timeout or no broker; with
    --selector the same over every job (1 if any was rejected, 2 if any did not finish).
    """
    _act("terminate", job, selector, dry_run, bootstrap_servers, by, wait, timeout)


def complete_cdc_command(
    job: OptionalJob = None,
    selector: SelectorOption = None,
    dry_run: DryRunOption = False,
    bootstrap_servers: BootstrapOption = None,
    by: ByOption = None,
    wait: WaitOption = False,
    timeout: TimeoutOption = 90.0,
    at: Annotated[
        str | None,
        typer.Option(
            help="Complete CDC at this time instead of now: ISO 8601 with a time zone "
            "(2026-12-01T02:00:00+01:00), at most a year ahead. `cancel-schedule` removes it.",
        ),
    ] = None,
) -> None:
    """End a continuous job's CDC stage gracefully: CDC Completed, temporary data cleaned up.

    A stopped job cannot be resumed. With --wait: exit 0 when the job is CDC Completed (with
    --at: once the schedule is accepted), 1 when the command was rejected (the reason is
    printed), 2 on timeout or no broker; with --selector the same over every job (1 if any
    was rejected, 2 if any did not finish).
    """
    fields = {"at": _instant(at)} if at else {}
    _act("complete_cdc", job, selector, dry_run, bootstrap_servers, by, wait, timeout, **fields)


def cancel_schedule_command(
    job: OptionalJob = None,
    selector: SelectorOption = None,
    dry_run: DryRunOption = False,
    bootstrap_servers: BootstrapOption = None,
    by: ByOption = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait for the worker to accept or reject it.")
    ] = False,
    timeout: TimeoutOption = 30.0,
) -> None:
    """Remove a job's scheduled complete-cdc (complete-cdc --at). With --wait: exit 0 once
    removed, 1 when the job had nothing scheduled, 2 on timeout or no broker."""
    _act("cancel_schedule", job, selector, dry_run, bootstrap_servers, by, wait, timeout)


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 time", param_hint="--at") from None
    if moment.tzinfo is None:
        raise typer.BadParameter(
            f"{text!r} has no time zone: add one, e.g. {text}+00:00", param_hint="--at"
        )
    now = datetime.now(UTC)
    if moment <= now:  # the worker would only reject it: say so before sending anything
        raise typer.BadParameter(
            f"{text} is in the past (it is {now:%Y-%m-%d %H:%M:%S} UTC now); give a time to come, "
            "or leave out --at to complete CDC now",
            param_hint="--at",
        )
    return moment


def pause_command(
    job: OptionalJob = None,
    selector: SelectorOption = None,
    dry_run: DryRunOption = False,
    bootstrap_servers: BootstrapOption = None,
    by: ByOption = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Print each status change until the pause is confirmed.")
    ] = False,
    timeout: TimeoutOption = 90.0,
) -> None:
    """Pause a running job (snapshot or CDC stage): Pausing, then Paused once the engine confirms.

    A paused job can be resumed, terminated (snapshot stage) or completed (CDC stage). With
    --wait: exit 0 when the job is Paused, 1 when the command was rejected or the engine did
    not confirm before the deadline (the job then keeps running), 2 on timeout or no broker.
    """
    _act("pause", job, selector, dry_run, bootstrap_servers, by, wait, timeout)


def resume_command(
    job: OptionalJob = None,
    selector: SelectorOption = None,
    dry_run: DryRunOption = False,
    bootstrap_servers: BootstrapOption = None,
    by: ByOption = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Print each status change until the resume is confirmed.")
    ] = False,
    timeout: TimeoutOption = 90.0,
) -> None:
    """Resume a paused job: Resuming, then running again once the engine confirms.

    With --wait: exit 0 when the job runs again, 1 when the command was rejected or the engine
    did not confirm before the deadline (the job then stays Paused), 2 on timeout or no broker.
    """
    _act("resume", job, selector, dry_run, bootstrap_servers, by, wait, timeout)


def _act(
    action: str,
    job: str | None,
    selector: list[str] | None,
    dry_run: bool,
    bootstrap_servers: str | None,
    by: str | None,
    wait: bool,
    timeout: float,
    **fields: Any,
) -> None:
    if (job is None) == (not selector):
        raise typer.BadParameter("name one job, or select jobs with --selector", param_hint="JOB")
    if dry_run and not selector:
        raise typer.BadParameter("--dry-run lists the jobs a --selector matches")
    client = make_client(bootstrap_servers, by)
    if job is not None:
        command_id = client.send_each(action, [job], **fields)[job]
        typer.echo(f"{action} sent for {job} (command {command_id})")
        if wait:
            _follow(client, command_id, timeout)
        return
    selected = Selector.parse(selector or [])
    _act_on_selection(client, action, selected, dry_run, wait, timeout, fields)


def _act_on_selection(
    client: SyncJobsClient,
    action: str,
    selector: Selector,
    dry_run: bool,
    wait: bool,
    timeout: float,
    fields: dict[str, Any],
) -> None:
    jobs = client.select_ids(selector)  # job id order; no record is built
    if dry_run or not jobs:
        verb = "would be sent to" if dry_run else "sent to"
        typer.echo(
            f"{action} {verb} {len(jobs)} job(s){':' if jobs else ''} {' '.join(jobs)}".rstrip()
        )
        return
    sent = client.send_each(action, jobs, **fields)
    typer.echo(f"{action} sent to {len(sent)} job(s)")
    if not wait:
        for job_id, command_id in sent.items():
            typer.echo(f"  {job_id}  command {command_id}")
        return
    finished = client.finish_all(list(sent.values()), timeout=timeout)
    counts = {"done": 0, "rejected": 0, "unfinished": 0}
    for job_id, command_id in sent.items():
        event = finished[command_id]
        if event is None:
            counts["unfinished"] += 1
            typer.echo(f"  {job_id}  no end within {timeout:.0f} s")
        elif isinstance(event, CommandRejected) or (event.forced and not event.status.terminal):
            counts["rejected"] += 1
            typer.echo(f"  {job_id}  not done: {event_line(event)}")
        else:
            counts["done"] += 1
            typer.echo(f"  {job_id}  {visible(event.status_label)}")
    typer.echo(", ".join(f"{count} {name}" for name, count in counts.items()))
    if counts["unfinished"]:
        raise typer.Exit(code=2)
    if counts["rejected"]:
        raise typer.Exit(code=1)


def _follow(
    client: SyncJobsClient, command_id: str, timeout: float, until_final: bool = True
) -> None:
    started = time.monotonic()
    final = False

    def still_waiting(seconds: float) -> None:
        typer.echo(f"  ... still waiting after {seconds:.0f} s")

    for event in client.follow(command_id, timeout=timeout, on_wait=still_waiting):
        typer.echo(event_line(event))
        if isinstance(event, CommandRejected):
            raise typer.Exit(code=1)
        if isinstance(event, ScheduleChanged):
            return  # scheduled (or unscheduled): what happens at that time is another outcome
        if isinstance(event, StopExtended):
            continue  # the stop's drain made progress: its deadline moved, the wait goes on
        final = event.status.terminal or event.completes_command_id == command_id
        if final and event.forced and not event.status.terminal:
            # A pause or resume the engine never confirmed: the job stayed as it was.
            raise typer.Exit(code=1)
        if not until_final or final:
            return
        typer.echo("waiting for the engine to confirm (at most the stop deadline)...")
    waited = time.monotonic() - started
    typer.secho(
        f"syncctl: no {'final status' if not final else 'outcome'} within {waited:.0f} s; the "
        "stop may still finish: follow it with `syncctl watch`",
        err=True,
        fg=typer.colors.RED,
    )
    raise typer.Exit(code=2)
