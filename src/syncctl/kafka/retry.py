"""Asking the broker again when it answers "not yet"."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from confluent_kafka import KafkaError, KafkaException

T = TypeVar("T")

# Answers that mean "ask again in a moment": a topic created a moment ago, leadership moving.
_NOT_YET = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError._TIMED_OUT,
    KafkaError._TRANSPORT,
}


def not_yet(error: KafkaException | KafkaError) -> bool:
    kafka_error = error.args[0] if isinstance(error, KafkaException) else error
    return isinstance(kafka_error, KafkaError) and (
        kafka_error.retriable() or kafka_error.code() in _NOT_YET
    )


def retry_while_not_yet(call: Callable[[], T], timeout: float = 15.0, pause: float = 0.1) -> T:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except (KafkaException, KafkaError) as error:
            if not not_yet(error) or time.monotonic() >= deadline:
                raise
            time.sleep(pause)
