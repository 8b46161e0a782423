"""Reading a topic to its end: where it ends now, and when a reader has got there.

Every "read it all" in syncctl (the worker's restore, `syncctl jobs`, the console's feed,
`relocate-state`, the tests) goes through these, because two details are easy to get wrong:

- The end is the high watermark, asked for by a `read_uncommitted` client. A `read_committed`
  one answers with the last stable offset, which a dead writer's still-open transaction holds
  back: records committed after that transaction would be left out.
- Done is decided by the reader's *position*, never by seeing the record at `end - 1`: in a
  topic written in transactions the last offsets are commit markers, not records. A
  `read_committed` reader's position passes an open transaction only once the broker has
  resolved it (at the latest after its writer's transaction timeout).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from syncctl.errors import KafkaUnavailable
from syncctl.kafka.errors import check_consumer_error
from syncctl.kafka.retry import retry_while_not_yet
from syncctl.logging import get_logger

log = get_logger(__name__)


def watermark_reader(consumer_config: dict[str, Any]) -> Consumer:
    """A client that can tell where partitions end (see the module's docstring)."""
    return Consumer({**consumer_config, "isolation.level": "read_uncommitted"})


def partitions_of(client: Consumer, topic: str) -> list[int] | None:
    """The topic's partitions, or None if it does not exist (yet)."""
    described = client.list_topics(topic, timeout=10).topics.get(topic)
    if described is None or described.error is not None or not described.partitions:
        return None
    return sorted(described.partitions)


def take(consumer: Consumer, max_messages: int, timeout: float) -> list[Message]:
    """Up to `max_messages` records that are there now, waiting at most `timeout` for the first.

    `Consumer.consume(n, timeout)` returns only once it has n records or the timeout has
    passed, so a follower that asks for 500 with a 0.2 s timeout sees a lone record up to
    0.2 s late (and a reader's last batch always costs the whole timeout).
    """
    first = consumer.consume(1, timeout)
    if not first or max_messages == 1:
        return first
    return first + consumer.consume(max_messages - 1, 0)


def look_up(consumer: Consumer, topic: str, timeout: float = 10.0) -> None:
    """Have `consumer` fetch `topic`'s metadata now, before it is assigned partitions of it.

    A client that has not looked the topic up yet starts fetching about a second after
    `assign` (measured with librdkafka 2.16 on a local broker: first record after 1.0-1.1 s,
    against 40-70 ms once the metadata is there); a restore or a `syncctl jobs` would wait for
    that every time.
    """
    consumer.list_topics(topic, timeout=timeout)


def end_offsets(
    reader: Consumer, topic: str, partitions: Iterable[int], timeout: float = 30.0
) -> dict[int, tuple[int, int]]:
    """(low, high) watermark of each partition; `reader` comes from `watermark_reader`."""
    found = {}
    for partition in partitions:
        tp = TopicPartition(topic, partition)
        # Right after a topic is created, or while leadership moves, the broker answers "not
        # leader" for a moment: a reason to ask again, not to fail.
        low, high = retry_while_not_yet(
            lambda tp=tp: reader.get_watermark_offsets(
                tp, timeout=max(1.0, timeout / 10), cached=False
            ),
            timeout=timeout,
        )
        found[partition] = (int(low), int(high))
    return found


def unread(consumer: Consumer, topic: str, ends: dict[int, int]) -> set[int]:
    """The partitions whose end `consumer` has not read up to yet."""
    if not ends:
        return set()
    positions = consumer.position([TopicPartition(topic, p) for p in ends])
    return {tp.partition for tp in positions if tp.offset < ends[tp.partition]}


def read_to_end(
    consumer_config: dict[str, Any],
    topic: str,
    timeout: float = 60.0,
    *,
    committed_only: bool = False,
) -> Iterator[Message]:
    """Every record of `topic` up to the ends it has now, each partition in order.

    `consumer_config` is a reader's (with a group.id that is never joined); records are read
    with its isolation level. Raises KafkaUnavailable if the end is not reached in `timeout`.

    `committed_only`: stop at what is committed now (a read_committed reader's last stable
    offset) instead of waiting for open transactions to end; for a caller that polls and will
    look again, never for one that must see everything (a restore, `syncctl jobs`).
    """
    consumer = Consumer(consumer_config)
    reader = consumer if committed_only else watermark_reader(consumer_config)
    try:
        partitions = partitions_of(reader, topic)
        if partitions is None:
            return
        ends = {
            p: high
            for p, (low, high) in end_offsets(reader, topic, partitions).items()
            if high > low
        }
        if not ends:
            return
        if reader is not consumer:
            look_up(consumer, topic)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        deadline = time.monotonic() + timeout
        while ends:
            for message in take(consumer, 5000, 0.2):
                error = message.error()
                if error is None:
                    yield message
                else:
                    check_consumer_error(error, log, topic, partition=message.partition())
            ends = {p: ends[p] for p in unread(consumer, topic, ends)}
            if ends and time.monotonic() > deadline:
                raise KafkaUnavailable(
                    f"could not read {topic} to its end within {timeout:.0f} s (partitions "
                    f"{sorted(ends)}); an open transaction of a stopped worker holds it until it "
                    "times out"
                )
    finally:
        consumer.close()
        if reader is not consumer:
            reader.close()
