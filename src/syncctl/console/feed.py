"""What the console shows, kept current: every job's record and its events, from Kafka.

One background thread reads the state topic (records, progress included) and the events topic
(the timeline, rejections) from the beginning with `read_committed`. It keeps every job as its
latest record's raw JSON in a `JobIndex` (History's order and filters) and each job's timeline
as short text lines; a page parses only the records it shows. Open pages subscribe with what
they show (`View`): the rows of a History page, and its filter; one job's overview. A change of
a job on the page is sent to it; a change of another job that matches a first page's filter is
only counted ("N new jobs"), so what a page receives does not grow with the fleet.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from pydantic import ValidationError
from pydantic_core import from_json

from syncctl.console.index import Entry, JobIndex, Key, Page, matches
from syncctl.console.views import event_data_view, job_view
from syncctl.contract import JobRecord
from syncctl.kafka import config
from syncctl.kafka.errors import check_consumer_error
from syncctl.kafka.reading import (
    end_offsets,
    look_up,
    partitions_of,
    take,
    unread,
    watermark_reader,
)
from syncctl.logging import get_logger
from syncctl.selection import Selector
from syncctl.settings import KafkaSettings, TopicSettings

log = get_logger(__name__)
TIMELINE_LIMIT = 200  # events kept per job
NEW_LIMIT = 10_000  # "N new jobs" counts up to this many distinct jobs per page
_LINE, _FIELD = b"\x1e", b"\x1f"  # a job's timeline: UTF-8 lines of kind, ISO time, text
_ORPHAN_SWEEP_SECONDS = 600.0
_QUEUE = 10_000


@dataclass(eq=False)
class View:
    """What one open page shows: the jobs on it, and (a first History page) the filter whose
    other changes it counts."""

    ids: frozenset[str]
    selector: Selector | None = None
    count_new: bool = False  # a first History page: count other matching jobs that change
    events: bool = False  # a Job overview: its timeline too
    new: set[str] = field(default_factory=set)


@dataclass(eq=False)
class _Subscriber:
    view: View
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[str]


class JobFeed:
    """Records and timelines of every job; `subscribe(view)` gives what changes on a page."""

    def __init__(self, kafka: KafkaSettings, topics: TopicSettings) -> None:
        self._kafka = kafka
        self._topics = topics
        self._lock = threading.Lock()
        self._index = JobIndex()
        self._timelines: dict[str, bytes] = {}
        self._staged: dict[str, bytes | None] = {}  # records read while catching up
        self._subscribers: list[_Subscriber] = []
        self._stopping = threading.Event()
        self.caught_up = threading.Event()
        self._swept_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="syncctl-console-feed", daemon=True)

    # -- what pages read -----------------------------------------------------------------------
    def page(
        self,
        selector: Selector | None = None,
        *,
        after: Key | None = None,
        before: Key | None = None,
        limit: int = 50,
    ) -> tuple[Page, list[JobRecord]]:
        """A page of History and the records of its rows (parsed now)."""
        with self._lock:
            page = self._index.page(selector, after=after, before=before, limit=limit)
        return page, [entry.record() for entry in page.entries]

    def matching(self, selector: Selector) -> list[str]:
        """The ids of every job the selector matches now, newest change first."""
        with self._lock:
            found = self._index.matching(selector) or set()
            keys = sorted(entry.key for job_id in found if (entry := self._index.get(job_id)))
        return [job_id for _, job_id in keys]

    def count(self, selector: Selector | None = None) -> int:
        with self._lock:
            return self._index.count(selector)

    def values(self, term: str) -> list[str]:
        with self._lock:
            return self._index.values(term)

    def record(self, job_id: str) -> JobRecord | None:
        with self._lock:
            entry = self._index.get(job_id)
        return entry.record() if entry is not None else None

    def timeline(self, job_id: str) -> list[dict[str, str]]:
        """The job's last events, oldest first: `kind`, `at` (ISO), `time`, `text`."""
        with self._lock:
            lines = self._timelines.get(job_id)
        if not lines:
            return []
        found = []
        for line in lines.split(_LINE):
            kind, at, text = line.decode().split(_FIELD.decode(), 2)
            found.append({"kind": kind, "at": at, "time": at[11:19], "text": text})
        return found

    def subscribe(self, view: View) -> asyncio.Queue[str]:
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=_QUEUE)
        with self._lock:
            self._subscribers.append(_Subscriber(view, asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, queue: asyncio.Queue[str]) -> None:
        with self._lock:
            self._subscribers = [s for s in self._subscribers if s.queue is not queue]

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
                self._index.clear()
                self._timelines.clear()
                self._staged.clear()
            catching_up = True
            while not self._stopping.is_set():
                for message in take(consumer, 1000, 0.2):
                    error = message.error()
                    if error is None:
                        self._take(message.topic(), message.key(), message.value(), catching_up)
                    else:
                        check_consumer_error(error, log, message.topic() or "console's topics")
                if catching_up:
                    unread_ends = {
                        topic: {p: ends[p] for p in unread(consumer, topic, ends)}
                        for topic, ends in unread_ends.items()
                    }
                    if not any(unread_ends.values()):
                        catching_up = False
                        self._index_staged()
                        self.caught_up.set()
                        log.info("console caught up", jobs=len(self._index))
                elif time.monotonic() - self._swept_at > _ORPHAN_SWEEP_SECONDS:
                    self._sweep_orphans()
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
        for topic in found:
            look_up(consumer, topic)
        consumer.assign(assignment)
        return ends

    # -- what the topics say -------------------------------------------------------------------
    def _take(
        self, topic: str, key: bytes | None, value: bytes | None, catching_up: bool = False
    ) -> None:
        if key is None:
            return
        try:
            if topic == self._topics.state:
                job_id = key.decode()
                if catching_up:
                    # Only a job's last record counts: index it once, when caught up.
                    self._staged[job_id] = value
                else:
                    self._take_record(job_id, value)
            else:
                self._take_event(value)
        except (ValidationError, UnicodeDecodeError, KeyError, ValueError, TypeError):
            return  # not of this contract version; nothing a page can show

    def _index_staged(self) -> None:
        """Index the records read while catching up, a slice at a time (pages go on)."""
        staged, self._staged = self._staged, {}
        items = list(staged.items())
        staged.clear()
        for start in range(0, len(items), 2000):
            entries: list[tuple[str, Entry | None]] = []
            for job_id, value in items[start : start + 2000]:
                try:
                    entries.append((job_id, _entry(value) if value is not None else None))
                except (ValidationError, ValueError):
                    continue
            with self._lock:
                for job_id, entry in entries:
                    if entry is None or entry.job_id != job_id:
                        self._index.remove(job_id)
                    else:
                        self._index.put(entry)
        del items
        self._sweep_orphans()
        _give_back_memory()

    def _sweep_orphans(self) -> None:
        """Forget the timelines of jobs that have no record (ended and removed, or never
        created): memory follows the fleet, not all of history."""
        self._swept_at = time.monotonic()
        with self._lock:
            for job_id in [j for j in self._timelines if self._index.get(j) is None]:
                del self._timelines[job_id]

    def _take_record(self, job_id: str, value: bytes | None) -> None:
        if value is None:
            with self._lock:
                gone = self._index.remove(job_id)
                self._timelines.pop(job_id, None)
            if gone is not None:
                self._publish(job_id, gone, moved=False, payload=_gone(job_id))
            return
        record = JobRecord.model_validate_json(value)
        if record.job_id != job_id:
            return  # not where this job's record belongs
        entry = Entry(record, value)
        with self._lock:
            old = self._index.put(entry)
        moved = old is None or old.key != entry.key
        self._publish(job_id, entry, moved, lambda: _row(record))

    def _take_event(self, value: bytes | None) -> None:
        if value is None:
            return
        view = event_data_view(from_json(value))
        job_id = view["job_id"]
        text = view["text"].replace("\x1e", " ").replace("\x1f", " ")
        line = _FIELD.join(part.encode() for part in (view["kind"], view["at"], text))
        with self._lock:
            lines = self._timelines.get(job_id)
            if lines is None:
                self._timelines[job_id] = line
            else:
                if lines.count(_LINE) + 1 >= TIMELINE_LIMIT:
                    lines = lines.split(_LINE, 1)[1]
                self._timelines[job_id] = lines + _LINE + line
            subscribers = [s for s in self._subscribers if s.view.events]
        if subscribers:
            payload = json.dumps({"type": "event", "event": view})
            for subscriber in subscribers:
                if job_id in subscriber.view.ids:
                    subscriber.loop.call_soon_threadsafe(_offer, subscriber.queue, payload)

    def _publish(
        self, job_id: str, entry: Entry, moved: bool, payload: Callable[[], str] | str
    ) -> None:
        """Send the change to the pages that show the job; count it for first pages whose
        filter it matches."""
        with self._lock:
            subscribers = list(self._subscribers)
        text: str | None = payload if isinstance(payload, str) else None
        for subscriber in subscribers:
            view = subscriber.view
            if job_id in view.ids:
                if text is None:
                    text = payload()  # type: ignore[operator]
                subscriber.loop.call_soon_threadsafe(_offer, subscriber.queue, text)
            elif (
                view.count_new
                and moved
                and len(view.new) < NEW_LIMIT
                and matches(view.selector, entry)
            ):
                view.new.add(job_id)


def _give_back_memory() -> None:
    """Return to the system what catching up freed (the superseded records); glibc keeps it
    otherwise, and the console's RSS would show all of it."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL(None).malloc_trim(0)


def _entry(value: bytes) -> Entry:
    return Entry(JobRecord.model_validate_json(value), value)


def _row(record: JobRecord) -> str:
    return json.dumps({"type": "job", "job": job_view(record)})


def _gone(job_id: str) -> str:
    return json.dumps({"type": "gone", "job_id": job_id})


def _offer(queue: asyncio.Queue[str], payload: str) -> None:
    # A page that stopped reading loses changes rather than growing without bound; it gets
    # the current state again on reload.
    if not queue.full():
        queue.put_nowait(payload)
