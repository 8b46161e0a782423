"""One Kafka transaction at a time: state records, events, dead letters and consumed offsets."""

from __future__ import annotations

import time
from enum import Enum

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from syncctl.contract import JobRecord
from syncctl.contract.headers import FORWARDED_FROM_OFFSET, FORWARDED_FROM_PARTITION
from syncctl.settings import TopicSettings

_ABORT_ATTEMPTS = 3


class CommitResult(Enum):
    COMMITTED = "committed"
    ABORTED = "aborted"


class FatalKafkaError(Exception):
    """This worker can no longer write: it was fenced by a newer instance, or the client failed."""


class Transaction:
    """Everything one transaction writes; `commit()` makes all of it visible, or none of it."""

    def __init__(
        self, producer: Producer, consumer: Consumer, topics: TopicSettings, timeout: float
    ) -> None:
        self._producer = producer
        self._consumer = consumer
        self._topics = topics
        self._timeout = timeout
        self.open = False
        self.opened_at = 0.0
        self.inputs = 0
        self._offsets: dict[int, int] = {}
        self._states: dict[tuple[int, str], JobRecord | None] = {}

    def _begin(self) -> None:
        if not self.open:
            self._guard(self._producer.begin_transaction)
            self.open = True
            self.opened_at = time.monotonic()

    def write_state(self, partition: int, job_id: str, record: JobRecord | None) -> None:
        """Set the job's changelog record; only the last one a transaction sets is written.

        A compacted changelog needs no intermediate values, and a job's commands often share a
        transaction: serializing and producing its record once, at commit, saves both.
        """
        self._begin()
        self._states[(partition, job_id)] = record

    def write_event(self, job_id: str, value: bytes) -> None:
        self._produce(self._topics.events, job_id.encode(), value)

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

    def consumed(self, partition: int, offset: int) -> None:
        """Mark a control message as processed by this transaction."""
        self._begin()
        self._offsets[partition] = offset + 1
        self.inputs += 1

    def _produce(
        self, topic: str, key: bytes | None, value: bytes | None, **kwargs: object
    ) -> None:
        self._begin()
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, **kwargs)
                return
            except BufferError:
                # The local queue is full: let the producer deliver some, then try again.
                self._producer.poll(0.05)
            except KafkaException as error:
                self._raise(error)

    def commit(self) -> CommitResult:
        """Commit offsets and writes; on an abortable error abort instead and say so."""
        if not self.open:
            return CommitResult.COMMITTED
        try:
            for (partition, job_id), record in self._states.items():
                value = record.model_dump_json().encode() if record is not None else None
                self._produce(self._topics.state, job_id.encode(), value, partition=partition)
            if self._offsets:
                offsets = [
                    TopicPartition(self._topics.control, p, o) for p, o in self._offsets.items()
                ]
                self._retrying(
                    lambda: self._producer.send_offsets_to_transaction(
                        offsets, self._consumer.consumer_group_metadata(), self._timeout
                    )
                )
            self._retrying(lambda: self._producer.commit_transaction(self._timeout))
        except AbortableKafkaError:
            self.abort()
            return CommitResult.ABORTED
        self._reset()
        return CommitResult.COMMITTED

    def abort(self) -> None:
        for attempt in range(_ABORT_ATTEMPTS):
            if not self.open:
                break
            try:
                self._producer.abort_transaction(self._timeout)
                break
            except KafkaException as error:
                # A timeout (a broker down, a leader moving) resumes on the next call; anything
                # else, or one timeout too many, leaves nothing to fall back on.
                if error.args[0].retriable() and attempt + 1 < _ABORT_ATTEMPTS:
                    continue
                raise FatalKafkaError(
                    f"could not abort the transaction: {error.args[0].str()}"
                ) from error
        self._reset()

    def _reset(self) -> None:
        self.open = False
        self.inputs = 0
        self._offsets.clear()
        self._states.clear()

    def _retrying(self, call: object) -> None:
        for attempt in range(5):
            try:
                call()  # type: ignore[operator]
                return
            except KafkaException as error:
                kafka_error: KafkaError = error.args[0]
                if kafka_error.retriable() and attempt < 4:
                    continue
                self._raise(error)

    def _guard(self, call: object) -> None:
        try:
            call()  # type: ignore[operator]
        except KafkaException as error:
            self._raise(error)

    @staticmethod
    def _raise(error: KafkaException) -> None:
        kafka_error: KafkaError = error.args[0]
        if kafka_error.fatal():
            raise FatalKafkaError(kafka_error.str()) from error
        # After an abortable failure (e.g. ILLEGAL_GENERATION during a rebalance) librdkafka
        # answers the next produce with _STATE, flagged neither fatal nor abortable: aborting is
        # still what recovers, and abort_transaction() reports it as fatal if it cannot.
        if kafka_error.txn_requires_abort() or kafka_error.code() == KafkaError._STATE:
            raise AbortableKafkaError(kafka_error.str()) from error
        raise FatalKafkaError(kafka_error.str()) from error


class AbortableKafkaError(Exception):
    """The transaction failed in a way that abort-and-retry fixes."""
