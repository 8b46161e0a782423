"""One job's life in Kafka Connect: starting it, pausing and resuming it, cancelling it,
completing its CDC (the drain), and removing what it leaves. Every step reports to the worker
through the `Reporter`; a step that fails ends the job FAILED with the reason, and the engine
goes on."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from pymongo.errors import PyMongoError

from syncctl.connect.connectors import sink_config, source_config
from syncctl.connect.databases import DestinationDatabase, SourceDatabase, wal_position
from syncctl.connect.drain import DrainInterrupted, DrainWatch
from syncctl.connect.jobs import EngineJob, figures
from syncctl.connect.rest import ConnectApi, first_failure
from syncctl.connect.topics import JobTopics
from syncctl.contract import (
    Draining,
    Failed,
    JobSpec,
    Paused,
    Progress,
    Resumed,
    SnapshotCompleted,
    SnapshotStarted,
    Stats,
    Stopped,
)
from syncctl.engine import Reporter
from syncctl.errors import SyncctlError
from syncctl.logging import get_logger
from syncctl.settings import EngineSettings
from syncctl.waiting import Patience, wait_until

log = get_logger("syncctl.connect")
_CANCEL_DRAIN_SECONDS = 15.0
# A source whose slot has not moved for this long may be quiet rather than behind (Debezium
# confirms only when its tables change): the slot itself is asked.
_QUIET_SOURCE_SECONDS = 3.0
_QUIET_AFTER_RESUME_SECONDS = 10.0
# A Complete CDC's drain fails when it has not moved for this long; while it moves, a `draining`
# report every few seconds moves the stop's deadline (keep worker.stop_deadline above it).
# Above the MongoDB driver's 30 s server selection: a sink whose destination went away for a
# moment hangs that long before it fails and is restarted, and a shorter stall failed such drains.
DRAIN_STALL_SECONDS = 40.0
_DRAIN_REPORT_SECONDS = 5.0
# After this long without movement a drain asks Connect whether it is moving the job's tasks
# (a worker died): that wait does not count as a stall.
_MOVING_CHECK_SECONDS = 3.0
_MOVING_CHECK_EVERY_SECONDS = 1.0  # each check is a few HTTP calls and a group description
# At most this long for a cancelled sink's last writes to settle before its figures are counted.
_SETTLE_SECONDS = 20.0
_SETTLED_FOR_SECONDS = 2.0  # the same count for this long: the destination has settled


class Databases(Protocol):
    """The engine's way to the databases a spec names (by their names in the settings)."""

    def source(self, name: str) -> SourceDatabase: ...

    def destination(self, name: str) -> DestinationDatabase: ...


class ConfiguredDatabases:
    """The databases of `engine.sources` and `engine.destinations`."""

    def __init__(self, engine: EngineSettings) -> None:
        self._engine = engine

    def source(self, name: str) -> SourceDatabase:
        return SourceDatabase(self._engine.sources[name])

    def destination(self, name: str) -> DestinationDatabase:
        return DestinationDatabase(self._engine.destinations[name])


class JobLifecycle:
    """`forget(job_id)`: the job is no longer the engine's to advance (it failed or ended).
    `interrupted(job)`: the engine is shutting down or the job went to another engine, so a
    drain under way is left to whoever carries the stop on."""

    def __init__(
        self,
        api: ConnectApi,
        topics: JobTopics,
        engine: EngineSettings,
        databases: Databases,
        reports: Reporter,
        *,
        drain_limit: float,
        forget: Callable[[str], None],
        interrupted: Callable[[EngineJob], bool],
    ) -> None:
        self._api = api
        self._topics = topics
        self._engine = engine
        self._databases = databases
        self._reports = reports
        self._drain_limit = drain_limit
        self._forget = forget
        self._interrupted = interrupted

    # -- starting ------------------------------------------------------------------------------
    def refusal(self, spec: JobSpec | None) -> str | None:
        """Why a job with `spec` cannot start, or None; checked before anything is created."""
        if spec is None:
            return (
                "this job has no spec: the Kafka Connect engine needs one "
                "(create it with --source, --table, --destination and --database)"
            )
        for kind, name, known in (
            ("source", spec.source, self._engine.sources),
            ("destination", spec.destination, self._engine.destinations),
        ):
            if name not in known:
                listed = ", ".join(sorted(known)) or "none"
                return (
                    f"{kind} {name!r} is not configured in the engine (known: {listed}); "
                    f"add [engine.{kind}s.{name}]"
                )
        return None

    def start(self, job: EngineJob, drop_destination: bool) -> bool:
        """Check the databases, create the connectors and report snapshot_started; on any
        problem report the job FAILED and return False."""
        spec = job.spec
        try:
            missing = self._databases.source(spec.source).missing_tables(spec.tables)
            if missing:
                raise SyncctlError(
                    f"source {spec.source!r} has no table {', '.join(missing)}; "
                    "check the spec's tables "
                    "(schema.table) and that the engine's user may see them"
                )
            destination = self._databases.destination(spec.destination)
            if destination.connection.server == "mongodb" and destination.is_ferretdb():
                raise SyncctlError(
                    f"destination {spec.destination!r} is FerretDB, which cannot store every "
                    f'BSON type: set engine.destinations.{spec.destination}.server = "ferretdb" '
                    "(exact numbers and arrays in arrays are then written as text)"
                )
            if drop_destination:
                destination.drop(spec.database)
            self.put_connectors(job)
        except SyncctlError as error:
            self._reports.send(Failed, job.job_id, error=str(error))
            return False
        except Exception as error:  # a database driver's error is the job's failure
            self._reports.send(Failed, job.job_id, error=f"{type(error).__name__}: {error}")
            return False
        self._reports.send(SnapshotStarted, job.job_id)
        return True

    def put_connectors(self, job: EngineJob) -> None:
        """Create the job's connectors, or update them to what they should be (idempotent)."""
        names, spec = job.names, job.spec
        destination = self._engine.destinations[spec.destination]
        source = self._engine.sources[spec.source]
        keys = self._databases.source(spec.source).primary_keys(spec.tables)
        # The sink first, so that it is reading when the first snapshot records arrive.
        self._api.put_config(names.sink, sink_config(job.job_id, spec, destination, keys))
        self._api.put_config(names.source, source_config(job.job_id, job.mode, spec, source))

    # -- running -------------------------------------------------------------------------------
    def finish_snapshot_job(self, job: EngineJob, stats: Stats) -> None:
        """A snapshot job whose copy is whole: nothing of it stays running, then Completed."""
        try:
            self.remove(job)
        except Exception as error:  # the copy is whole; a leftover is removed on restart
            log.warning(
                "could not remove a finished job's connectors", job_id=job.job_id, error=str(error)
            )
        self._reports.send(Progress, job.job_id, stats=stats)
        self._reports.send(SnapshotCompleted, job.job_id)

    def change(self, job: EngineJob, pause: bool) -> None:
        """Pause (or resume) both connectors, then confirm: Connect's PUT /connectors/NAME/pause
        keeps the tasks and their offsets, so a resume carries on where the copy was."""
        try:
            for name in (job.names.source, job.names.sink):
                if pause:
                    self._api.pause(name)
                else:
                    self._api.resume(name)
        except SyncctlError as error:
            # No confirmation: the worker's deadline ends the pause (or resume) with a reason.
            log.warning("could not pause or resume a job", job_id=job.job_id, error=str(error))
            return
        self._reports.send(Paused if pause else Resumed, job.job_id)

    def recover(self, job: EngineJob, failures: dict[str, str]) -> None:
        """Connectors of a running job failed (`failures`: name -> first line of the trace):
        restart them after a wait that grows with each restart; once the restarts are used up,
        the job fails with the reason. A restarted sink carries on from its committed offsets
        and writes by key, so what it writes again changes nothing."""
        decision = job.restarts.after_failure(time.monotonic())
        reason = next(iter(failures.values()))
        if decision is None:
            self.fail(job, f"{reason} (failed again after {job.restarts.done} restarts)")
            return
        if not decision:
            return
        try:
            for name in failures:
                self._api.restart_failed(name)
        except SyncctlError as error:  # the next look sees the failure again
            log.warning("could not restart a failed connector", job_id=job.job_id, error=str(error))
            return
        log.warning(
            "restarted a job's failed connectors",
            job_id=job.job_id,
            connectors=sorted(failures),
            restart=job.restarts.done,
            reason=reason,
        )

    # -- stopping ------------------------------------------------------------------------------
    def cancel(self, job: EngineJob) -> None:
        """Terminate: the source stops now; what it captured reaches the destination; the rest
        goes."""
        try:
            began = time.monotonic()
            self._api.stop(job.names.source)
            source_stopped = time.monotonic()
            drained = self._remove_while_sink_drains(
                job,
                lambda: self._wait_for_sink(job, _CANCEL_DRAIN_SECONDS),
                self._report_copied_rows,
            )
            self._reports.send(Stopped, job.job_id)
            log.info(
                "job cancelled",
                job_id=job.job_id,
                source_stop_s=round(source_stopped - began, 2),
                sink_drain_s=round(drained - source_stopped, 2),
                total_s=round(time.monotonic() - began, 2),
            )
        except Exception as error:  # the job ends Failed with the reason, the engine goes on
            self.fail(job, f"could not cancel cleanly: {error}")

    def complete(self, job: EngineJob) -> None:
        """Complete CDC: every change committed before the request reaches the destination first."""
        try:
            began = time.monotonic()
            watch = DrainWatch(
                lambda remaining: self._reports.send(Draining, job.job_id, remaining=remaining),
                stall=DRAIN_STALL_SECONDS,
                limit=self._drain_limit,
                report_every=_DRAIN_REPORT_SECONDS,
                interrupted=lambda: self._interrupted(job),
                clock=time.monotonic,
            )
            # A job completed from Paused drains first: what the source has not streamed yet
            # still reaches the destination.
            for name in (job.names.source, job.names.sink):
                self._api.resume(name)
            self._drain_source(job, watch)
            self._api.stop(job.names.source)
            source_drained = time.monotonic()
            watch.restart()
            drained = self._remove_while_sink_drains(
                job, lambda: self._drain_sink(job, watch), self._report_final_figures
            )
            self._reports.send(Stopped, job.job_id, temp_data_cleaned=True)
            log.info(
                "job's CDC completed",
                job_id=job.job_id,
                source_drain_s=round(source_drained - began, 2),
                sink_drain_s=round(drained - source_drained, 2),
                total_s=round(time.monotonic() - began, 2),
            )
        except DrainInterrupted:
            if job.ended:
                self._remove_after_forced_end(job)
            else:
                log.info("drain left to the engine that carries the stop on", job_id=job.job_id)
        except Exception as error:
            self.fail(job, f"could not complete CDC cleanly: {error}")

    def _remove_after_forced_end(self, job: EngineJob) -> None:
        """The worker forced the stop at its deadline while the drain went on: the job has
        ended, so nothing of it may keep running."""
        log.warning(
            "stop forced by the worker during the drain; removing the job", job_id=job.job_id
        )
        try:
            self.remove(job)
        except Exception as error:  # removal is retried when the engine restarts
            log.warning(
                "could not remove a forced job's connectors", job_id=job.job_id, error=str(error)
            )

    def _remove_while_sink_drains(
        self,
        job: EngineJob,
        drain_sink: Callable[[], None],
        report_figures: Callable[[EngineJob], None],
    ) -> float:
        """The end shared by both stops, once the source is stopped: its side (connector, slot,
        publication) goes while `drain_sink` runs; then the stopped sink's last figures are
        reported and it goes, then the job's topics. Returns when the sink was drained."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="source-removal") as side:
            source_removed = side.submit(self._remove_source, job)
            drain_sink()
            drained = time.monotonic()
            self._api.stop(job.names.sink)
            report_figures(job)
            self._remove_connector(job.names.sink)
            source_removed.result()
        self._topics.delete(job)
        return drained

    def _drain_source(self, job: EngineJob, watch: DrainWatch) -> None:
        """Return once every change committed on the source before now is in Kafka.

        Normally the slot's confirmed position passes the WAL position taken now. On a quiet
        source it may not (Debezium confirms only when its tables change): when nothing has moved
        for 3 s, the source is stopped and the slot itself says whether any change of the job's
        tables is still pending.
        """
        names = job.names
        source = self._databases.source(job.spec.source)
        if source.slot_positions(names.slot)[0] < 0 and self._api.status(names.source) is None:
            return  # an engine before this one drained the source, then removed it
        lsn = source.current_lsn()
        target = wal_position(lsn)
        quiet_since, quiet_for = time.monotonic(), _QUIET_SOURCE_SECONDS

        def drained() -> bool:
            nonlocal quiet_since, quiet_for
            confirmed, read = source.slot_positions(names.slot)
            if confirmed >= target:
                return True
            if self._observe_source_drain(job, watch, confirmed + max(read, 0)):
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_for:
                self._api.stop(names.source)
                if source.changes_pending(names.slot, names.publication, lsn) == 0:
                    return True  # stopped for good: the removal that follows expects it so
                self._api.resume(names.source)
                # A resumed Debezium finds its place in the WAL again before it confirms
                # anything: stopped again within seconds, it never would.
                quiet_since, quiet_for = time.monotonic(), _QUIET_AFTER_RESUME_SECONDS
            return False

        # The watch ends a stalled drain (DrainStalled) or one left to another engine.
        wait_until(drained, Patience(None, 0.2))

    def _observe_source_drain(self, job: EngineJob, watch: DrainWatch, position: int) -> bool:
        """The source's drain moves while the slot's positions (confirmed, and read by its
        walsender), the records captured into the job's topics or those the sink wrote grow: a
        big transaction is decoded, then streamed row by row, and confirmed only at its end.
        Each only grows, so their sum grows exactly when one of them does."""
        written, lag = self._topics.sink_position(job)
        self._hold_while_moving(job, watch, job.names.source, job.names.sink)
        return watch.observe(position + (written + lag) + written, remaining=lag)

    def _drain_sink(self, job: EngineJob, watch: DrainWatch) -> None:
        """Return once the sink has written every record in the job's topics."""

        def drained() -> bool:
            written, lag = self._topics.sink_position(job)
            if lag == 0:
                return True
            self._hold_while_moving(job, watch, job.names.sink)
            watch.observe(written, remaining=lag)
            return False

        wait_until(drained, Patience(None, 0.1))

    def _hold_while_moving(self, job: EngineJob, watch: DrainWatch, *connectors: str) -> None:
        """A drain that waits on Connect moving its tasks to a live worker, or on a failed
        connector's restart, is not stalled."""
        if watch.idle_for() < _MOVING_CHECK_SECONDS or not watch.look_around_due(
            _MOVING_CHECK_EVERY_SECONDS
        ):
            return
        if (
            self._restart_failed(job, connectors)
            or any(self._api.tasks_moving(name) for name in connectors)
            or self._topics.sink_group_rebalancing(job)
        ):
            watch.hold()

    def _restart_failed(self, job: EngineJob, connectors: tuple[str, ...]) -> bool:
        """A drain's connector that failed (its destination or source was away a moment) is
        restarted as a running job's is; whether one is failed and waits for its restart. Out
        of restarts, the drain fails with the reason."""
        failures = {
            name: failure
            for name in connectors
            if (failure := first_failure(self._api.status(name)))
        }
        if not failures:
            return False
        decision = job.restarts.after_failure(time.monotonic())
        reason = next(iter(failures.values()))
        if decision is None:
            raise SyncctlError(f"{reason} (failed again after {job.restarts.done} restarts)")
        if decision:
            for name in failures:
                self._api.restart_failed(name)
            log.warning(
                "restarted a draining job's failed connectors",
                job_id=job.job_id,
                connectors=sorted(failures),
                restart=job.restarts.done,
                reason=reason,
            )
        return True

    def _wait_for_sink(self, job: EngineJob, timeout: float) -> None:
        """Until the sink has written what the stopped source captured, for at most `timeout`."""
        wait_until(lambda: self._topics.sink_position(job)[1] == 0, Patience(timeout, 0.1))

    # -- figures -------------------------------------------------------------------------------
    def _report_copied_rows(self, job: EngineJob) -> None:
        """A cancelled snapshot's last figures: the documents its destination holds (a batch
        cut by the stop is written but never committed as the sink's offsets)."""
        destination = self._databases.destination(job.spec.destination)
        collections = [table.split(".", 1)[1] for table in job.spec.tables]
        counts: list[int] = []
        steady_since = time.monotonic()

        def settled() -> bool:
            # A stopped task's last bulk write can outlive the stop: count once it has settled.
            nonlocal steady_since
            counts.append(destination.documents_in(job.spec.database, collections))
            if len(counts) < 2 or counts[-1] != counts[-2]:
                steady_since = time.monotonic()
            return time.monotonic() - steady_since >= _SETTLED_FOR_SECONDS

        try:
            wait_until(settled, Patience(_SETTLE_SECONDS, 0.5))
            copied = counts[-1]
        except PyMongoError as error:  # the figures stay the last reported ones
            log.warning("could not count the copied documents", job_id=job.job_id, error=str(error))
            return
        self._reports.send(Progress, job.job_id, stats=figures(job, copied))

    def _report_final_figures(self, job: EngineJob) -> None:
        """What the destination holds once drained, before the sink's offsets go: the stopped
        job's last record carries it, not the last periodic report's."""
        written = self._topics.sink_position(job)[0]
        self._reports.send(Progress, job.job_id, stats=figures(job, written))

    # -- removing ------------------------------------------------------------------------------
    def remove(self, job: EngineJob) -> None:
        """Everything an ended job left: connectors (and their offsets), slot, publication and
        topics. Each part is tried even when another could not be removed (the first error is
        raised after): a restarted engine removes what is left."""
        errors = []
        for remove in (
            self._remove_source,
            lambda job: self._remove_connector(job.names.sink),
            self._topics.delete,
        ):
            try:
                remove(job)
            except Exception as error:
                errors.append(error)
        if errors:
            raise errors[0]
        log.info("job's connectors, slot, publication and topics removed", job_id=job.job_id)

    def fail(self, job: EngineJob, reason: str) -> None:
        """Report the job FAILED with `reason`, then remove what it left."""
        self._forget(job.job_id)
        log.warning("job failed", job_id=job.job_id, reason=reason)
        self._reports.send(Failed, job.job_id, error=reason[:8000])
        try:
            self.remove(job)
        except Exception as error:  # removal is retried when the engine restarts
            log.warning(
                "could not remove a failed job's connectors", job_id=job.job_id, error=str(error)
            )

    def _remove_source(self, job: EngineJob) -> None:
        names = job.names
        self._remove_connector(names.source)
        self._databases.source(job.spec.source).drop_slot_and_publication(
            names.slot, names.publication
        )

    def _remove_connector(self, name: str) -> None:
        # Stopped first: only a stopped connector's offsets can be deleted.
        self._api.stop(name)
        self._api.delete_offsets(name)
        self._api.delete(name)
