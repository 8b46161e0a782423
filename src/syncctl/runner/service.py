"""The runner's Kafka side: follow events, simulate the jobs they start, send the reports."""

from __future__ import annotations

import random
import time
from typing import Any

from confluent_kafka import Consumer

from syncctl.client import SyncJobsClient
from syncctl.contract import Mode, Status
from syncctl.engine import Reporter, follow_events, status_change
from syncctl.kafka import config
from syncctl.kafka.reading import take
from syncctl.logging import get_logger
from syncctl.runner.simulation import Phase, Report, SimulatedJob
from syncctl.settings import Settings

log = get_logger("syncctl.runner")


class Runner:
    """Starts a simulated migration for every job created, stops it when the worker says so
    (an `Engine`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings.runner
        self._client = SyncJobsClient(
            kafka=settings.kafka,
            topics=settings.topics,
            requested_by=self.settings.runner_id,
            signing=settings.signing,
        )
        self._reports = Reporter(self._client, self.settings.runner_id)
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
                for message in take(consumer, 500, tick):
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
            job = SimulatedJob.resumed(record, now, self.settings, self._rng)
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
        self._reports.send_many(messages)

    def _message(self, job_id: str, report: Report) -> Any:
        return self._reports.message(report.type, job_id, **report.fields)
