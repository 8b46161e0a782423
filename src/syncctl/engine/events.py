"""Following the events topic: every engine learns from it which jobs to start and stop."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from pydantic import TypeAdapter, ValidationError

from syncctl.contract import Event, StatusChanged
from syncctl.kafka.reading import take
from syncctl.kafka.retry import retry_while_not_yet

_EVENT: TypeAdapter[Any] = TypeAdapter(Event)


def status_change(value: bytes) -> StatusChanged | None:
    """The `status_changed` event in `value`; None for rejections and for what is not an event."""
    try:
        event = _EVENT.validate_json(value)
    except ValidationError:
        return None
    return event if isinstance(event, StatusChanged) else None


def follow_events(
    consumer: Consumer,
    topic: str,
    on_event: Callable[[bytes], None],
    stopping: Callable[[], bool],
    on_assigned: Callable[[set[int]], None] = lambda partitions: None,
    on_revoked: Callable[[set[int]], None] = lambda partitions: None,
) -> None:
    """Subscribe `consumer` (an eager-assignment group) to the events topic and wait until it is
    assigned, passing on whatever it reads meanwhile.

    A partition this group never read starts at an end offset taken now (not "latest", which is
    fixed only at the first fetch): every job created after this point is seen as an event, every
    job created before it is in `SyncJobsClient.jobs()`, which the caller lists next.
    `on_assigned` and `on_revoked` hear of every assignment and revocation (partition numbers),
    this first one included, as the consumer's later polls make them.
    """
    assigned: list[bool] = []

    def start_at_committed_or_end(consumer: Consumer, partitions: list[TopicPartition]) -> None:
        committed = retry_while_not_yet(lambda: consumer.committed(partitions, timeout=30), 60)
        for tp in committed:
            if tp.offset < 0:
                end = retry_while_not_yet(
                    lambda tp=tp: consumer.get_watermark_offsets(tp, timeout=30, cached=False), 60
                )
                tp.offset = end[1]
        consumer.assign(committed)
        assigned.append(True)
        on_assigned({tp.partition for tp in partitions})

    def revoked(consumer: Consumer, partitions: list[TopicPartition]) -> None:
        on_revoked({tp.partition for tp in partitions})

    consumer.subscribe([topic], on_assign=start_at_committed_or_end, on_revoke=revoked)
    deadline = time.monotonic() + 60
    while not assigned and not stopping() and time.monotonic() < deadline:
        for message in take(consumer, 500, 0.2):
            if not message.error() and message.value() is not None:
                on_event(message.value())
