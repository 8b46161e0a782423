"""The open transaction and everything that must commit or vanish with it.

A checkpoint is one Kafka transaction: the records, events, dead letters and forwarded
commands it produced, the control offsets it consumed, and the store's changes since the last
commit (a record is written once, through `write_state`, into the store and, at commit, the
changelog). `commit()` makes all of it count; when Kafka refuses, all of it is undone: the
transaction is aborted, the store's changes put back, the consumer rewound to the committed
offsets, so that the same input is applied again. Too many aborts in a row mean the producer is
broken, and the worker stops (FatalKafkaError).

    idle --write/consumed--> open --commit ok--> idle
                               |--abortable error--> aborted: rollback, rewind --> idle
                               |--fatal error, 10th abort in a row--> FatalKafkaError

Kafka is reached through two narrow protocols, so that every failure path runs in unit tests
against fakes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from typing import Any, Protocol

from confluent_kafka import OFFSET_BEGINNING, KafkaException, Message, TopicPartition

from syncctl.contract import JobRecord
from syncctl.contract.headers import FORWARDED_FROM_OFFSET, FORWARDED_FROM_PARTITION
from syncctl.contract.serialization import to_json
from syncctl.kafka.errors import AbortableKafkaError, FatalKafkaError, transaction_failure
from syncctl.kafka.producing import produce_with_room
from syncctl.kafka.retry import ABORT, TRANSACTION_CALL, retry
from syncctl.logging import get_logger
from syncctl.settings import TopicSettings

log = get_logger("syncctl.worker")
# Aborts in a row, with no commit between, after which the producer is taken to be broken.
ABORTS_BEFORE_GIVING_UP = 10


class TransactionalProducer(Protocol):
    def begin_transaction(self) -> None: ...
    def produce(
        self, topic: str, value: bytes | None = None, key: bytes | None = None, **kwargs: Any
    ) -> None: ...
    def poll(self, timeout: float) -> int: ...
    def send_offsets_to_transaction(
        self, offsets: list[TopicPartition], metadata: Any, timeout: float
    ) -> None: ...
    def commit_transaction(self, timeout: float) -> None: ...
    def abort_transaction(self, timeout: float) -> None: ...


class InputConsumer(Protocol):
    def consumer_group_metadata(self) -> Any: ...
    def committed(
        self, partitions: list[TopicPartition], timeout: float
    ) -> list[TopicPartition]: ...
    def seek(self, partition: TopicPartition) -> None: ...


class RecordStore(Protocol):
    def put(self, partition: int, job_id: str, record: JobRecord | None) -> JobRecord | None: ...
    def put_back(self, partition: int, job_id: str, record: JobRecord | None) -> None: ...


class Outcomes(Protocol):
    """Where a checkpoint reports what became of its transactions (WorkerMetrics)."""

    def transaction(self, result: str, inputs: int = 0) -> None: ...
    def latencies(self, end_to_end: Iterable[float], processing: Iterable[float]) -> None: ...


class Checkpoint:
    def __init__(
        self,
        producer: TransactionalProducer,
        consumer: InputConsumer,
        store: RecordStore,
        topics: TopicSettings,
        timeout: float,
        ready_partitions: Callable[[], Collection[int]],
        outcomes: Outcomes,
    ) -> None:
        self._producer = producer
        self._consumer = consumer
        self._store = store
        self._topics = topics
        self._events_topic = topics.events
        self._timeout = timeout
        self._ready_partitions = ready_partitions
        self._outcomes = outcomes
        self.open = False
        self.opened_at = 0.0
        self.inputs = 0
        self.aborts_in_a_row = 0
        self._offsets: dict[int, int] = {}
        # Each job the transaction changed: (its record before the transaction, its record now).
        self._changes: dict[tuple[int, str], tuple[JobRecord | None, JobRecord | None]] = {}
        # When each applied control message was produced, and read, in epoch seconds.
        self._produced_at: list[float] = []
        self._read_at: list[float] = []

    # -- what a transaction holds --------------------------------------------------------------
    def write_state(self, partition: int, job_id: str, record: JobRecord | None) -> None:
        """Set the job's record: in the store now, in the changelog at commit (an abort puts the
        store back). Only the last record a transaction sets is produced: a compacted changelog
        needs no intermediate values, and a job's commands often share a transaction, so
        serializing and producing its record once, at commit, saves both.
        """
        if not self.open:  # a call less per command
            self._begin()
        previous = self._store.put(partition, job_id, record)
        key = (partition, job_id)
        before = self._changes[key][0] if key in self._changes else previous
        self._changes[key] = (before, record)

    def write_event(self, job_id: str, value: bytes) -> None:
        # Written out rather than through `_produce`: one per command, and its keyword layers
        # (and the settings' attribute reads) cost a percent of a command.
        if not self.open:
            self._begin()
        try:
            produce_with_room(self._producer, self._events_topic, value=value, key=job_id.encode())
        except KafkaException as error:
            raise transaction_failure(error) from error

    def write_dead_letter(
        self, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        self._produce(self._topics.dlq, key, value, headers=headers)

    def forward(self, message: Message, partition: int) -> None:
        """Put a control message that sits on the wrong partition onto `partition`, unchanged.

        It commits with the offset that consumes the original, so it is neither lost nor doubled;
        its timestamp is kept, so its latency counts from when its producer sent it.
        """
        headers = [
            *(message.headers() or []),
            (FORWARDED_FROM_PARTITION, str(message.partition()).encode()),
            (FORWARDED_FROM_OFFSET, str(message.offset()).encode()),
        ]
        self._produce(
            self._topics.control,
            message.key(),
            message.value(),
            partition=partition,
            headers=headers,
            timestamp=message.timestamp()[1],
        )

    def consumed(self, partition: int, offset: int, produced_at: float | None = None) -> None:
        """Mark a control message as processed; `produced_at` (epoch s) times its latency."""
        if not self.open:  # a call less per command
            self._begin()
        self._offsets[partition] = offset + 1
        self.inputs += 1
        if produced_at is not None:
            self._produced_at.append(produced_at)
            self._read_at.append(time.time())

    def due(self, batch_max: int, commit_interval: float, input_ran_dry: bool) -> bool:
        """Commit now: the batch is full, nothing more waits, or it has been open long enough."""
        return self.open and (
            self.inputs >= batch_max
            or input_ran_dry
            or time.monotonic() - self.opened_at >= commit_interval
        )

    # -- its end -------------------------------------------------------------------------------
    def commit(self) -> bool:
        """Commit all of it; False if Kafka refused and it was undone instead (see `abort`)."""
        if not self.open:
            return True
        inputs = self.inputs
        try:
            for (partition, job_id), (_, record) in self._changes.items():
                value = to_json(record) if record is not None else None
                self._produce(self._topics.state, job_id.encode(), value, partition=partition)
            if self._offsets:
                offsets = [
                    TopicPartition(self._topics.control, p, o) for p, o in self._offsets.items()
                ]
                metadata = self._consumer.consumer_group_metadata()
                self._transactional(
                    lambda: self._producer.send_offsets_to_transaction(
                        offsets, metadata, self._timeout
                    )
                )
            self._transactional(lambda: self._producer.commit_transaction(self._timeout))
        except AbortableKafkaError as error:
            self.abort(str(error))
            return False
        self.aborts_in_a_row = 0
        committed_at = time.time()
        produced, read = self._produced_at, self._read_at
        self._produced_at, self._read_at = [], []
        self._reset()
        self._outcomes.transaction("committed", inputs)
        self._outcomes.latencies(
            [committed_at - moment for moment in produced],
            [committed_at - moment for moment in read],
        )
        return True

    def abort(self, reason: str) -> None:
        """Kafka refused a write or the commit: undo everything, and read the input again.

        Raises FatalKafkaError when the abort itself fails, or after too many in a row.
        """
        log.warning("transaction failed; aborting it", error=reason)
        self._abort_transaction()
        self.aborts_in_a_row += 1
        if self.aborts_in_a_row >= ABORTS_BEFORE_GIVING_UP:
            raise FatalKafkaError(f"{self.aborts_in_a_row} transactions in a row were aborted")
        self._rewind(exclude=())

    def lose(self, partitions: Collection[int]) -> None:
        """Partitions were lost (another worker may own them): nothing of this transaction may
        commit. Aborted without counting towards giving up: the producer is not at fault."""
        if not self.open:
            return
        self._abort_transaction()
        self._rewind(exclude=partitions)

    # -- inside --------------------------------------------------------------------------------
    def _begin(self) -> None:
        if not self.open:
            try:
                self._producer.begin_transaction()
            except KafkaException as error:
                raise transaction_failure(error) from error
            self.open = True
            self.opened_at = time.monotonic()

    def _produce(self, topic: str, key: bytes | None, value: bytes | None, **kwargs: Any) -> None:
        self._begin()
        try:
            produce_with_room(self._producer, topic, value=value, key=key, **kwargs)
        except KafkaException as error:
            raise transaction_failure(error) from error

    def _transactional(self, call: Callable[[], None]) -> None:
        try:
            retry(call, TRANSACTION_CALL)
        except KafkaException as error:
            raise transaction_failure(error) from error

    def _abort_transaction(self) -> None:
        if self.open:
            try:
                retry(lambda: self._producer.abort_transaction(self._timeout), ABORT)
            except KafkaException as error:
                raise FatalKafkaError(
                    f"could not abort the transaction: {error.args[0].str()}"
                ) from error
        self._produced_at.clear()  # none of them will be committed
        self._read_at.clear()
        for (partition, job_id), (before, _) in self._changes.items():
            self._store.put_back(partition, job_id, before)
        self._reset()
        self._outcomes.transaction("aborted")

    def _rewind(self, exclude: Collection[int]) -> None:
        """The consumer reads again from the committed offsets (of every ready partition: a
        failed batch may have been read past its last consumed message)."""
        ready = [
            TopicPartition(self._topics.control, p)
            for p in sorted(self._ready_partitions())
            if p not in exclude
        ]
        if not ready:
            return
        for tp in self._consumer.committed(ready, timeout=30):
            offset = tp.offset if tp.offset >= 0 else OFFSET_BEGINNING
            self._consumer.seek(TopicPartition(tp.topic, tp.partition, offset))
        log.warning(
            "transaction aborted; rewound to the committed offsets",
            partitions=[tp.partition for tp in ready],
        )

    def _reset(self) -> None:
        self.open = False
        self.inputs = 0
        self._offsets.clear()
        self._changes.clear()
