"""The runner's Kafka side: follow events, simulate the jobs they start, send the reports."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from pydantic import TypeAdapter, ValidationError

from syncctl.client import SyncJobsClient
from syncctl.contract import Event, Mode, Stage, Status, StatusChanged
from syncctl.contract.messages import MESSAGE_TYPES
from syncctl.kafka import config
from syncctl.kafka.retry import retry_while_not_yet
from syncctl.logging import get_logger
from syncctl.runner.simulation import Phase, Report, SimulatedJob
from syncctl.settings import Settings

log = get_logger("syncctl.runner")
_EVENT: TypeAdapter[Any] = TypeAdapter(Event)
_MESSAGE_CLASSES = {cls.model_fields["type"].default: cls for cls in MESSAGE_TYPES}


def status_change(value: bytes) -> StatusChanged | None:
    """The `status_changed` event in `value`; None for rejections and for what is not an event."""
    try:
        event = _EVENT.validate_json(value)
    except ValidationError:
        return None
    return event if isinstance(event, StatusChanged) else None


def follow_events(
    consumer: Consumer,
    topic: str,
    on_event: Callable[[bytes], None],
    stopping: Callable[[], bool],
    on_assigned: Callable[[set[int]], None] = lambda partitions: None,
    on_revoked: Callable[[set[int]], None] = lambda partitions: None,
) -> None:
    """Subscribe `consumer` (an eager-assignment group) to the events topic and wait until it is
    assigned, passing on whatever it reads meanwhile.

    A partition this group never read starts at an end offset taken now (not "latest", which is
    fixed only at the first fetch): every job created after this point is seen as an event, every
    job created before it is in `SyncJobsClient.jobs()`, which the caller lists next.
    `on_assigned` and `on_revoked` hear of every assignment and revocation (partition numbers),
    this first one included, as the consumer's later polls make them.
    """
    assigned: list[bool] = []

    def start_at_committed_or_end(consumer: Consumer, partitions: list[TopicPartition]) -> None:
        committed = retry_while_not_yet(lambda: consumer.committed(partitions, timeout=30), 60)
        for tp in committed:
            if tp.offset < 0:
                end = retry_while_not_yet(
                    lambda tp=tp: consumer.get_watermark_offsets(tp, timeout=30, cached=False), 60
                )
                tp.offset = end[1]
        consumer.assign(committed)
        assigned.append(True)
        on_assigned({tp.partition for tp in partitions})

    def revoked(consumer: Consumer, partitions: list[TopicPartition]) -> None:
        on_revoked({tp.partition for tp in partitions})

    consumer.subscribe([topic], on_assign=start_at_committed_or_end, on_revoke=revoked)
    deadline = time.monotonic() + 60
    while not assigned and not stopping() and time.monotonic() < deadline:
        for message in consumer.consume(500, 0.2):
            if not message.error() and message.value() is not None:
                on_event(message.value())


class Runner:
    """Starts a simulated migration for every job created, stops it when the worker says so."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings.runner
        self._client = SyncJobsClient(
            kafka=settings.kafka,
            topics=settings.topics,
            requested_by=self.settings.runner_id,
            signing=settings.signing,
        )
        self._consumer_config = {
            **config.reader_consumer(settings.kafka, self.settings.group_id),
            "partition.assignment.strategy": "range",  # eager: on_assign sets positions
            "enable.auto.commit": True,
        }
        self._events_topic = settings.topics.events
        self._rng = random.Random(self.settings.seed)
        self._jobs: dict[str, SimulatedJob] = {}
        self._stopping = False

    def stop(self) -> None:
        self._stopping = True

    def run(self) -> None:
        consumer = Consumer(self._consumer_config)
        follow_events(consumer, self._events_topic, self._on_event, lambda: self._stopping)
        self._resume_unfinished_jobs()
        log.info("runner started", jobs=len(self._jobs), runner_id=self.settings.runner_id)
        tick = min(0.2, self.settings.progress_interval)
        try:
            while not self._stopping:
                for message in consumer.consume(500, tick):
                    if not message.error() and message.value() is not None:
                        self._on_event(message.value())
                self._advance(time.monotonic())
        finally:
            consumer.close()
            self._client.close()
            log.info("runner stopped")

    def _resume_unfinished_jobs(self) -> None:
        # Jobs created before this runner started (or while it was down) are picked up too.
        now = time.monotonic()
        for record in self._client.jobs():
            if record.status.terminal:
                continue
            job = SimulatedJob.new(record.job_id, record.mode, now, self.settings, self._rng)
            if record.status is not Status.NOT_STARTED:
                job.phase = Phase.CDC if record.stage is Stage.CDC else Phase.SNAPSHOT
                job.rows_done = float(record.stats.rows_migrated or 0)
                job.events_seen = float(record.stats.events_seen or 0)
            job.paused = record.status in (Status.PAUSED, Status.RESUMING)
            if record.status.stopping:
                job.request_stop(now)
            elif record.status.changing:
                job.request_change("pause" if record.status is Status.PAUSING else "resume", now)
            self._jobs[record.job_id] = job

    def _on_event(self, value: bytes) -> None:
        event = status_change(value)
        if event is None:
            return
        now = time.monotonic()
        job = self._jobs.get(event.job_id)
        if event.status is Status.NOT_STARTED and job is None:
            mode = event.mode or Mode.SNAPSHOT
            self._jobs[event.job_id] = SimulatedJob.new(
                event.job_id, mode, now, self.settings, self._rng
            )
            log.info("job started", job_id=event.job_id, mode=mode.value)
        elif event.status.stopping:
            if job is None:  # a stop for a job this runner never saw: confirm it all the same
                job = SimulatedJob.new(
                    event.job_id, event.mode or Mode.SNAPSHOT, now, self.settings, self._rng
                )
                job.phase = Phase.SNAPSHOT if event.status is Status.CANCELLING else Phase.CDC
                self._jobs[event.job_id] = job
            job.request_stop(now)
            log.info(
                "stop requested",
                job_id=event.job_id,
                status=event.status.value,
                stop_delay=self.settings.stop_delay,
            )
        elif event.status.changing and job is not None:
            change = "pause" if event.status is Status.PAUSING else "resume"
            job.request_change(change, now)
            log.info(f"{change} requested", job_id=event.job_id, delay=self.settings.stop_delay)
        elif event.status.terminal:
            self._jobs.pop(event.job_id, None)

    def _advance(self, now: float) -> None:
        messages = []
        for job in list(self._jobs.values()):
            for report in job.advance(now):
                messages.append(self._message(job.job_id, report))
            if job.phase is Phase.DONE:
                self._jobs.pop(job.job_id, None)
        self._client.send_many(messages)

    def _message(self, job_id: str, report: Report) -> Any:
        return _MESSAGE_CLASSES[report.type](
            command_id=str(uuid.uuid4()),
            job_id=job_id,
            issued_at=datetime.now(UTC),
            requested_by=self.settings.runner_id,
            **report.fields,
        )
