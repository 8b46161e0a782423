"""Read every partition of a topic from its beginning to the end it had when reading began."""

from __future__ import annotations

import time
from collections.abc import Iterator

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from syncctl.errors import KafkaUnavailable
from syncctl.kafka.retry import retry_while_not_yet


def read_to_end(consumer: Consumer, topic: str, timeout: float = 60.0) -> Iterator[Message]:
    """Every record of `topic` up to the end offsets taken now, partition by partition in order.

    Done is decided by the consumer's position, not by seeing offset `end - 1`: in a topic written
    in transactions the last offset is often a commit marker. A read_committed consumer stops at
    an open transaction until it is resolved, which `timeout` bounds.
    """
    metadata = consumer.list_topics(topic, timeout=10)
    described = metadata.topics.get(topic)
    if described is None or described.error is not None:
        return
    ends: dict[int, int] = {}
    for partition in sorted(described.partitions):
        tp = TopicPartition(topic, partition)
        low, high = retry_while_not_yet(
            lambda tp=tp: consumer.get_watermark_offsets(tp, timeout=10)
        )
        if high > low:
            ends[partition] = high
    if not ends:
        return
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
    deadline = time.monotonic() + timeout
    while ends:
        for message in consumer.consume(5000, 0.2):
            error = message.error()
            if error is None:
                yield message
            elif error.code() != KafkaError._PARTITION_EOF:
                raise KafkaException(error)
        for tp in consumer.position([TopicPartition(topic, p) for p in ends]):
            if tp.offset >= ends[tp.partition]:
                del ends[tp.partition]
        if ends and time.monotonic() > deadline:
            raise KafkaUnavailable(
                f"could not read {topic} to its end within {timeout:.0f} s (partitions "
                f"{sorted(ends)}); an open transaction of a stopped worker holds it until it times out"
            )
