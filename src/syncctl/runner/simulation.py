"""One simulated sync job: what a real engine would report, as time passes. No I/O."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import Enum

from syncctl.contract import JobRecord, Mode, Stage, Stats, Status
from syncctl.settings import RunnerSettings


class Phase(Enum):
    WAITING = "waiting"  # created, the snapshot has not started yet
    SNAPSHOT = "snapshot"
    CDC = "cdc"
    DONE = "done"


@dataclass
class Report:
    """A runner report to send: a control message `type` and its extra fields."""

    type: str
    fields: dict[str, object] = field(default_factory=dict)


@dataclass
class SimulatedJob:
    job_id: str
    mode: Mode
    table_rows: list[int]
    started_at: float
    settings: RunnerSettings
    phase: Phase = Phase.WAITING
    rows_done: float = 0.0
    events_seen: float = 0.0
    last_progress: float = 0.0
    last_tick: float = 0.0
    stop_at: float | None = None
    paused: bool = False
    # A pause or resume the engine has been asked for, and when it will have carried it out.
    change: tuple[str, float] | None = None

    @classmethod
    def new(
        cls, job_id: str, mode: Mode, now: float, settings: RunnerSettings, rng: random.Random
    ) -> SimulatedJob:
        low, high = settings.tables_min, settings.tables_max
        if mode is Mode.SNAPSHOT:
            low = settings.snapshot_job_tables_min or low
            high = settings.snapshot_job_tables_max or high
        rows = _table_sizes(rng.randint(low, max(low, high)), settings, rng)
        return cls(job_id, mode, rows, started_at=now, settings=settings, last_tick=now)

    @classmethod
    def resumed(
        cls, record: JobRecord, now: float, settings: RunnerSettings, rng: random.Random
    ) -> SimulatedJob:
        """A job this engine finds under way when it starts: it carries on from the figures the
        job's record holds (tables done of tables in all, rows, CDC events), so that a restart
        never shows less than was reported before it."""
        job = cls.new(record.job_id, record.mode, now, settings, rng)
        if record.status is Status.NOT_STARTED:
            return job
        stats = record.stats
        rows_done = stats.rows_migrated or 0
        total = stats.tables_total or len(job.table_rows)
        done = min(stats.tables_done or 0, total)
        if record.stage is Stage.CDC:
            done = total  # the snapshot is over: every table was copied
        # The tables already copied hold the rows reported; the rest get fresh sizes.
        copied = [rows_done // done + (n < rows_done % done) for n in range(done)] if done else []
        job.table_rows = copied + _table_sizes(total - done, settings, rng)
        job.phase = Phase.CDC if record.stage is Stage.CDC else Phase.SNAPSHOT
        job.rows_done = float(rows_done)
        job.events_seen = float(stats.events_seen or 0)
        return job

    @property
    def stats(self) -> Stats:
        done, tables_done = int(self.rows_done), 0
        for rows in self.table_rows:
            if done < rows:
                break
            done -= rows
            tables_done += 1
        events = int(self.events_seen) if self.phase is Phase.CDC else None
        return Stats(
            tables_total=len(self.table_rows),
            tables_done=tables_done,
            rows_migrated=int(self.rows_done),
            events_seen=events,
        )

    def request_stop(self, now: float) -> None:
        """The worker says the job is stopping: the engine winds down, then confirms."""
        if self.phase is not Phase.DONE and self.stop_at is None:
            self.stop_at = now + self.settings.stop_delay

    def request_change(self, change: str, now: float) -> None:
        """The worker says the job is pausing or resuming: the engine does so, then confirms."""
        if self.phase is not Phase.DONE:
            self.change = (change, now + self.settings.stop_delay)

    def advance(self, now: float) -> list[Report]:
        """What the engine reports between the last call and `now`."""
        elapsed, self.last_tick = now - self.last_tick, now
        reports: list[Report] = []
        if self.change is not None and now >= self.change[1] and self.stop_at is None:
            change, self.change = self.change[0], None
            self.paused = change == "pause"
            reports.append(Report("progress", {"stats": self.stats}))
            reports.append(Report("paused" if self.paused else "resumed"))
        if self.paused and self.stop_at is None:
            return reports  # copies nothing and sees no change until resumed
        if self.stop_at is not None and self.phase is not Phase.DONE:
            if now >= self.stop_at:
                final = [Report("progress", {"stats": self.stats})]
                cleaned = {"temp_data_cleaned": True} if self.phase is Phase.CDC else {}
                self.phase = Phase.DONE
                return [*final, Report("stopped", cleaned)]
            return []
        if self.phase is Phase.WAITING and now - self.started_at >= self.settings.start_delay:
            self.phase = Phase.SNAPSHOT
            self.last_progress = now
            reports.append(Report("snapshot_started"))
        elif self.phase is Phase.SNAPSHOT:
            self.rows_done = min(
                sum(self.table_rows), self.rows_done + elapsed * self.settings.rows_per_second
            )
            if self.rows_done >= sum(self.table_rows):
                reports.append(Report("progress", {"stats": self.stats}))
                reports.append(Report("snapshot_completed"))
                self.phase = Phase.CDC if self.mode is Mode.CONTINUOUS else Phase.DONE
            elif now - self.last_progress >= self.settings.progress_interval:
                reports.append(Report("progress", {"stats": self.stats}))
                self.last_progress = now
        elif self.phase is Phase.CDC:
            self.events_seen += elapsed * self.settings.cdc_events_per_second
            if now - self.last_progress >= self.settings.progress_interval:
                reports.append(Report("progress", {"stats": self.stats}))
                self.last_progress = now
        return reports


def _table_sizes(tables: int, settings: RunnerSettings, rng: random.Random) -> list[int]:
    high = max(settings.rows_per_table_min, settings.rows_per_table_max)
    return [rng.randint(settings.rows_per_table_min, high) for _ in range(tables)]
