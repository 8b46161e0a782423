"""`syncctl runner --engine connect`: sync jobs run by Kafka Connect, stopped as syncctl says.

Follows docs/runner-protocol.md: a job created with a spec gets a MongoDB sink and a Debezium
PostgreSQL source connector; progress comes from Debezium's snapshot notifications and the
sink's committed offsets; Cancelling stops the source at once and removes the job's connectors,
replication slot and publication (the data copied so far stays); Completing CDC first drains
every change committed on the source before the request into the destination, then removes
everything, offsets and intermediate topics included.

This module is the dispatcher: it follows the events topic and Debezium's notifications,
knows which jobs are this engine's (engines in one group share them by the events topic's
partitions), and hands each job's steps to its `JobLifecycle` (lifecycle.py); what a look at a
running job calls for is decided in jobs.py, where the sink is in topics.py.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient

from syncctl.client import SyncJobsClient
from syncctl.connect.connectors import JobNames, missing_plugins
from syncctl.connect.jobs import EngineJob, SnapshotScan, look_at
from syncctl.connect.lifecycle import ConfiguredDatabases, JobLifecycle
from syncctl.connect.rest import ConnectApi, first_failure
from syncctl.connect.topics import JobTopics
from syncctl.contract import JobRecord, JobSpec, Mode, Progress, SnapshotCompleted, Stage, Status
from syncctl.engine import Reporter, follow_events, status_change
from syncctl.errors import ConfigError, SyncctlError
from syncctl.kafka import config
from syncctl.kafka.partitioning import partition_for
from syncctl.kafka.reading import partitions_of, take
from syncctl.logging import get_logger
from syncctl.settings import Settings
from syncctl.waiting import Patience, RetryPolicy, retry, wait_until

log = get_logger("syncctl.connect")
# Until the worker has created the events topic, looked for twice a second (or until stopped).
_TOPIC_PATIENCE = Patience(timeout=None, interval=0.5)
# A job's connectors put again after a restart, while Connect refuses them (its validation
# connects to the source, which may be restarting too).
_PUT_AGAIN = RetryPolicy(
    retry_on=lambda error: isinstance(error, SyncctlError), timeout=120.0, pause=5.0
)
_NOTIFICATIONS = re.compile(r"^syncctl\.(?P<job>[A-Za-z0-9-]+)\.notifications$")


class ConnectEngine:
    """The Kafka Connect engine (an `Engine`)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._engine = settings.engine
        self._client = SyncJobsClient(
            kafka=settings.kafka,
            topics=settings.topics,
            requested_by=self._engine.engine_id,
            signing=settings.signing,
        )
        self._api = ConnectApi(self._engine.connect_url)
        self._admin = AdminClient(config.common(settings.kafka))
        self._topics = JobTopics(self._admin)
        self._reports = Reporter(self._client, self._engine.engine_id, owns=self._owns)
        self._lifecycle = JobLifecycle(
            self._api,
            self._topics,
            self._engine,
            ConfiguredDatabases(self._engine),
            self._reports,
            drain_limit=settings.worker.stop_deadline_max,
            forget=self._forget,
            interrupted=lambda job: job.ended or self._stopping or not self._owns(job.job_id),
        )
        self._jobs: dict[str, EngineJob] = {}
        self._scans: dict[str, SnapshotScan] = {}
        # The events topic's partitions this engine owns, and so the jobs it runs: engines in one
        # group share the jobs, and take over a dead one's when the group gives them its partitions.
        self._owned: set[int] = set()
        self._partitions = 0
        self._started = False
        self._lock = threading.Lock()
        # Stops, pauses, resumes and removals: each takes seconds to minutes of Connect's time.
        self._steps = ThreadPoolExecutor(max_workers=4, thread_name_prefix="job-step")
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
        try:
            self._resume(self._client.jobs())
            self._started = True
            log.info(
                "connect engine started", connect_url=self._engine.connect_url, jobs=len(self._jobs)
            )
            while not self._stopping:
                for message in take(events, 500, self._engine.poll_interval / 2):
                    if not message.error() and message.value() is not None:
                        self._on_event(message.value())
                for message in notifications.consume(500, 0):
                    if not message.error() and message.value() is not None:
                        self._on_notification(message.topic(), message.value())
                for job in self._running():
                    self._advance(job)
        finally:
            # Also when the loop failed: steps under way (a drain) are left to the next engine,
            # not failed for want of one.
            self._stopping = True
            self._steps.shutdown(wait=True)
            events.close()
            notifications.close()
            self._client.close()
            self._api.close()
            log.info("connect engine stopped")

    def _wait_for_partitions(self, events: Consumer, topic: str) -> int:
        """The events topic's partition count, once it exists: an engine started beside a fresh
        worker comes up before the worker has created its topics."""
        found: list[int] = []
        looks = 0

        def exists() -> bool:
            nonlocal looks
            found[:] = partitions_of(events, topic) or []
            looks += 1
            if not found and looks == 1:
                log.info("waiting for the worker to create the events topic", topic=topic)
            return bool(found)

        wait_until(exists, _TOPIC_PATIENCE, give_up=lambda: self._stopping)
        return len(found)

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

    def _adopt(self, job: EngineJob) -> None:
        with self._lock:
            self._jobs[job.job_id] = job

    def _forget(self, job_id: str) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)

    def _job(self, job_id: str) -> EngineJob | None:
        with self._lock:
            return self._jobs.get(job_id)

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
                self._steps.submit(self._lifecycle.remove, job)
            elif job is not None:  # forced while its stop was under way: that step removes it
                job.ended = True

    def _resume(self, records: Iterable[JobRecord]) -> None:
        """After a restart: carry on every unfinished job, remove what ended ones left behind."""
        existing = set(self._api.connectors())
        jobs_with_topics = self._topics.jobs_with_topics()
        for record in records:
            names = JobNames(record.job_id)
            left = {names.source, names.sink} & existing
            known = self._job(record.job_id) is not None
            if record.spec is None or known or not self._owns(record.job_id):
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
                    self._steps.submit(self._lifecycle.remove, job)
            elif record.status is Status.NOT_STARTED and not left:
                self._start(record.job_id, record.mode, record.spec, record.drop_destination)
            elif record.status.stopping:
                self._adopt(job)
                self._request_stop(record.job_id, complete=record.status is Status.CDC_COMPLETING)
            else:
                self._adopt(job)
                pause = record.status is Status.PAUSING if record.status.changing else None
                try:
                    self._lifecycle.put_connectors(job)  # idempotent: Debezium resumes from offsets
                except (
                    SyncctlError
                ) as error:  # e.g. Connect cannot validate while the source is down
                    log.warning(
                        "could not put a job's connectors again",
                        job_id=job.job_id,
                        error=str(error),
                    )
                    self._steps.submit(self._put_connectors_again, job, pause)
                    continue
                if pause is not None:  # a paused connector stays paused across the PUT
                    self._request_change(record.job_id, pause=pause)

    def _put_connectors_again(self, job: EngineJob, pause: bool | None) -> None:
        """After a restart, a job whose connectors Connect would not take yet: asked again for
        a while (a source that restarts makes Connect's validation fail), then the job fails."""
        try:
            retry(lambda: self._lifecycle.put_connectors(job), _PUT_AGAIN)
        except SyncctlError as error:
            self._lifecycle.fail(job, f"could not put the job's connectors again: {error}")
            return
        if pause is not None:
            self._request_change(job.job_id, pause=pause)

    def _start(self, job_id: str, mode: Mode, spec: JobSpec | None, drop_destination: bool) -> None:
        refusal = self._lifecycle.refusal(spec)
        if refusal or spec is None:
            self._reports.send("failed", job_id, error=refusal)
            return
        job = EngineJob(job_id, mode, spec, scan=self._scan(job_id))
        if not self._lifecycle.start(job, drop_destination):
            return
        self._adopt(job)
        log.info("job started", job_id=job_id, mode=mode.value, tables=len(spec.tables))

    def _request_change(self, job_id: str, pause: bool) -> None:
        job = self._job(job_id)
        if job is None or job.stopping:
            return
        log.info("pause requested" if pause else "resume requested", job_id=job_id)
        self._steps.submit(self._lifecycle.change, job, pause)

    def _request_stop(self, job_id: str, complete: bool) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.stopping:
                return
            job.stopping = True
        log.info("stop requested", job_id=job_id, complete=complete)
        self._steps.submit(self._lifecycle.complete if complete else self._lifecycle.cancel, job)

    # -- what Debezium and the sink say --------------------------------------------------------
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
            scan.table_scanned(payload.get("additional_data") or {})
        elif kind == "COMPLETED":
            scan.completed = True
        elif kind == "ABORTED":
            job = self._job(job_id)
            if job is not None and not job.stopping:
                self._lifecycle.fail(
                    job, "Debezium aborted the snapshot; see the Kafka Connect log"
                )

    def _scan(self, job_id: str) -> SnapshotScan:
        with self._lock:
            return self._scans.setdefault(job_id, SnapshotScan())

    def _advance(self, job: EngineJob) -> None:
        try:
            failures = {
                name: failure
                for name in (job.names.source, job.names.sink)
                if (failure := first_failure(self._api.status(name)))
            }
            if failures:
                self._lifecycle.recover(job, failures)
                return
            written, lag = self._topics.sink_position(job)
        except SyncctlError as error:
            log.warning("could not look at a job", job_id=job.job_id, error=str(error))
            return
        look = look_at(job, written, lag, time.monotonic())
        if look.progress is not None:
            self._reports.send(Progress, job.job_id, stats=look.progress)
        if look.snapshot_done is None:
            return
        if job.mode is Mode.SNAPSHOT:
            # A snapshot job is over: it reports Completed once nothing of it is left running.
            self._forget(job.job_id)
            self._steps.submit(self._lifecycle.finish_snapshot_job, job, look.snapshot_done)
        else:
            self._reports.send(Progress, job.job_id, stats=look.snapshot_done)
            self._reports.send(SnapshotCompleted, job.job_id)
