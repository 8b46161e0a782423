"""What the engine knows of each job it runs, and the figures it reports (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field

from syncctl.connect.connectors import JobNames
from syncctl.contract import JobSpec, Mode, Stats

# Between two progress reports of one job, at least this long.
PROGRESS_SECONDS = 2.0
# A failed connector is restarted after each of these waits in turn (a Connect worker, the
# destination or the source was away for a moment); failing once more, the job fails. As
# Strimzi's auto-restart does, with waits a copy can afford.
RESTART_WAITS = (2.0, 4.0, 8.0, 16.0, 32.0)
# A job running this long since its last failure starts its restarts afresh.
RESTARTS_FORGOTTEN_AFTER = 600.0


@dataclass
class SnapshotScan:
    """What Debezium's notifications said of a job's snapshot. Kept for every job, also those
    another engine owns, so that an engine taking a job over knows how far its snapshot got."""

    completed: bool = False  # Debezium said its snapshot COMPLETED
    # Tables Debezium said it scanned whole. A set, because a notification can come twice (a
    # task restarted, a stopped snapshot reporting its tables): counting them made a cancelled
    # job of four tables report "tables 6/4".
    tables_scanned: set[str] = field(default_factory=set)

    @property
    def tables_done(self) -> int:
        return len(self.tables_scanned)

    def table_scanned(self, additional_data: dict[str, object]) -> None:
        """A TABLE_SCAN_COMPLETED notification: a table counts if its scan SUCCEEDED."""
        if additional_data.get("status", "SUCCEEDED") != "SUCCEEDED":
            return
        table = additional_data.get("scanned_collection")
        if isinstance(table, str):
            self.tables_scanned.add(table)


@dataclass
class EngineJob:
    job_id: str
    mode: Mode
    spec: JobSpec
    in_cdc: bool = False
    stopping: bool = False
    # The worker ended the job (its stop forced at the deadline) while a step of it was under
    # way: the step stops waiting and removes what the job left.
    ended: bool = False
    scan: SnapshotScan = field(default_factory=SnapshotScan)
    rows_at_cdc_start: int = 0
    last_stats: Stats = field(default_factory=Stats)
    last_progress_at: float = 0.0
    restarts: Restarts = field(default_factory=lambda: Restarts())

    @property
    def names(self) -> JobNames:
        return JobNames(self.job_id)


@dataclass
class Restarts:
    """When a job's failed connectors are next restarted, and how often they were."""

    done: int = 0
    due_at: float | None = None  # a failure was seen: restart then
    last_failure_at: float | None = None

    def after_failure(self, now: float) -> bool | None:
        """A failure seen at `now`: True to restart now, False to wait longer, None when the
        restarts are used up (the job fails)."""
        if self.last_failure_at is not None and now - self.last_failure_at > (
            RESTARTS_FORGOTTEN_AFTER
        ):
            self.done = 0
        self.last_failure_at = now
        if self.due_at is None:
            if self.done >= len(RESTART_WAITS):
                return None
            self.due_at = now + RESTART_WAITS[self.done]
        if now < self.due_at:
            return False
        self.done, self.due_at = self.done + 1, None
        return True


@dataclass(frozen=True)
class Look:
    """What one look at a running job calls for."""

    progress: Stats | None = None  # a progress report to send now
    snapshot_done: Stats | None = None  # the snapshot is whole: its final figures


def figures(job: EngineJob, written: int) -> Stats:
    """A job's figures from the records its sink has written: rows in the snapshot stage, CDC
    events (what was written after the snapshot's rows) in the CDC stage."""
    if job.in_cdc:
        return Stats(events_seen=max(0, written - job.rows_at_cdc_start))
    return Stats(
        tables_total=len(job.spec.tables),
        tables_done=min(job.scan.tables_done, len(job.spec.tables)),
        rows_migrated=written,
    )


def look_at(job: EngineJob, written: int, lag: int, now: float) -> Look:
    """What the sink's position (`written`, `lag`) means for a running job at `now` (monotonic
    seconds); `job` is updated to remember it. The snapshot is done once Debezium said so and
    every snapshot record is in the destination."""
    stats = figures(job, written)
    progress = None
    if stats != job.last_stats and now - job.last_progress_at >= PROGRESS_SECONDS:
        job.last_stats, job.last_progress_at = stats, now
        progress = stats
    if job.in_cdc or not job.scan.completed or lag != 0:
        return Look(progress)
    job.in_cdc, job.rows_at_cdc_start = True, written
    return Look(
        progress, snapshot_done=stats.model_copy(update={"tables_done": len(job.spec.tables)})
    )
