"""`syncctl runner --engine connect`: sync jobs run by Kafka Connect, stopped as syncctl says.

Follows docs/runner-protocol.md: a job created with a spec gets a MongoDB sink and a Debezium
PostgreSQL source connector; progress comes from Debezium's snapshot notifications and the
sink's committed offsets; Cancelling stops the source at once and removes the job's connectors,
replication slot and publication (the data copied so far stays); Completing CDC first drains
every change committed on the source before the request into the destination, then removes
everything, offsets and intermediate topics included.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import (
    Consumer,
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec
from pymongo.errors import PyMongoError

from syncctl.client import SyncJobsClient
from syncctl.connect.connectors import JobNames, missing_plugins, sink_config, source_config
from syncctl.connect.databases import (
    SourceDatabase,
    documents_in,
    drop_destination_database,
    is_ferretdb,
    wal_position,
)
from syncctl.connect.drain import DrainInterrupted, DrainWatch
from syncctl.connect.rest import ConnectApi, first_failure
from syncctl.contract import (
    Draining,
    Failed,
    JobRecord,
    JobSpec,
    Mode,
    Paused,
    Progress,
    Resumed,
    SnapshotCompleted,
    SnapshotStarted,
    Stage,
    Stats,
    Status,
    Stopped,
)
from syncctl.errors import ConfigError, SyncctlError
from syncctl.kafka import config
from syncctl.kafka.partitioning import partition_for
from syncctl.kafka.reading import partitions_of
from syncctl.logging import get_logger
from syncctl.runner.service import follow_events, status_change
from syncctl.settings import Settings

log = get_logger("syncctl.connect")
_NOTIFICATIONS = re.compile(r"^syncctl\.(?P<job>[A-Za-z0-9-]+)\.notifications$")
_PROGRESS_SECONDS = 2.0
_CANCEL_DRAIN_SECONDS = 15.0
# A Complete CDC's drain fails when it has not moved for this long; while it moves, a `draining`
# report every few seconds moves the stop's deadline (keep worker.stop_deadline above it).
_DRAIN_STALL_SECONDS = 20.0
_DRAIN_REPORT_SECONDS = 5.0
# After this long without movement a drain asks Connect whether it is moving the job's tasks
# (a worker died): that wait does not count as a stall.
_MOVING_CHECK_SECONDS = 3.0
_MOVING_CHECK_EVERY_SECONDS = 1.0  # each check is a few HTTP calls and a group description
# At most this long for a cancelled sink's last writes to settle before its figures are counted.
_SETTLE_SECONDS = 20.0


@dataclass
class SnapshotScan:
    """What Debezium's notifications said of a job's snapshot. Kept for every job, also those
    another engine owns, so that an engine taking a job over knows how far its snapshot got."""

    tables_done: int = 0
    completed: bool = False  # Debezium said its snapshot COMPLETED


@dataclass
class EngineJob:
    job_id: str
    mode: Mode
    spec: JobSpec
    in_cdc: bool = False
    stopping: bool = False
    scan: SnapshotScan = field(default_factory=SnapshotScan)
    rows_at_cdc_start: int = 0
    last_stats: Stats = field(default_factory=Stats)
    last_progress_at: float = 0.0

    @property
    def names(self) -> JobNames:
        return JobNames(self.job_id)


class ConnectEngine:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._engine = settings.engine
        self._client = SyncJobsClient(
            kafka=settings.kafka,
            topics=settings.topics,
            requested_by=self._engine.runner_id,
            signing=settings.signing,
        )
        self._api = ConnectApi(self._engine.connect_url)
        self._admin = AdminClient(config.common(settings.kafka))
        self._jobs: dict[str, EngineJob] = {}
        self._scans: dict[str, SnapshotScan] = {}
        # The events topic's partitions this engine owns, and so the jobs it runs: engines in one
        # group share the jobs, and take over a dead one's when the group gives them its partitions.
        self._owned: set[int] = set()
        self._partitions = 0
        self._started = False
        self._lock = threading.Lock()
        self._stops = ThreadPoolExecutor(max_workers=4, thread_name_prefix="stop")
        self._stopping = False

    def stop(self) -> None:
        self._stopping = True

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> None:
        # Fails now, clearly, when Connect does not answer or cannot run a job's connectors.
        lacking = missing_plugins(self._api.plugin_classes())
        if lacking:
            raise ConfigError(
                f"Kafka Connect at {self._engine.connect_url} lacks plugins every job needs: "
                f"{lacking}; put them on its plugin.path (docs/engine-connect.md)"
            )
        events = Consumer(
            {
                **config.reader_consumer(self._settings.kafka, self._engine.group_id),
                "partition.assignment.strategy": "range",
                "enable.auto.commit": True,
                # Static membership: a restarted engine gets its partitions back at once, instead
                # of waiting out its dead predecessor's session.
                "group.instance.id": f"{self._engine.group_id}-{self._engine.instance_id}",
                "session.timeout.ms": int(self._engine.session_timeout * 1000),
            }
        )
        # Read from the beginning at every start, never committed: a restarted engine rebuilds
        # each job's snapshot progress from them (a few messages per job).
        notifications = Consumer(
            {
                **config.reader_consumer(
                    self._settings.kafka, f"{self._engine.group_id}-notifications-{uuid.uuid4()}"
                ),
                "topic.metadata.refresh.interval.ms": 2000,
            }
        )
        topic = self._settings.topics.events
        self._partitions = self._wait_for_partitions(events, topic)
        if not self._partitions:  # asked to stop while waiting
            events.close()
            notifications.close()
            return
        follow_events(
            events,
            topic,
            self._on_event,
            lambda: self._stopping,
            on_assigned=self._assigned,
            on_revoked=self._revoked,
        )
        notifications.subscribe([r"^syncctl\..*\.notifications$"])
        self._resume(self._client.jobs())
        self._started = True
        log.info(
            "connect engine started", connect_url=self._engine.connect_url, jobs=len(self._jobs)
        )
        try:
            while not self._stopping:
                for message in events.consume(500, self._engine.poll_interval / 2):
                    if not message.error() and message.value() is not None:
                        self._on_event(message.value())
                for message in notifications.consume(500, 0):
                    if not message.error() and message.value() is not None:
                        self._on_notification(message.topic(), message.value())
                for job in self._running():
                    self._advance(job)
        finally:
            self._stops.shutdown(wait=True)
            events.close()
            notifications.close()
            self._client.close()
            self._api.close()
            log.info("connect engine stopped")

    def _wait_for_partitions(self, events: Consumer, topic: str) -> int:
        """The events topic's partition count, once it exists: an engine started beside a fresh
        worker comes up before the worker has created its topics."""
        waiting = False
        while not self._stopping:
            partitions = partitions_of(events, topic)
            if partitions:
                return len(partitions)
            if not waiting:
                log.info("waiting for the worker to create the events topic", topic=topic)
                waiting = True
            time.sleep(0.5)
        return 0

    # -- which jobs are this engine's -------------------------------------------------------
    def _owns(self, job_id: str) -> bool:
        return partition_for(job_id.encode(), self._partitions) in self._owned

    def _assigned(self, partitions: set[int]) -> None:
        self._owned |= partitions
        log.info("events partitions assigned", partitions=sorted(partitions))
        if self._started:  # a later rebalance: take over the jobs of the new partitions
            self._resume(self._client.jobs())

    def _revoked(self, partitions: set[int]) -> None:
        self._owned -= partitions
        with self._lock:
            released = [job_id for job_id in self._jobs if not self._owns(job_id)]
            for job_id in released:
                del self._jobs[job_id]
        log.info("events partitions revoked", partitions=sorted(partitions), jobs=len(released))

    def _running(self) -> list[EngineJob]:
        with self._lock:
            return [job for job in self._jobs.values() if not job.stopping]

    # -- what the worker says ----------------------------------------------------------------
    def _on_event(self, value: bytes) -> None:
        event = status_change(value)
        if event is None:
            return
        if event.status is Status.NOT_STARTED and event.previous_status is None:
            self._start(
                event.job_id, event.mode or Mode.SNAPSHOT, event.spec, bool(event.drop_destination)
            )
        elif event.status.stopping:
            self._request_stop(event.job_id, complete=event.status is Status.CDC_COMPLETING)
        elif event.status.changing:
            self._request_change(event.job_id, pause=event.status is Status.PAUSING)
        elif event.status.terminal:
            with self._lock:
                job = self._jobs.pop(event.job_id, None)
                self._scans.pop(event.job_id, None)
            if job is not None and not job.stopping:
                self._stops.submit(self._remove, job)

    def _resume(self, records: Iterable[JobRecord]) -> None:
        """After a restart: carry on every unfinished job, remove what ended ones left behind."""
        existing = set(self._api.connectors())
        jobs_with_topics = {
            topic.split(".")[1]
            for topic in self._admin.list_topics(timeout=10).topics
            if topic.startswith("syncctl.") and topic.count(".") >= 2
        }
        for record in records:
            names = JobNames(record.job_id)
            left = {names.source, names.sink} & existing
            if record.spec is None or record.job_id in self._jobs or not self._owns(record.job_id):
                continue
            job = EngineJob(
                record.job_id,
                record.mode,
                record.spec,
                scan=self._scan(record.job_id),
                in_cdc=record.stage is Stage.CDC,
                # The sink's offsets count the snapshot's rows too: CDC events are what follows.
                rows_at_cdc_start=record.stats.rows_migrated or 0,
            )
            if record.status.terminal:
                # E.g. a stop forced at its deadline while this engine was away.
                if left or record.job_id in jobs_with_topics:
                    self._stops.submit(self._remove, job)
            elif record.status is Status.NOT_STARTED and not left:
                self._start(record.job_id, record.mode, record.spec, record.drop_destination)
            elif record.status.stopping:
                self._jobs[record.job_id] = job
                self._request_stop(record.job_id, complete=record.status is Status.CDC_COMPLETING)
            else:
                self._jobs[record.job_id] = job
                self._put_connectors(job)  # idempotent; Debezium resumes from its offsets
                if record.status.changing:  # a paused connector stays paused across the PUT
                    self._request_change(record.job_id, pause=record.status is Status.PAUSING)

    # -- starting ------------------------------------------------------------------------------
    def _start(self, job_id: str, mode: Mode, spec: JobSpec | None, drop_destination: bool) -> None:
        if spec is None:
            self._send(
                Failed,
                job_id,
                error="this job has no spec: the Kafka Connect engine needs one "
                "(create it with --source, --table, --destination and --database)",
            )
            return
        problem = self._unknown_connection(spec)
        if problem:
            self._send(Failed, job_id, error=problem)
            return
        job = EngineJob(job_id, mode, spec, scan=self._scan(job_id))
        try:
            missing = SourceDatabase(self._engine.sources[spec.source]).missing_tables(spec.tables)
            if missing:
                raise SyncctlError(
                    f"source {spec.source!r} has no table {', '.join(missing)}; "
                    "check the spec's tables "
                    "(schema.table) and that the engine's user may see them"
                )
            destination = self._engine.destinations[spec.destination]
            if destination.server == "mongodb" and is_ferretdb(destination):
                raise SyncctlError(
                    f"destination {spec.destination!r} is FerretDB, which cannot store every "
                    f'BSON type: set engine.destinations.{spec.destination}.server = "ferretdb" '
                    "(exact numbers and arrays in arrays are then written as text)"
                )
            if drop_destination:
                drop_destination_database(destination, spec.database)
            self._put_connectors(job)
        except SyncctlError as error:
            self._send(Failed, job_id, error=str(error))
            return
        except Exception as error:  # a database driver's error is the job's failure
            self._send(Failed, job_id, error=f"{type(error).__name__}: {error}")
            return
        with self._lock:
            self._jobs[job_id] = job
        self._send(SnapshotStarted, job_id)
        log.info("job started", job_id=job_id, mode=mode.value, tables=len(spec.tables))

    def _unknown_connection(self, spec: JobSpec) -> str | None:
        if spec.source not in self._engine.sources:
            known = ", ".join(sorted(self._engine.sources)) or "none"
            return (
                f"source {spec.source!r} is not configured in the engine (known: {known}); "
                f"add [engine.sources.{spec.source}]"
            )
        if spec.destination not in self._engine.destinations:
            known = ", ".join(sorted(self._engine.destinations)) or "none"
            return (
                f"destination {spec.destination!r} is not configured in the engine "
                f"(known: {known}); "
                f"add [engine.destinations.{spec.destination}]"
            )
        return None

    def _put_connectors(self, job: EngineJob) -> None:
        names = job.names
        destination = self._engine.destinations[job.spec.destination]
        source = self._engine.sources[job.spec.source]
        keys = SourceDatabase(source).primary_keys(job.spec.tables)
        # The sink first, so that it is reading when the first snapshot records arrive.
        self._api.put_config(names.sink, sink_config(job.job_id, job.spec, destination, keys))
        self._api.put_config(names.source, source_config(job.job_id, job.mode, job.spec, source))

    # -- running -------------------------------------------------------------------------------
    def _on_notification(self, topic: str, value: bytes) -> None:
        match = _NOTIFICATIONS.match(topic)
        if match is None:
            return
        try:
            payload = json.loads(value).get("payload", {})
        except (ValueError, AttributeError):
            return
        if payload.get("aggregate_type") != "Initial Snapshot":
            return
        job_id = match.group("job")
        scan = self._scan(job_id)
        kind = payload.get("type")
        if kind == "TABLE_SCAN_COMPLETED":
            scan.tables_done += 1
        elif kind == "COMPLETED":
            scan.completed = True
        elif kind == "ABORTED":
            with self._lock:
                job = self._jobs.get(job_id)
            if job is not None and not job.stopping:
                self._fail(job, "Debezium aborted the snapshot; see the Kafka Connect log")

    def _scan(self, job_id: str) -> SnapshotScan:
        with self._lock:
            return self._scans.setdefault(job_id, SnapshotScan())

    def _advance(self, job: EngineJob) -> None:
        try:
            failure = first_failure(self._api.status(job.names.source)) or first_failure(
                self._api.status(job.names.sink)
            )
            if failure:
                self._fail(job, failure)
                return
            written, lag = self._sink_position(job)
        except SyncctlError as error:
            log.warning("could not look at a job", job_id=job.job_id, error=str(error))
            return
        stats = _figures(job, written)
        now = time.monotonic()
        if stats != job.last_stats and now - job.last_progress_at >= _PROGRESS_SECONDS:
            job.last_stats, job.last_progress_at = stats, now
            self._send(Progress, job.job_id, stats=stats)
        if not job.in_cdc and job.scan.completed and lag == 0:
            # Every snapshot record is in the destination.
            final = stats.model_copy(update={"tables_done": len(job.spec.tables)})
            job.in_cdc, job.rows_at_cdc_start = True, written
            if job.mode is Mode.SNAPSHOT:
                # A snapshot job is over: it reports Completed once nothing of it is left running.
                with self._lock:
                    self._jobs.pop(job.job_id, None)
                self._stops.submit(self._finish_snapshot_job, job, final)
            else:
                self._send(Progress, job.job_id, stats=final)
                self._send(SnapshotCompleted, job.job_id)

    def _finish_snapshot_job(self, job: EngineJob, stats: Stats) -> None:
        try:
            self._remove(job)
        except Exception as error:  # the copy is whole; a leftover is removed on restart
            log.warning(
                "could not remove a finished job's connectors", job_id=job.job_id, error=str(error)
            )
        self._send(Progress, job.job_id, stats=stats)
        self._send(SnapshotCompleted, job.job_id)

    def _sink_position(self, job: EngineJob) -> tuple[int, int]:
        """(records the sink has committed as written, records it has yet to write).

        Asked of the broker through the engine's one admin client: the sink group's committed
        offsets and the topics' ends, with no consumer made per job and look."""
        topics = [job.names.table_topic(table) for table in job.spec.tables]
        metadata = self._admin.list_topics(timeout=10).topics
        partitions = [
            TopicPartition(t, p) for t in topics if t in metadata for p in metadata[t].partitions
        ]
        if not partitions:
            return 0, 0
        group = job.names.sink_group
        try:
            asked = self._admin.list_consumer_group_offsets(
                [ConsumerGroupTopicPartitions(group, partitions)]
            )
            committed = {
                (tp.topic, tp.partition): max(tp.offset, 0)
                for tp in asked[group].result(10).topic_partitions
            }
            latest = self._admin.list_offsets(
                {tp: OffsetSpec.latest() for tp in partitions}, request_timeout=10
            )
            ends = {
                (tp.topic, tp.partition): future.result(10).offset for tp, future in latest.items()
            }
        except KafkaException as error:
            raise SyncctlError(f"could not read the sink's position: {error}") from error
        written = sum(committed.get(key, 0) for key in ends)
        return written, sum(end - committed.get(key, 0) for key, end in ends.items())

    # -- pausing and resuming ------------------------------------------------------------------
    def _request_change(self, job_id: str, pause: bool) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.stopping:
            return
        log.info("pause requested" if pause else "resume requested", job_id=job_id)
        self._stops.submit(self._change, job, pause)

    def _change(self, job: EngineJob, pause: bool) -> None:
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
        self._send(Paused if pause else Resumed, job.job_id)

    # -- stopping ------------------------------------------------------------------------------
    def _request_stop(self, job_id: str, complete: bool) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.stopping:
                return
            job.stopping = True
        log.info("stop requested", job_id=job_id, complete=complete)
        self._stops.submit(self._complete if complete else self._cancel, job)

    def _cancel(self, job: EngineJob) -> None:
        """Terminate: the source stops now; what it captured reaches the destination; the rest
        goes."""
        try:
            began = time.monotonic()
            self._api.stop(job.names.source)
            source_stopped = time.monotonic()
            # The source's side (connector, slot, publication) goes while the sink writes.
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="source-removal") as side:
                source_removed = side.submit(self._remove_source, job, drop_offsets=True)
                self._wait_for_sink(job, _CANCEL_DRAIN_SECONDS)
                drained = time.monotonic()
                self._api.stop(job.names.sink)
                self._report_copied_rows(job)
                self._remove_connector(job.names.sink, drop_offsets=True)
                source_removed.result()
            self._delete_topics(job)
            self._send(Stopped, job.job_id)
            log.info(
                "job cancelled",
                job_id=job.job_id,
                source_stop_s=round(source_stopped - began, 2),
                sink_drain_s=round(drained - source_stopped, 2),
                total_s=round(time.monotonic() - began, 2),
            )
        except Exception as error:  # the job ends Failed with the reason, the engine goes on
            self._fail(job, f"could not cancel cleanly: {error}")

    def _complete(self, job: EngineJob) -> None:
        """Complete CDC: every change committed before the request reaches the destination first."""
        try:
            began = time.monotonic()
            watch = DrainWatch(
                lambda remaining: self._send(Draining, job.job_id, remaining=remaining),
                stall=_DRAIN_STALL_SECONDS,
                limit=self._settings.worker.stop_deadline_max,
                report_every=_DRAIN_REPORT_SECONDS,
                interrupted=lambda: self._stopping or not self._owns(job.job_id),
            )
            # A job completed from Paused drains first: what the source has not streamed yet
            # still reaches the destination.
            for name in (job.names.source, job.names.sink):
                self._api.resume(name)
            self._drain_source(job, watch)
            self._api.stop(job.names.source)
            source_drained = time.monotonic()
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="source-removal") as side:
                source_removed = side.submit(self._remove_source, job, drop_offsets=True)
                watch.restart()
                self._drain_sink(job, watch)
                drained = time.monotonic()
                self._report_final_figures(job)
                self._remove_connector(job.names.sink, drop_offsets=True)
                source_removed.result()
            self._delete_topics(job)
            self._send(Stopped, job.job_id, temp_data_cleaned=True)
            log.info(
                "job's CDC completed",
                job_id=job.job_id,
                source_drain_s=round(source_drained - began, 2),
                sink_drain_s=round(drained - source_drained, 2),
                total_s=round(time.monotonic() - began, 2),
            )
        except DrainInterrupted:
            log.info("drain left to the engine that carries the stop on", job_id=job.job_id)
        except Exception as error:
            self._fail(job, f"could not complete CDC cleanly: {error}")

    def _drain_source(self, job: EngineJob, watch: DrainWatch) -> None:
        """Return once every change committed on the source before now is in Kafka.

        Normally the slot's confirmed position passes the WAL position taken now. On a quiet
        source it may not (Debezium confirms only when its tables change): when nothing has moved
        for 3 s, the source is stopped and the slot itself says whether any change of the job's
        tables is still pending.
        """
        names = job.names
        source = SourceDatabase(self._engine.sources[job.spec.source])
        lsn = source.current_lsn()
        target = wal_position(lsn)
        quiet_since = time.monotonic()
        while True:
            confirmed, read = source.slot_positions(names.slot)
            if confirmed >= target:
                return
            if self._observe_source_drain(job, watch, confirmed + max(read, 0)):
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= 3.0:
                self._api.stop(names.source)
                if source.changes_pending(names.slot, names.publication, lsn) == 0:
                    return  # stopped for good: the removal that follows expects it so
                self._api.resume(names.source)
                quiet_since = time.monotonic()
            time.sleep(0.2)

    def _hold_while_moving(self, job: EngineJob, watch: DrainWatch, *connectors: str) -> None:
        """A drain that waits on Connect moving its tasks to a live worker is not stalled."""
        if (
            watch.idle_for() >= _MOVING_CHECK_SECONDS
            and watch.look_around_due(_MOVING_CHECK_EVERY_SECONDS)
        ) and (
            any(self._api.tasks_moving(name) for name in connectors)
            or self._sink_group_rebalancing(job)
        ):
            watch.hold()

    def _sink_group_rebalancing(self, job: EngineJob) -> bool:
        """A sink task restarted on another worker waits in its consumer group until the dead
        task's consumer is timed out (its session): the group is rebalancing meanwhile."""
        try:
            described = self._admin.describe_consumer_groups([job.names.sink_group])
            state = described[job.names.sink_group].result(10).state
        except KafkaException:
            return False
        return state in (
            ConsumerGroupState.PREPARING_REBALANCING,
            ConsumerGroupState.COMPLETING_REBALANCING,
        )

    def _observe_source_drain(self, job: EngineJob, watch: DrainWatch, position: int) -> bool:
        """The source's drain moves while the slot's positions (confirmed, and read by its
        walsender), the records captured into the job's topics or those the sink wrote grow: a
        big transaction is decoded, then streamed row by row, and confirmed only at its end.
        Each only grows, so their sum grows exactly when one of them does."""
        written, lag = self._sink_position(job)
        self._hold_while_moving(job, watch, job.names.source, job.names.sink)
        return watch.observe(position + (written + lag) + written, remaining=lag)

    def _drain_sink(self, job: EngineJob, watch: DrainWatch) -> None:
        """Return once the sink has written every record in the job's topics."""
        while True:
            written, lag = self._sink_position(job)
            if lag == 0:
                return
            self._hold_while_moving(job, watch, job.names.sink)
            watch.observe(written, remaining=lag)
            time.sleep(0.1)

    def _report_copied_rows(self, job: EngineJob) -> None:
        """A cancelled snapshot's last figures: the documents its destination holds (a batch
        cut by the stop is written but never committed as the sink's offsets)."""
        destination = self._engine.destinations[job.spec.destination]
        collections = [table.split(".", 1)[1] for table in job.spec.tables]
        try:
            # A stopped task's last bulk write can outlive the stop: count once it has settled.
            copied, settled_at = documents_in(destination, job.spec.database, collections), None
            give_up = time.monotonic() + _SETTLE_SECONDS
            while time.monotonic() < give_up:
                time.sleep(0.5)
                now = documents_in(destination, job.spec.database, collections)
                if now != copied:
                    copied, settled_at = now, None
                elif settled_at is None:
                    settled_at = time.monotonic()
                elif time.monotonic() - settled_at >= 2.0:
                    break
        except PyMongoError as error:  # the figures stay the last reported ones
            log.warning("could not count the copied documents", job_id=job.job_id, error=str(error))
            return
        figures = _figures(job, copied)
        self._send(Progress, job.job_id, stats=figures)

    def _report_final_figures(self, job: EngineJob) -> None:
        """What the destination holds once drained, before the sink's offsets go: the stopped
        job's last record carries it, not the last periodic report's."""
        self._send(Progress, job.job_id, stats=_figures(job, self._sink_position(job)[0]))

    def _wait_for_sink(self, job: EngineJob, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self._sink_position(job)[1] > 0 and time.monotonic() < deadline:
            time.sleep(0.1)

    def _remove(self, job: EngineJob) -> None:
        """Everything an ended job left: connectors (and their offsets), slot, publication and
        topics."""
        self._remove_source(job, drop_offsets=True)
        self._remove_connector(job.names.sink, drop_offsets=True)
        self._delete_topics(job)
        log.info("job's connectors, slot, publication and topics removed", job_id=job.job_id)

    def _remove_source(self, job: EngineJob, drop_offsets: bool) -> None:
        names = job.names
        self._remove_connector(names.source, drop_offsets)
        SourceDatabase(self._engine.sources[job.spec.source]).drop_slot_and_publication(
            names.slot, names.publication
        )

    def _remove_connector(self, name: str, drop_offsets: bool) -> None:
        if drop_offsets:  # only a stopped connector's offsets can be deleted
            self._api.stop(name)
            self._api.delete_offsets(name)
        self._api.delete(name)

    def _delete_topics(self, job: EngineJob) -> None:
        names = job.names
        wanted = [
            *(names.table_topic(t) for t in job.spec.tables),
            names.notifications_topic,
            names.heartbeat_topic,
        ]
        existing = self._admin.list_topics(timeout=10).topics
        doomed = [topic for topic in wanted if topic in existing]
        for future in (
            self._admin.delete_topics(doomed, operation_timeout=30).values() if doomed else []
        ):
            future.result(30)

    def _fail(self, job: EngineJob, reason: str) -> None:
        with self._lock:
            self._jobs.pop(job.job_id, None)
        log.warning("job failed", job_id=job.job_id, reason=reason)
        self._send(Failed, job.job_id, error=reason[:8000])
        try:
            self._remove(job)
        except Exception as error:  # removal is retried when the engine restarts
            log.warning(
                "could not remove a failed job's connectors", job_id=job.job_id, error=str(error)
            )

    def _send(self, kind: type, job_id: str, **fields: Any) -> None:
        if not self._owns(job_id):
            # Its partition went to another engine, which carries the job on and reports it.
            log.info("report not sent: the job is another engine's now", job_id=job_id)
            return
        self._client.send(
            kind(
                command_id=str(uuid.uuid4()),
                job_id=job_id,
                issued_at=datetime.now(UTC),
                requested_by=self._engine.runner_id,
                **fields,
            )
        )


def _figures(job: EngineJob, written: int) -> Stats:
    """A job's figures from the records its sink has written: rows in the snapshot stage, CDC
    events (what was written after the snapshot's rows) in the CDC stage."""
    if job.in_cdc:
        return Stats(events_seen=max(0, written - job.rows_at_cdc_start))
    return Stats(
        tables_total=len(job.spec.tables), tables_done=job.scan.tables_done, rows_migrated=written
    )
