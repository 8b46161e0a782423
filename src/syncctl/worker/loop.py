"""The worker's loop: consume commands, apply them, commit state, events and offsets together."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from syncctl.contract import (
    CommandRejected,
    ControlMessage,
    Invalid,
    InvalidCode,
    parse_control_message,
)
from syncctl.contract.messages import OPERATOR_COMMAND_TYPES
from syncctl.contract.signing import signature_problem
from syncctl.kafka import config
from syncctl.kafka.connection import check_connection
from syncctl.kafka.partitioning import partition_for
from syncctl.kafka.topics import ensure_topics, require_partition_count
from syncctl.logging import get_logger
from syncctl.machine import DeadlineReached, MachineInput, Outcome, Rules, Transition, apply
from syncctl.observability import StoreSnapshot, WorkerMetrics
from syncctl.settings import Settings
from syncctl.store import Restorer, StateStore
from syncctl.worker.dead_letters import dead_letter_headers
from syncctl.worker.transaction import (
    AbortableKafkaError,
    CommitResult,
    FatalKafkaError,
    Transaction,
)

log = get_logger("syncctl.worker")
_QUIET_OUTCOMES = {Outcome.RECORDED, Outcome.DUPLICATE, Outcome.NOT_DUE}
# Aborts in a row, with no commit between, after which the producer is taken to be broken.
_ABORTS_BEFORE_GIVING_UP = 10
_METRICS_REFRESH_SECONDS = 2.0
# How often the worker asks whether the control topic's partition count changed under it.
_PARTITION_COUNT_CHECK_SECONDS = 10.0
_LOOP_STALLED_SECONDS = 30.0


class Worker:
    """One member of the worker group. `run()` blocks until `stop()` or a fatal error."""

    def __init__(self, settings: Settings, metrics: WorkerMetrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or WorkerMetrics()
        worker = settings.worker
        self._rules = Rules(
            stop_deadline=timedelta(seconds=worker.stop_deadline),
            history_limit=worker.history_limit,
        )
        self._topics = settings.topics
        signing = settings.signing
        self._signing_secrets = signing.secrets() if signing.required else None
        self._sign_all = signing.scope == "all"
        # Counting jobs by status costs restore time: only when something will read the gauge.
        self._store = StateStore(count_statuses=metrics is not None)
        self._ready: set[int] = set()
        self._stopping = False
        self._fatal = False
        self._next_deadline_check = 0.0
        self._aborts_in_a_row = 0
        self._assigned_once = False
        self._last_turn = 0.0
        self._next_metrics_refresh = 0.0
        self._next_partition_count_check = 0.0
        # Partitions of the control (and state) topic: where each job id belongs.
        self._partition_count = 0
        self._warned_forwarding = False
        # (produced at, read at) of each control message in the open transaction, epoch seconds.
        self._input_times: list[tuple[float, float]] = []
        self._consumer: Consumer | None = None
        self._producer: Producer | None = None
        self._restorer: Restorer | None = None
        self._transaction: Transaction | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the loop to finish the open transaction, leave the group and return."""
        self._stopping = True

    def run(self) -> None:
        kafka, worker = self.settings.kafka, self.settings.worker
        check_connection(kafka, timeout=30)
        partitions = ensure_topics(AdminClient(config.common(kafka)), self._topics)
        self._partition_count = partitions
        self._producer = Producer(config.transactional_producer(kafka, worker))
        self._consumer = Consumer(config.worker_consumer(kafka, worker))
        self._restorer = Restorer(
            config.restore_consumer(kafka, worker),
            self._topics.state,
            on_restored=lambda _partition, seconds: self.metrics.restore_duration.observe(seconds),
            partition_count=partitions,
        )
        timeout = worker.transaction_timeout_ms / 1000
        self._transaction = Transaction(self._producer, self._consumer, self._topics, timeout)
        try:
            # Fences any earlier incarnation with our transactional.id and aborts what it left open.
            self._producer.init_transactions(timeout * 3)
        except Exception as error:
            raise FatalKafkaError(f"could not initialise transactions: {error}") from error
        self._consumer.subscribe(
            [self._topics.control],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        log.info(
            "worker started",
            group_id=worker.group_id,
            transactional_id=f"{worker.group_id}-{worker.instance_id}",
            partitions=partitions,
            control_topic=self._topics.control,
        )
        try:
            while not self._stopping:
                self._iterate()
            self._commit()
        except FatalKafkaError as error:
            self._fatal = True
            log.error("worker stopping: this worker can no longer write to Kafka", error=str(error))
            raise
        finally:
            self._consumer.close()
            self._restorer.close()
            self._producer.flush(5)
            log.info("worker stopped")

    # -- one turn of the loop ----------------------------------------------------------------
    def _iterate(self) -> None:
        assert self._consumer and self._restorer and self._transaction
        self._last_turn = time.monotonic()
        if self._last_turn >= self._next_metrics_refresh:
            self._refresh_metrics()
        if self._last_turn >= self._next_partition_count_check:
            self._check_partition_count()
        if self._restorer.busy:
            self._mark_ready(self._restorer.step(timeout=0.01))
        wait = 0.0 if self._transaction.open or self._restorer.busy else self._idle_wait()
        first = self._consumer.poll(wait)
        batch = [first] if first is not None else []
        if first is not None:
            batch += self._consumer.consume(self.settings.worker.batch_max - 1, 0)
        now = datetime.now(UTC)
        try:
            self._process(batch, now)
            self._fire_deadlines(now)
        except AbortableKafkaError as error:
            # A write of this transaction failed: none of it may count, so all of it is redone.
            log.warning("transaction failed; aborting it", error=str(error))
            self._transaction.abort()
            self._aborted()
            return
        worker = self.settings.worker
        transaction = self._transaction
        if transaction.open and (
            transaction.inputs >= worker.batch_max
            or len(batch) < worker.batch_max  # the input ran dry
            or time.monotonic() - transaction.opened_at >= worker.commit_interval_ms / 1000
        ):
            self._commit()

    def _idle_wait(self) -> float:
        return self.settings.worker.deadline_check_interval_ms / 1000

    def _process(self, batch: list[Message], now: datetime) -> None:
        assert self._consumer and self._transaction
        held: set[int] = set()
        for message in batch:
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    log.warning("consumer error", error=error.str(), partition=message.partition())
                continue
            partition = message.partition()
            if partition in held:
                continue
            if partition not in self._ready:
                held.add(partition)
                if partition in self._store.partitions():
                    # Fetched before the partition was paused for restore: read it again later.
                    self._consumer.seek(
                        TopicPartition(message.topic(), partition, message.offset())
                    )
                # else: revoked while this batch was read; its new owner processes it.
                continue
            self._handle(message, partition, now)

    def _handle(self, message: Message, partition: int, now: datetime) -> None:
        assert self._transaction
        parsed = parse_control_message(message.key(), message.value())
        if self._signing_secrets is not None and not isinstance(parsed, Invalid):
            parsed = self._check_signature(message, parsed)
        if isinstance(parsed, Invalid):
            self.metrics.dead_letter(parsed.code.value)
            self._transaction.write_dead_letter(
                message.key(), message.value(), dead_letter_headers(message, parsed)
            )
            log.warning(
                "invalid control message sent to the dead-letter topic",
                partition=partition,
                offset=message.offset(),
                code=parsed.code.value,
                reason=parsed.message,
            )
        elif (
            self._partition_count > 1
            and (home := partition_for(message.key(), self._partition_count)) != partition
        ):
            # A valid message's key is its job id, and the job's record lives on the id's partition.
            self._forward(message, home)
            self._transaction.consumed(partition, message.offset())
            return  # its latency counts where it is applied
        else:
            self._apply(partition, parsed, now)
        self._transaction.consumed(partition, message.offset())
        self._input_times.append((message.timestamp()[1] / 1000, time.time()))

    def _forward(self, message: Message, home: int) -> None:
        """A producer put this message on another partition than its key's: the job's record is
        not here, so applying it would answer for the wrong record. It moves, in this transaction."""
        assert self._transaction
        self._transaction.forward(message, home)
        self.metrics.forwarded.labels(str(message.partition())).inc()
        if not self._warned_forwarding:
            self._warned_forwarding = True
            log.warning(
                "control messages on the wrong partition for their key are forwarded to the right "
                "one; a producer is not using the Java-compatible partitioner (librdkafka: "
                "partitioner=murmur2_random)",
                partition=message.partition(),
                offset=message.offset(),
                to_partition=home,
            )

    def _check_partition_count(self) -> None:
        """A running worker computes each job's partition from the count it started with: if the
        control topic grew since, it must stop rather than send jobs to the wrong records."""
        assert self._consumer
        self._next_partition_count_check = self._last_turn + _PARTITION_COUNT_CHECK_SECONDS
        require_partition_count(self._consumer, self._topics, self._partition_count)

    def _check_signature(
        self, message: Message, parsed: ControlMessage
    ) -> ControlMessage | Invalid:
        assert self._signing_secrets is not None
        if not self._sign_all and parsed.type not in OPERATOR_COMMAND_TYPES:
            return parsed
        problem = signature_problem(
            self._signing_secrets, message.headers(), message.key(), message.value() or b""
        )
        return parsed if problem is None else Invalid(InvalidCode.BAD_SIGNATURE, problem)

    def _apply(self, partition: int, message: MachineInput, now: datetime) -> None:
        assert self._transaction
        job_id = message.job_id
        before = self._store.get(partition, job_id)
        transition = apply(before, message, now, self._rules)
        if transition.record is not before:
            self._store.put(partition, job_id, transition.record)
            self._transaction.write_state(partition, job_id, transition.record)
        for event in transition.events:
            self._transaction.write_event(job_id, event.model_dump_json().encode())
            if isinstance(event, CommandRejected):
                self.metrics.rejected(event.code.value)
        self.metrics.command(message.type, transition.outcome.value)
        self._log(partition, message, transition)

    def _log(self, partition: int, message: MachineInput, transition: Transition) -> None:
        level = logging.DEBUG if transition.outcome in _QUIET_OUTCOMES else logging.INFO
        if not log.is_enabled_for(level):
            return  # building the line costs more than applying the command
        emit = log.debug if level == logging.DEBUG else log.info
        command_id = getattr(message, "command_id", None)
        if command_id is None and transition.events:
            command_id = transition.events[0].command_id  # a deadline names the stop it ends
        emit(
            f"{message.type} {transition.outcome.value}",
            job_id=message.job_id,
            command_id=command_id,
            partition=partition,
            status=transition.record.status.value if transition.record else None,
            note=transition.note,
            rejected=next(
                (e.code.value for e in transition.events if isinstance(e, CommandRejected)), None
            ),
        )

    def _fire_deadlines(self, now: datetime) -> None:
        if time.monotonic() < self._next_deadline_check:
            return
        self._next_deadline_check = time.monotonic() + self._idle_wait()
        for partition, job_id in self._store.due(now, self._ready):
            self._apply(partition, DeadlineReached(job_id), now)

    # -- transactions ------------------------------------------------------------------------
    def _commit(self) -> None:
        assert self._transaction
        inputs = self._transaction.inputs
        if self._transaction.commit() is CommitResult.COMMITTED:
            self._store.commit()
            self._aborts_in_a_row = 0
            self.metrics.transaction("committed", inputs)
            committed_at = time.time()
            times, self._input_times = self._input_times, []
            self.metrics.latencies(
                (committed_at - produced for produced, _ in times),
                (committed_at - read for _, read in times),
            )
        else:
            self._aborted()

    def _aborted(self) -> None:
        self._count_abort()
        self._aborts_in_a_row += 1
        if self._aborts_in_a_row >= _ABORTS_BEFORE_GIVING_UP:
            raise FatalKafkaError(f"{self._aborts_in_a_row} transactions in a row were aborted")
        self._rewind()

    def _count_abort(self) -> None:
        self.metrics.transaction("aborted")
        self._input_times.clear()  # none of them will be committed

    def _rewind(self) -> None:
        """After an abort: the store forgets the transaction, the consumer rereads its input."""
        assert self._consumer
        self._store.rollback()
        ready = [TopicPartition(self._topics.control, p) for p in sorted(self._ready)]
        if not ready:
            return
        for tp in self._consumer.committed(ready, timeout=30):
            offset = tp.offset if tp.offset >= 0 else OFFSET_BEGINNING
            self._consumer.seek(TopicPartition(tp.topic, tp.partition, offset))
        log.warning(
            "transaction aborted; rewound to the committed offsets", partitions=sorted(self._ready)
        )

    # -- rebalance callbacks (run inside poll) -----------------------------------------------
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        assert self._restorer
        self._assigned_once = True
        consumer.incremental_assign(partitions)
        if not partitions:
            return
        if max(tp.partition for tp in partitions) >= self._partition_count:
            # The topic grew: none of it is processed, and the next turn stops the worker.
            consumer.pause(partitions)
            self._next_partition_count_check = 0.0
            return
        # Nothing of a partition is processed before its state is back.
        consumer.pause(partitions)
        numbers = [tp.partition for tp in partitions]
        states = [self._store.add_partition(n) for n in numbers]
        log.info("partitions assigned; restoring state", partitions=numbers)
        self._mark_ready(self._restorer.start(states))

    def _mark_ready(self, numbers: list[int]) -> None:
        if not numbers or self._consumer is None:
            return
        self._ready.update(numbers)
        self._consumer.resume([TopicPartition(self._topics.control, n) for n in numbers])
        log.info("partitions ready", partitions=sorted(numbers))
        if self._restorer is not None and not self._restorer.busy:
            log.info("all assigned partitions ready", partitions=sorted(self._ready))

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Finish what was read from these partitions before they go to another worker.
        if self._transaction and self._transaction.open and not self._fatal:
            self._commit()
        self._forget(consumer, partitions)

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Another worker may own these already: nothing of ours may be committed for them.
        if self._transaction and self._transaction.open and not self._fatal:
            self._transaction.abort()
            self._count_abort()
            self._forget(consumer, partitions)
            self._rewind()
        else:
            self._forget(consumer, partitions)

    def _forget(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        assert self._restorer
        numbers = [tp.partition for tp in partitions]
        self._restorer.cancel(numbers)
        for number in numbers:
            self._ready.discard(number)
            self._store.drop_partition(number)
        consumer.incremental_unassign(partitions)
        if numbers:
            log.info("partitions revoked", partitions=numbers)

    # -- what operators see ------------------------------------------------------------------
    def readiness(self) -> tuple[bool, str]:
        """Ready: in the group, every assigned partition restored, and the loop turning."""
        if self._stopping:
            return False, "stopping"
        if not self._assigned_once:
            return False, "waiting for the group to assign partitions"
        if self._restorer is not None and self._restorer.busy:
            return False, "restoring state"
        stalled = time.monotonic() - self._last_turn
        if stalled > _LOOP_STALLED_SECONDS:
            return False, f"the loop has not turned for {stalled:.0f} s"
        return True, f"processing {len(self._ready)} partitions"

    def _refresh_metrics(self) -> None:
        assert self._consumer
        self._next_metrics_refresh = self._last_turn + _METRICS_REFRESH_SECONDS
        lag: dict[int, int] = {}
        ready = [TopicPartition(self._topics.control, p) for p in sorted(self._ready)]
        for tp in self._consumer.position(ready) if ready else []:
            if tp.offset < 0:
                continue  # nothing read yet: no position to measure from
            _, high = self._consumer.get_watermark_offsets(tp, cached=True)
            if high >= 0:
                lag[tp.partition] = max(0, high - tp.offset)
        self.metrics.store(
            StoreSnapshot(
                jobs_by_status=self._store.statuses(),
                pending_stops=self._store.pending_stops(),
                lag_by_partition=lag,
            )
        )
