"""The bare transactional pipe: the worker's batching and transactions, with no syncctl logic.

Baseline for the worker's throughput. It uses the worker's own client configurations (from
syncctl.kafka.config: read_committed, cooperative-sticky, linger.ms=2, the same transactional.id
scheme, ...) and the worker's batching: poll for the first message (waiting only when no
transaction is open), consume(batch_max - 1, 0) for the rest, one output record per input,
send_offsets_to_transaction with the group metadata, and commit when the batch is full, when
the input ran dry or when the transaction has been open for commit_interval_ms. It never
parses a message, never keeps state and writes no state record. Run as a child process:

    python -m bench.pipe BOOTSTRAP INPUT_TOPIC OUTPUT_TOPIC GROUP_ID INSTANCE_ID [--also TOPIC]

`--also TOPIC` also copies each input to TOPIC, on the input's partition number: the Kafka work
the worker does for a `create` (an event, and the job's record on its state partition), with
none of its Python.
"""

from __future__ import annotations

import argparse
import signal
import time
from types import FrameType

from confluent_kafka import Consumer, Message, Producer, TopicPartition

from bench.common import produce
from syncctl.kafka import config
from syncctl.settings import KafkaSettings, WorkerSettings


class Pipe:
    def __init__(
        self,
        bootstrap: str,
        source: str,
        sink: str,
        group_id: str,
        instance_id: str,
        also: str | None = None,
    ) -> None:
        kafka = KafkaSettings(bootstrap_servers=bootstrap)
        self.settings = WorkerSettings(group_id=group_id, instance_id=instance_id)
        self.source, self.sink, self.also = source, sink, also
        self.producer = Producer(config.transactional_producer(kafka, self.settings))
        self.consumer = Consumer(config.worker_consumer(kafka, self.settings))
        self.stopping = False
        self.open = False
        self.opened_at = 0.0
        self.inputs = 0
        self.offsets: dict[int, int] = {}

    def run(self, max_seconds: float) -> None:
        timeout = self.settings.transaction_timeout_ms / 1000
        self.producer.init_transactions(timeout * 3)
        self.consumer.subscribe([self.source])
        batch_max = self.settings.batch_max
        idle_wait = self.settings.deadline_check_interval_ms / 1000  # the worker's idle poll
        interval = self.settings.commit_interval_ms / 1000
        deadline = time.monotonic() + max_seconds
        try:
            while not self.stopping and time.monotonic() < deadline:
                first = self.consumer.poll(0.0 if self.open else idle_wait)
                batch = [first] if first is not None else []
                if first is not None:
                    batch += self.consumer.consume(batch_max - 1, 0)
                for message in batch:
                    if message.error() is None:
                        self._copy(message)
                if self.open and (
                    self.inputs >= batch_max
                    or len(batch) < batch_max
                    or time.monotonic() - self.opened_at >= interval
                ):
                    self._commit(timeout)
            self._commit(timeout)
        finally:
            self.consumer.close()
            self.producer.flush(5)

    def _copy(self, message: Message) -> None:
        if not self.open:
            self.producer.begin_transaction()
            self.open, self.opened_at = True, time.monotonic()
        partition, offset = message.partition(), message.offset()
        assert partition is not None and offset is not None  # a consumed record has both
        key, value = message.key(), message.value()
        produce(self.producer, self.sink, key, value)
        if self.also is not None:
            produce(self.producer, self.also, key, value, partition=partition)
        self.offsets[partition] = offset + 1
        self.inputs += 1

    def _commit(self, timeout: float) -> None:
        if not self.open:
            return
        offsets = [TopicPartition(self.source, p, o) for p, o in self.offsets.items()]
        self.producer.send_offsets_to_transaction(
            offsets, self.consumer.consumer_group_metadata(), timeout
        )
        self.producer.commit_transaction(timeout)
        self.open, self.inputs = False, 0
        self.offsets.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("bootstrap", "source", "sink", "group_id", "instance_id"):
        parser.add_argument(name)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    parser.add_argument("--also", help="also copy each input to this topic (same partition)")
    args = parser.parse_args()
    pipe = Pipe(args.bootstrap, args.source, args.sink, args.group_id, args.instance_id, args.also)

    def request_stop(signum: int, frame: FrameType | None) -> None:
        pipe.stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    pipe.run(args.max_seconds)


if __name__ == "__main__":
    main()
