"""`SyncJobsClient`: send commands, wait for their outcome, watch events, list jobs.

from syncctl import SyncJobsClient

client = SyncJobsClient("127.0.0.1:9092")
command_id = client.terminate("orders", requested_by="alice")
outcome = client.wait_for_outcome(command_id, timeout=30)
print(outcome.status_label if outcome.type == "status_changed" else outcome.reason)
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from pydantic import TypeAdapter, ValidationError

from syncctl.contract import (
    CancelSchedule,
    CommandRejected,
    CompleteCdc,
    ControlMessage,
    Create,
    Event,
    JobRecord,
    JobSpec,
    Mode,
    Pause,
    Resume,
    StatusChanged,
    Terminate,
)
from syncctl.contract.messages import OPERATOR_COMMAND_TYPES
from syncctl.contract.signing import signature_headers
from syncctl.errors import InvalidCommand, KafkaUnavailable, OutcomeTimeout
from syncctl.kafka import config
from syncctl.kafka.connection import check_connection
from syncctl.kafka.reading import read_to_end, take
from syncctl.kafka.retry import retry_while_not_yet
from syncctl.listing import DEFAULT_LIMIT, FleetIndex, JobPage, JobStream, index_topic, read_at
from syncctl.selection import Selector
from syncctl.settings import KafkaSettings, SigningSettings, TopicSettings

_EVENT: TypeAdapter[Any] = TypeAdapter(Event)
# Events are written after the command they answer; this much clock skew between the client's
# host and the worker's is tolerated when looking for an outcome.
_CLOCK_SKEW = timedelta(seconds=30)
# After a command's outcome, what `follow` passes on about its job: status changes, and a stop's
# deadline moving while its drain makes progress.
_FOLLOWED = ("status_changed", "stop_extended")
# Operator commands whose send time a client keeps (see _sent_at).
SENT_COMMANDS_REMEMBERED = 10_000
_ACTIONS: dict[str, type[ControlMessage]] = {
    "terminate": Terminate,
    "complete_cdc": CompleteCdc,
    "pause": Pause,
    "resume": Resume,
    "cancel_schedule": CancelSchedule,
}
_WAIT_NOTICE_SECONDS = 10.0
# A listing whose records changed (and were cleaned away) before it could read them is made again
# at most this many times.
_LISTING_ATTEMPTS = 3
# A listing keeps the bytes of the newest 2 x limit matching versions it passes (at most this
# many, about 1 KB each), so that it rarely has to read its records again by offset.
_KEEP_NEWEST_MAX = 2_000


class SyncJobsClient:
    """A producer of control messages and a reader of the events and state topics."""

    def __init__(
        self,
        bootstrap_servers: str | None = None,
        *,
        kafka: KafkaSettings | None = None,
        topics: TopicSettings | None = None,
        requested_by: str | None = None,
        signing: SigningSettings | None = None,
    ) -> None:
        kafka = kafka or KafkaSettings()
        if bootstrap_servers is not None:
            kafka = kafka.model_copy(update={"bootstrap_servers": bootstrap_servers})
        self.kafka = kafka
        self.topics = topics or TopicSettings()
        self.requested_by = requested_by
        signing = signing or SigningSettings()
        # (key id, secret) when every message this client sends is to be signed.
        self._signer = (
            (signing.key_id, signing.secrets()[signing.key_id]) if signing.key_id else None
        )
        self._producer: Producer | None = None
        # When each recent operator command was sent, so that waiting for its outcome reads the
        # events topic from then; bounded, since a long-lived client (a runner) sends for ever.
        self._sent_at: OrderedDict[str, datetime] = OrderedDict()

    # -- sending -------------------------------------------------------------------------------
    def create(
        self,
        job_id: str,
        mode: Mode | str,
        *,
        drop_destination: bool = False,
        spec: JobSpec | dict[str, Any] | None = None,
        requested_by: str | None = None,
    ) -> str:
        """Create a job; `spec` says what it copies, for an engine that needs it (Kafka Connect)."""
        return self._send(
            Create,
            job_id,
            requested_by,
            mode=Mode(mode),
            drop_destination=drop_destination,
            spec=spec,
        )

    def terminate(self, job_id: str, *, requested_by: str | None = None) -> str:
        return self._send(Terminate, job_id, requested_by)

    def complete_cdc(
        self, job_id: str, *, requested_by: str | None = None, at: datetime | None = None
    ) -> str:
        """Complete CDC now, or at `at`: a future instant with a time zone, within a year."""
        return self._send(CompleteCdc, job_id, requested_by, **({"at": at} if at else {}))

    def cancel_schedule(self, job_id: str, *, requested_by: str | None = None) -> str:
        """Remove the job's scheduled complete_cdc."""
        return self._send(CancelSchedule, job_id, requested_by)

    def pause(self, job_id: str, *, requested_by: str | None = None) -> str:
        """Pause a running job (Pausing, then Paused once the engine confirms)."""
        return self._send(Pause, job_id, requested_by)

    def resume(self, job_id: str, *, requested_by: str | None = None) -> str:
        """Resume a paused job (Resuming, then running again once the engine confirms)."""
        return self._send(Resume, job_id, requested_by)

    def send(self, message: ControlMessage) -> str:
        """Send any control message (runners use this for their reports); return its command_id.

        Returns once the broker has confirmed the write."""
        self.send_many([message])
        return message.command_id

    def send_many(self, messages: list[ControlMessage]) -> None:
        """Send several messages (each keyed by its job id) and wait for all to be confirmed."""
        if not messages:
            return
        producer = self._ensure_producer()
        failures: list[KafkaError] = []

        def delivered(error: KafkaError | None, _message: Any) -> None:
            if error is not None:
                failures.append(error)

        try:
            for message in messages:
                key, value = (
                    message.job_id.encode(),
                    message.model_dump_json(exclude_none=True).encode(),
                )
                headers = signature_headers(*self._signer, key, value) if self._signer else None
                producer.produce(
                    self.topics.control,
                    key=key,
                    value=value,
                    headers=headers,
                    on_delivery=delivered,
                )
                self._remember_sent(message)
        except KafkaException as error:  # a fatal producer error: its cause comes from flush
            failures.append(error.args[0])
        try:
            remaining = producer.flush(15)
        except KafkaException as error:  # the fatal error itself, e.g. not authorized
            failures.insert(0, error.args[0])
            remaining = 0
        if remaining or failures:
            self._fail_delivery(len(messages), failures)

    def _fail_delivery(self, count: int, failures: list[KafkaError]) -> None:
        # After a failure the producer may be unusable (fatal, or about to turn fatal, as an
        # unauthorized idempotent producer does): the next send starts a new one.
        self._producer = None
        reason = failures[0].str() if failures else "timed out"
        where = f"{self.topics.control} at {self.kafka.bootstrap_servers}"
        if "authoriz" in reason.lower():
            raise KafkaUnavailable(
                f"Kafka refused to let user {self.kafka.sasl_username!r} write to {where} "
                f"({reason}); grant the operator ACLs of docs/security.md"
            )
        raise KafkaUnavailable(f"could not deliver {count} message(s) to {where}: {reason}")

    def _remember_sent(self, message: ControlMessage) -> None:
        if message.type not in OPERATOR_COMMAND_TYPES:
            return  # runner reports have no outcome to wait for
        self._sent_at[message.command_id] = datetime.now(UTC)
        if len(self._sent_at) > SENT_COMMANDS_REMEMBERED:
            self._sent_at.popitem(last=False)

    def _send(
        self, kind: type[ControlMessage], job_id: str, requested_by: str | None, **fields: Any
    ) -> str:
        try:
            message = kind(
                command_id=str(uuid.uuid4()),
                job_id=job_id,
                issued_at=datetime.now(UTC),
                requested_by=requested_by or self.requested_by,
                **fields,
            )
        except ValidationError as error:
            problem = error.errors(include_url=False)[0]
            if problem["loc"] == ("job_id",):
                raise InvalidCommand(
                    f"job id {job_id!r} is not valid: use 1 to 128 letters, digits or '-'"
                ) from None
            if (
                problem["loc"][:2] == ("spec", "tables")
                and problem["type"] == "string_pattern_mismatch"
            ):
                raise InvalidCommand(
                    f"table {problem['input']!r} is not valid: "
                    "name it schema.table (e.g. public.orders)"
                ) from None
            raise InvalidCommand(
                f"{'.'.join(map(str, problem['loc']))}: {problem['msg']}"
            ) from None
        return self.send(message)

    def _ensure_producer(self) -> Producer:
        if self._producer is None:
            self.check_connection()
            self._producer = Producer(config.command_producer(self.kafka))
        return self._producer

    def check_connection(self, timeout: float = 5.0) -> None:
        """Raise KafkaUnavailable unless a broker answers within `timeout` seconds, ConfigError
        when it refuses the credentials or the TLS handshake fails."""
        check_connection(self.kafka, timeout)

    # -- reading -------------------------------------------------------------------------------
    def wait_for_outcome(self, command_id: str, timeout: float = 30.0) -> Event:
        """The event that answers an operator command: `StatusChanged` or `CommandRejected`."""
        for event in self.follow(command_id, timeout=timeout):
            return event
        raise OutcomeTimeout(
            f"no outcome for command {command_id} within {timeout:.0f} s; is a worker running?"
        )

    def follow(
        self, command_id: str, timeout: float = 90.0, on_wait: Callable[[float], None] | None = None
    ) -> Iterator[Event]:
        """The command's outcome, then every later event of its job until the command has
        finished (the event that completes it: a stop's final status, a confirmed or expired
        pause or resume) or the job ends.

        Ends early when the command was rejected; stops silently after `timeout` seconds.
        `on_wait(seconds)` is called every few seconds while nothing happens."""
        sent_at = self._sent_at.get(command_id, datetime.now(UTC) - timedelta(minutes=5))
        outcome: Event | None = None
        for event in self._events(since=sent_at - _CLOCK_SKEW, timeout=timeout, on_wait=on_wait):
            if outcome is None:
                if event.command_id != command_id:
                    continue
                outcome = event
                yield event
                if event.type == "command_rejected":
                    return
            elif event.job_id == outcome.job_id and event.type in _FOLLOWED:
                yield event
            else:
                continue
            if event.status is not None and event.status.terminal:
                return
            if getattr(event, "completes_command_id", None) == command_id:
                return

    def select(self, selector: Selector) -> list[JobRecord]:
        """The jobs a bulk command would go to, newest change first (as `list_jobs` orders
        them). Only these are validated as records; `select_ids` gives their ids alone."""
        return list(self.stream_jobs(selector, limit=None))

    def select_ids(self, selector: Selector | Sequence[Selector]) -> list[str]:
        """The ids of the jobs a bulk command would go to, in job id order: one pass over the
        state topic that keeps only the matching jobs' keys and builds no record."""
        index = FleetIndex(_selectors(selector))
        self.check_connection()
        index_topic(self._reader_config(), self.topics.state, index)
        return index.job_ids()

    def send_each(
        self,
        action: str,
        job_ids: Iterable[str],
        *,
        requested_by: str | None = None,
        **fields: Any,
    ) -> dict[str, str]:
        """One `action` (terminate, complete_cdc, pause, resume, cancel_schedule) per job, with
        `fields` (complete_cdc's `at`): job id -> command_id."""
        kind = _ACTIONS.get(action)
        if kind is None:
            raise InvalidCommand(f"{action!r} is not one of {', '.join(_ACTIONS)}")
        return {job_id: self._send(kind, job_id, requested_by, **fields) for job_id in job_ids}

    def finish_all(
        self, command_ids: Collection[str], timeout: float = 90.0
    ) -> dict[str, Event | None]:
        """The event that finishes each command (its rejection, the event that completes it, or
        its job's end), read once from the events topic; None for those unfinished at `timeout`."""
        pending = set(command_ids)
        finished: dict[str, Event | None] = dict.fromkeys(command_ids)
        if not pending:
            return finished
        oldest = min(
            self._sent_at.get(c, datetime.now(UTC) - timedelta(minutes=5)) for c in pending
        )
        answered: dict[str, str] = {}  # job id -> its accepted command, awaiting completion
        for event in self._events(since=oldest - _CLOCK_SKEW, timeout=timeout):
            command_id = event.command_id
            if command_id in pending and event.job_id not in answered:
                if isinstance(event, CommandRejected):
                    finished[command_id] = event
                    pending.discard(command_id)
                    continue
                answered[event.job_id] = command_id
            waiting = answered.get(event.job_id)
            done = isinstance(event, StatusChanged) and (
                event.status.terminal or event.completes_command_id == waiting
            )
            if waiting is not None and waiting in pending and done:
                finished[waiting] = event
                pending.discard(waiting)
            if not pending:
                break
        return finished

    def watch(
        self,
        job_id: str | None = None,
        *,
        since: datetime | None = None,
        timeout: float | None = None,
        on_ready: Callable[[], None] | None = None,
    ) -> Iterator[Event]:
        """Events as they are committed, for one job or all; from `since`, else from now on.

        Stops after `timeout` seconds when one is given. `on_ready()` is called once the
        starting positions are fixed: every event committed after that call is seen."""
        for event in self._events(since=since, timeout=timeout, on_ready=on_ready):
            if job_id is None or event.job_id == job_id:
                yield event

    def _events(
        self,
        since: datetime | None,
        timeout: float | None,
        on_wait: Callable[[float], None] | None = None,
        on_ready: Callable[[], None] | None = None,
    ) -> Iterator[Event]:
        self.check_connection()
        consumer = Consumer(config.reader_consumer(self.kafka, f"syncctl-client-{uuid.uuid4()}"))
        try:
            consumer.assign(self._start_positions(consumer, since))
            if on_ready is not None:
                on_ready()
            started = last_news = time.monotonic()
            stop_at = None if timeout is None else started + timeout
            while stop_at is None or time.monotonic() < stop_at:
                messages = take(consumer, 500, 0.2)
                if messages:
                    last_news = time.monotonic()
                elif on_wait is not None and time.monotonic() - last_news >= _WAIT_NOTICE_SECONDS:
                    last_news = time.monotonic()
                    on_wait(last_news - started)
                for message in messages:
                    if message.error() or message.value() is None:
                        continue
                    try:
                        yield _EVENT.validate_json(message.value())
                    except ValidationError:
                        continue  # not an event of this contract version; not ours to judge
        finally:
            consumer.close()

    def _start_positions(self, consumer: Consumer, since: datetime | None) -> list[TopicPartition]:
        """Where to start reading each events partition: at `since`, or at the end.

        Ends are explicit offsets taken now (never OFFSET_END, which is resolved only at the
        first fetch), so nothing committed after this call can be skipped."""
        topic = self.topics.events
        partitions = self._partitions(topic)
        ends = {
            p: retry_while_not_yet(
                lambda p=p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            )[1]
            for p in partitions
        }
        if since is None:
            return [TopicPartition(topic, p, end) for p, end in ends.items()]
        millis = int(since.timestamp() * 1000)
        wanted = [TopicPartition(topic, p, millis) for p in partitions]
        found = retry_while_not_yet(lambda: consumer.offsets_for_times(wanted, timeout=10))
        # No event at or after `since` in a partition: start at its end.
        return [
            TopicPartition(topic, tp.partition, tp.offset if tp.offset >= 0 else ends[tp.partition])
            for tp in found
        ]

    def _partitions(self, topic: str) -> list[int]:
        metadata = AdminClient(config.common(self.kafka)).list_topics(topic, timeout=10)
        described = metadata.topics.get(topic)
        if described is None or described.error is not None:
            raise KafkaUnavailable(
                f"topic {topic} does not exist at {self.kafka.bootstrap_servers}; has a worker run?"
            )
        return sorted(described.partitions)

    def jobs(self) -> list[JobRecord]:
        """The current record of every job, read from the state topic to its end, in the order
        the jobs were created. It holds the whole fleet: for a large one, `list_jobs` or
        `stream_jobs`."""
        self.check_connection()
        reader = self._reader_config()
        latest: dict[bytes, bytes | None] = {}
        for message in read_to_end(reader, self.topics.state):
            if message.key() is not None:
                latest[message.key()] = message.value()
        records = [
            JobRecord.model_validate_json(value) for value in latest.values() if value is not None
        ]
        return sorted(records, key=lambda record: record.created_at)

    def list_jobs(
        self,
        selector: Selector | Sequence[Selector] | None = None,
        *,
        limit: int | None = DEFAULT_LIMIT,
    ) -> JobPage:
        """The jobs that match `selector` (every one given, when several), newest change first,
        at most `limit` of them (None: all), and how many match in all.

        Newest change first: the job's last status change, else its last update (History's
        LAST CHANGE), latest first; jobs that changed at the same instant in job id order.
        `page.records` are validated `JobRecord`s; `page.total_matching` counts every matching
        job and `page.more` those past the limit; `page.unreadable` counts jobs left out because
        their record is not one this syncctl can read (written by a newer version).

        The state topic is read to its end once, keeping per matching job only its change time
        and where its latest version is (about 280 bytes), and the bytes of the newest 2 x limit
        versions it passes; only the records returned are validated (any not kept are read
        again by offset). At 100,000 jobs (84 MiB of records) that is about 0.9 s of CPU, where
        `jobs()` holds every record as a model; see bench/fleet.py and docs/performance.md.
        """
        return JobPage.of(self.stream_jobs(selector, limit=limit))

    def stream_jobs(
        self,
        selector: Selector | Sequence[Selector] | None = None,
        *,
        limit: int | None = None,
    ) -> JobStream:
        """As `list_jobs`, but an iterable that validates each record only when it is reached,
        for going through a whole fleet without holding its records as models (`--all --json`).

        With `limit=None` the matching jobs' latest versions are held as bytes (about 1 KB a
        job) until each is handed out; with a limit, only their positions.
        """
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be at least 1 (or None for every job), not {limit}")
        selectors = _selectors(selector)
        self.check_connection()
        for attempt in range(1, _LISTING_ATTEMPTS + 1):
            index = FleetIndex(
                selectors,
                keep_values=limit is None,
                keep_newest=min(2 * limit, _KEEP_NEWEST_MAX) if limit is not None else 0,
            )
            index_topic(self._reader_config(), self.topics.state, index)
            chosen = index.ranked(limit)
            if limit is None:
                return JobStream(
                    [entry[4] for entry in chosen], index.total_matching, index.unreadable
                )
            positions = [(entry[2], entry[3]) for entry in chosen]
            found = {p: v for p in positions if (v := index.kept_value(*p)) is not None}
            missing = [position for position in positions if position not in found]
            found.update(read_at(self._reader_config(), self.topics.state, missing))
            # A record missing now was replaced (and cleaned away) since the pass: list again.
            if len(found) == len(positions) or attempt == _LISTING_ATTEMPTS:
                values = [found.get(position) for position in positions]
                return JobStream(values, index.total_matching, index.unreadable)
        raise AssertionError("unreachable")

    def _reader_config(self) -> dict[str, Any]:
        return config.reader_consumer(self.kafka, f"syncctl-client-{uuid.uuid4()}")

    def close(self) -> None:
        """Deliver what was sent, then let the producer go (its threads and connections end
        now, not when the client is collected: no complaints about a broker that stopped)."""
        if self._producer is not None:
            self._producer.flush(15)
            self._producer = None

    def __enter__(self) -> SyncJobsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _selectors(selector: Selector | Sequence[Selector] | None) -> tuple[Selector, ...]:
    if selector is None:
        return ()
    return (selector,) if isinstance(selector, Selector) else tuple(selector)
