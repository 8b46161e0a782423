"""Asking Kafka again: the policies syncctl's Kafka calls use (each says why), for
`syncctl.waiting.retry`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from syncctl.kafka.errors import not_yet, retriable
from syncctl.waiting import RetryPolicy, retry

__all__ = [
    "ABORT",
    "TRANSACTION_CALL",
    "WHILE_NOT_YET",
    "RetryPolicy",
    "retry",
    "retry_while_not_yet",
]

T = TypeVar("T")


# A topic created a moment ago, a leader moving: the broker answers "not yet" for a moment.
WHILE_NOT_YET = RetryPolicy(retry_on=not_yet, timeout=15.0, pause=0.1)
# send_offsets_to_transaction / commit_transaction: librdkafka's docs say a retriable error
# (a timeout) means "call again"; the calls block up to the transaction timeout themselves.
TRANSACTION_CALL = RetryPolicy(retry_on=retriable, attempts=5)
# abort_transaction: a timeout resumes on the next call; past a few, nothing is left to fall
# back on and the worker stops (its transactional id is then fenced by the next owner).
ABORT = RetryPolicy(retry_on=retriable, attempts=3)


def retry_while_not_yet(call: Callable[[], T], timeout: float = 15.0) -> T:
    """`retry(call, WHILE_NOT_YET)` for `timeout` seconds."""
    return retry(call, WHILE_NOT_YET.within(timeout))
