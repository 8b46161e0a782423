"""The checkpoint's failure paths, against fakes of the producer and consumer (no broker).

Each test says what a failing Kafka call leads to: what is aborted, rolled back, rewound, and
what is raised to the loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, TopicPartition
from hypothesis import given, settings
from hypothesis import strategies as st

from syncctl.contract import JobRecord, Mode, Status
from syncctl.contract.serialization import to_json
from syncctl.kafka.errors import AbortableKafkaError, FatalKafkaError
from syncctl.settings import TopicSettings
from syncctl.store import StateStore
from syncctl.worker.checkpoint import ABORTS_BEFORE_GIVING_UP, Checkpoint

TOPICS = TopicSettings(control="control", state="state", events="events", dlq="dlq")
NOW = datetime(2026, 11, 28, tzinfo=UTC)
EARLIER = JobRecord(
    job_id="a", mode=Mode.SNAPSHOT, status=Status.SNAPSHOT_RUNNING, created_at=NOW, updated_at=NOW
)


def kafka_error(
    code: int, *, fatal: bool = False, retriable: bool = False, abortable: bool = False
) -> KafkaException:
    return KafkaException(
        KafkaError(
            code, "from the fake", fatal=fatal, retriable=retriable, txn_requires_abort=abortable
        )
    )


class FakeProducer:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.produced: list[tuple[str, bytes | None, bytes | None, dict[str, Any]]] = []
        self.offsets_sent: list[list[tuple[int, int]]] = []
        self.failures: dict[str, list[BaseException]] = {}

    def fail(self, call: str, *errors: BaseException) -> None:
        self.failures.setdefault(call, []).extend(errors)

    def _call(self, name: str) -> None:
        self.calls.append(name)
        pending = self.failures.get(name)
        if pending:
            raise pending.pop(0)

    def begin_transaction(self) -> None:
        self._call("begin")

    def produce(
        self, topic: str, value: bytes | None = None, key: bytes | None = None, **kwargs: Any
    ) -> None:
        self._call("produce")
        self.produced.append((topic, key, value, kwargs))

    def poll(self, timeout: float) -> int:
        self.calls.append("poll")
        return 0

    def send_offsets_to_transaction(
        self, offsets: list[TopicPartition], metadata: Any, timeout: float
    ) -> None:
        self._call("send_offsets")
        self.offsets_sent.append([(tp.partition, tp.offset) for tp in offsets])

    def commit_transaction(self, timeout: float) -> None:
        self._call("commit")

    def abort_transaction(self, timeout: float) -> None:
        self._call("abort")


class FakeConsumer:
    def __init__(self, committed: dict[int, int]) -> None:
        self.committed_offsets = committed
        self.seeks: list[tuple[int, int]] = []

    def consumer_group_metadata(self) -> str:
        return "group-metadata"

    def committed(self, partitions: list[TopicPartition], timeout: float) -> list[TopicPartition]:
        return [
            TopicPartition(tp.topic, tp.partition, self.committed_offsets.get(tp.partition, -1001))
            for tp in partitions
        ]

    def seek(self, partition: TopicPartition) -> None:
        self.seeks.append((partition.partition, partition.offset))


class Outcomes:
    def __init__(self) -> None:
        self.results: list[tuple[str, int]] = []
        self.latency_count = 0

    def transaction(self, result: str, inputs: int = 0) -> None:
        self.results.append((result, inputs))

    def latencies(self, end_to_end: Iterable[float], processing: Iterable[float]) -> None:
        self.latency_count += len(list(end_to_end))


class Rig:
    def __init__(self, ready: set[int] | None = None) -> None:
        self.producer = FakeProducer()
        self.consumer = FakeConsumer({0: 40, 1: 7})
        self.store = StateStore()
        for partition in (0, 1, 2):
            self.store.add_partition(partition)
        self.store.put(0, "a", EARLIER)  # committed by an earlier transaction
        self.record = EARLIER.model_copy(update={"status": Status.CANCELLING, "version": 2})
        self.outcomes = Outcomes()
        self.ready = ready if ready is not None else {0, 1, 2}
        self.checkpoint = Checkpoint(
            self.producer,
            self.consumer,
            self.store,
            TOPICS,
            timeout=10,
            ready_partitions=lambda: self.ready,
            outcomes=self.outcomes,
        )

    def some_work(self) -> None:
        self.checkpoint.write_state(0, "a", None)
        self.checkpoint.write_state(0, "a", self.record)
        self.checkpoint.write_event("a", b"{}")
        self.checkpoint.consumed(0, 41, produced_at=1.0)
        self.checkpoint.consumed(0, 42, produced_at=1.0)


def test_a_commit_writes_each_jobs_last_record_and_the_next_offsets_then_forgets_the_undo_log() -> (
    None
):
    rig = Rig()
    rig.some_work()
    assert rig.store.get(0, "a") == rig.record  # the store has it at once, for the next command
    assert rig.checkpoint.commit() is True

    states = [
        (topic, key, value, kwargs["partition"])
        for topic, key, value, kwargs in rig.producer.produced
        if topic == "state"
    ]
    # One record, the last, on the job's partition.
    assert states == [("state", b"a", to_json(rig.record), 0)]
    assert rig.producer.offsets_sent == [[(0, 43)]]
    assert rig.producer.calls[-1] == "commit"
    assert rig.outcomes.results == [("committed", 2)] and rig.outcomes.latency_count == 2
    assert (
        not rig.checkpoint.open and rig.checkpoint.commit() is True
    )  # nothing open: nothing to do
    # Committed: a later abort puts back only what its own transaction changed.
    rig.checkpoint.write_state(1, "b", EARLIER)
    rig.checkpoint.abort("refused")
    assert rig.store.get(0, "a") == rig.record and rig.store.get(1, "b") is None


@pytest.mark.parametrize(
    "error",
    [
        kafka_error(KafkaError.INVALID_TXN_STATE, abortable=True),
        kafka_error(KafkaError._STATE),  # after an abortable failure, neither fatal nor abortable
    ],
    ids=["abortable", "_STATE"],
)
def test_an_abortable_write_failure_is_aborted_rolled_back_and_rewound(
    error: KafkaException,
) -> None:
    rig = Rig()
    rig.some_work()
    rig.producer.fail("produce", error)
    with pytest.raises(AbortableKafkaError):
        rig.checkpoint.write_event("a", b"{}")

    rig.checkpoint.abort("the write failed")
    assert rig.producer.calls[-1] == "abort" and "commit" not in rig.producer.calls
    assert rig.store.get(0, "a") == EARLIER  # what the changelog holds
    # Every ready partition goes back to its committed offset (none committed: the beginning),
    # also those this transaction had not consumed from: the batch may have been read past them.
    assert rig.consumer.seeks == [(0, 40), (1, 7), (2, OFFSET_BEGINNING)]
    assert rig.outcomes.results == [("aborted", 0)]
    assert not rig.checkpoint.open and rig.checkpoint.aborts_in_a_row == 1


def test_an_abortable_commit_failure_aborts_and_returns_false() -> None:
    rig = Rig()
    rig.some_work()
    rig.producer.fail("send_offsets", kafka_error(KafkaError.ILLEGAL_GENERATION, abortable=True))
    assert rig.checkpoint.commit() is False
    assert rig.producer.calls[-1] == "abort" and "commit" not in rig.producer.calls
    assert rig.store.get(0, "a") == EARLIER
    # Every ready partition reads again from its committed offset (2 has none: the beginning).
    assert rig.consumer.seeks == [(0, 40), (1, 7), (2, OFFSET_BEGINNING)]


def test_a_commit_that_times_out_is_asked_again() -> None:
    rig = Rig()
    rig.some_work()
    timeout = kafka_error(KafkaError._TIMED_OUT, retriable=True)
    rig.producer.fail("commit", timeout, timeout)
    assert rig.checkpoint.commit() is True
    assert rig.producer.calls.count("commit") == 3 and "abort" not in rig.producer.calls


def test_a_commit_that_keeps_timing_out_stops_the_worker() -> None:
    rig = Rig()
    rig.some_work()
    rig.producer.fail("commit", *[kafka_error(KafkaError._TIMED_OUT, retriable=True)] * 5)
    with pytest.raises(FatalKafkaError):
        rig.checkpoint.commit()
    assert rig.producer.calls.count("commit") == 5 and "abort" not in rig.producer.calls


def test_a_fenced_producer_stops_the_worker_without_touching_the_store() -> None:
    rig = Rig()
    rig.some_work()
    rig.producer.fail("commit", kafka_error(KafkaError._FENCED, fatal=True))
    with pytest.raises(FatalKafkaError):
        rig.checkpoint.commit()
    assert "abort" not in rig.producer.calls
    assert rig.consumer.seeks == []  # the worker ends: a new owner restores the changelog


def test_ten_aborts_in_a_row_stop_the_worker_and_a_commit_between_resets_the_count() -> None:
    rig = Rig()
    for _ in range(ABORTS_BEFORE_GIVING_UP - 1):
        rig.some_work()
        rig.checkpoint.abort("refused")
    rig.some_work()
    assert rig.checkpoint.commit() is True
    assert rig.checkpoint.aborts_in_a_row == 0
    for _ in range(ABORTS_BEFORE_GIVING_UP - 1):
        rig.some_work()
        rig.checkpoint.abort("refused")
    rig.some_work()
    with pytest.raises(FatalKafkaError, match="10 transactions in a row were aborted"):
        rig.checkpoint.abort("refused")


def test_an_abort_that_cannot_be_made_stops_the_worker() -> None:
    rig = Rig()
    rig.some_work()
    timeout = kafka_error(KafkaError._TIMED_OUT, retriable=True)
    rig.producer.fail("abort", timeout, kafka_error(KafkaError._FATAL, fatal=True))
    with pytest.raises(FatalKafkaError, match="could not abort"):
        rig.checkpoint.abort("refused")
    assert rig.producer.calls.count("abort") == 2


def test_lost_partitions_abort_the_open_transaction_and_rewind_only_those_still_ours() -> None:
    rig = Rig()
    rig.some_work()
    rig.checkpoint.lose([1])
    assert rig.producer.calls[-1] == "abort" and rig.store.get(0, "a") == EARLIER
    assert rig.consumer.seeks == [(0, 40), (2, OFFSET_BEGINNING)]
    assert rig.checkpoint.aborts_in_a_row == 0, "a lost partition is not the producer's fault"
    rig.checkpoint.lose([0])  # nothing open any more: nothing to abort
    assert rig.producer.calls.count("abort") == 1


def test_a_full_producer_queue_is_drained_and_the_record_produced() -> None:
    rig = Rig()
    rig.producer.fail("produce", BufferError("queue full"))
    rig.checkpoint.write_event("a", b"{}")
    assert rig.producer.calls == ["begin", "produce", "poll", "produce"]
    assert [topic for topic, *_ in rig.producer.produced] == ["events"]


def test_a_failed_begin_is_sorted_like_any_other_transactional_call() -> None:
    rig = Rig()
    rig.producer.fail("begin", kafka_error(KafkaError._FENCED, fatal=True))
    with pytest.raises(FatalKafkaError):
        rig.checkpoint.consumed(0, 1)


def test_due_when_full_when_the_input_ran_dry_or_when_open_long_enough() -> None:
    rig = Rig()
    assert not rig.checkpoint.due(
        batch_max=2, commit_interval=60, input_ran_dry=True
    )  # nothing open
    rig.checkpoint.consumed(0, 1)
    assert not rig.checkpoint.due(batch_max=2, commit_interval=60, input_ran_dry=False)
    assert rig.checkpoint.due(batch_max=2, commit_interval=60, input_ran_dry=True)
    assert rig.checkpoint.due(batch_max=2, commit_interval=0, input_ran_dry=False)
    rig.checkpoint.consumed(0, 2)
    assert rig.checkpoint.due(batch_max=2, commit_interval=60, input_ran_dry=False)


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.one_of(
            st.tuples(
                st.just("write"),
                st.sampled_from([0, 1]),
                st.sampled_from(["a", "b"]),
                st.sampled_from([None, Status.SNAPSHOT_RUNNING, Status.CANCELLING]),
            ),
            st.tuples(st.sampled_from(["commit", "refused commit", "abort"])),
        ),
        max_size=30,
    )
)
def test_between_transactions_the_store_holds_exactly_what_the_changelog_does(
    steps: list[tuple[Any, ...]],
) -> None:
    """Commits, refused commits and aborts in any order: whenever no transaction is open, what
    the next command reads from the store is what a restore from the changelog would give."""
    rig = Rig()
    changelog: dict[tuple[int, str], JobRecord | None] = {(0, "a"): EARLIER}
    for step in steps:
        if step[0] == "write":
            _, partition, job_id, status = step
            record = None if status is None else EARLIER.model_copy(update={"status": status})
            rig.checkpoint.write_state(partition, job_id, record)
            rig.checkpoint.consumed(partition, 100)
            continue
        produced_before = len(rig.producer.produced)
        if step[0] == "refused commit":
            rig.producer.fail("commit", kafka_error(KafkaError.INVALID_TXN_STATE, abortable=True))
        if step[0] == "abort":
            if rig.checkpoint.open:
                rig.checkpoint.abort("refused")
        elif rig.checkpoint.commit():
            for topic, key, value, kwargs in rig.producer.produced[produced_before:]:
                if topic == "state":
                    assert key is not None
                    parsed = None if value is None else JobRecord.model_validate_json(value)
                    changelog[(kwargs["partition"], key.decode())] = parsed
        rig.producer.failures.clear()
        for (partition, job_id), record in changelog.items():
            assert rig.store.get(partition, job_id) == record
        for partition in (0, 1):
            for job_id in ("a", "b"):
                if (partition, job_id) not in changelog:
                    assert rig.store.get(partition, job_id) is None
