"""What the console shows, kept current: every job's record and its events, from Kafka.

One background thread reads the state topic (records, progress included) and the events topic
(the timeline, rejections) from the beginning with `read_committed`, and hands every change to
the web app's subscribers on its event loop.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from pydantic import TypeAdapter, ValidationError

from syncctl.contract import Event, JobRecord
from syncctl.kafka import config
from syncctl.kafka.errors import check_consumer_error
from syncctl.kafka.reading import end_offsets, partitions_of, unread, watermark_reader
from syncctl.logging import get_logger
from syncctl.settings import KafkaSettings, TopicSettings

log = get_logger(__name__)
_EVENT: TypeAdapter[Any] = TypeAdapter(Event)
TIMELINE_LIMIT = 200  # events kept per job


@dataclass(frozen=True)
class Change:
    """One thing that happened: a job's new record, or an event on the events topic."""

    record: JobRecord | None = None
    event: Any = None  # StatusChanged | CommandRejected


class JobFeed:
    """Records and timelines of every job; `subscribe()` gives the changes as they come."""

    def __init__(self, kafka: KafkaSettings, topics: TopicSettings) -> None:
        self._kafka = kafka
        self._topics = topics
        self._lock = threading.Lock()
        self._records: dict[str, JobRecord] = {}
        self._timelines: dict[str, deque[Any]] = {}
        self._subscribers: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Change]]] = []
        self._stopping = threading.Event()
        self.caught_up = threading.Event()
        self._thread = threading.Thread(target=self._run, name="syncctl-console-feed", daemon=True)

    # -- what pages read -----------------------------------------------------------------------
    def records(self) -> list[JobRecord]:
        with self._lock:
            return sorted(
                self._records.values(), key=lambda record: record.created_at, reverse=True
            )

    def record(self, job_id: str) -> JobRecord | None:
        with self._lock:
            return self._records.get(job_id)

    def timeline(self, job_id: str) -> list[Any]:
        with self._lock:
            return list(self._timelines.get(job_id, ()))

    def subscribe(self) -> asyncio.Queue[Change]:
        queue: asyncio.Queue[Change] = asyncio.Queue(maxsize=10_000)
        with self._lock:
            self._subscribers.append((asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Change]) -> None:
        with self._lock:
            self._subscribers = [(loop, q) for loop, q in self._subscribers if q is not queue]

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> JobFeed:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(10)

    def _run(self) -> None:
        # A broker that restarts or a leader that moves must not leave the pages frozen: read
        # again from the beginning (the records and timelines are rebuilt, not duplicated).
        while not self._stopping.is_set():
            try:
                self._follow()
                return
            except Exception:  # any failure: log it, then start over
                log.exception("console feed failed; reading the topics again")
                if self._stopping.wait(2.0):
                    return

    def _follow(self) -> None:
        reader = config.reader_consumer(self._kafka, f"syncctl-console-{uuid.uuid4()}")
        consumer, ends_reader = Consumer(reader), watermark_reader(reader)
        try:
            unread_ends = self._assign_from_beginning(consumer, ends_reader)
            if unread_ends is None:
                return
            with self._lock:
                self._records.clear()
                self._timelines.clear()
            while not self._stopping.is_set():
                for message in consumer.consume(1000, 0.2):
                    error = message.error()
                    if error is None:
                        self._take(message.topic(), message.key(), message.value())
                    else:
                        check_consumer_error(error, log, message.topic() or "console's topics")
                if not self.caught_up.is_set():
                    unread_ends = {
                        topic: {p: ends[p] for p in unread(consumer, topic, ends)}
                        for topic, ends in unread_ends.items()
                    }
                    if not any(unread_ends.values()):
                        self.caught_up.set()
                        log.info("console caught up", jobs=len(self._records))
        finally:
            consumer.close()
            ends_reader.close()

    def _assign_from_beginning(
        self, consumer: Consumer, ends_reader: Consumer
    ) -> dict[str, dict[int, int]] | None:
        """Assign both topics from the beginning and return where they end (non-empty
        partitions only); None if stopped before the topics exist."""
        wanted = (self._topics.state, self._topics.events)
        while True:
            found = {topic: partitions_of(ends_reader, topic) for topic in wanted}
            if all(partitions is not None for partitions in found.values()):
                break
            # The first worker creates them: until then there is nothing to show.
            if self._stopping.wait(1.0):
                return None
        ends: dict[str, dict[int, int]] = {}
        assignment = []
        for topic, partitions in found.items():
            assert partitions is not None
            watermarks = end_offsets(ends_reader, topic, partitions)
            ends[topic] = {p: high for p, (low, high) in watermarks.items() if high > low}
            assignment += [TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions]
        consumer.assign(assignment)
        return ends

    def _take(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        try:
            if topic == self._topics.state:
                change = self._take_record(key.decode(), value)
            else:
                change = self._take_event(value)
        except (ValidationError, UnicodeDecodeError):
            return  # not of this contract version; nothing a page can show
        if change is not None:
            self._publish(change)

    def _take_record(self, job_id: str, value: bytes | None) -> Change | None:
        with self._lock:
            if value is None:
                self._records.pop(job_id, None)
                return None
            record = JobRecord.model_validate_json(value)
            self._records[job_id] = record
        return Change(record=record)

    def _take_event(self, value: bytes | None) -> Change | None:
        if value is None:
            return None
        event = _EVENT.validate_json(value)
        with self._lock:
            self._timelines.setdefault(event.job_id, deque(maxlen=TIMELINE_LIMIT)).append(event)
        return Change(event=event)

    def _publish(self, change: Change) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            loop.call_soon_threadsafe(_offer, queue, change)


def _offer(queue: asyncio.Queue[Change], change: Change) -> None:
    # A page that stopped reading loses changes rather than growing without bound; it gets
    # the current state again on reload.
    if not queue.full():
        queue.put_nowait(change)
