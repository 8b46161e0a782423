"""Asking Kafka again: one helper, and the policies syncctl's calls use (each says why)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from syncctl.kafka.errors import not_yet, retriable

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Call again while `retry_on(error)` holds, up to `attempts` calls and `timeout` seconds."""

    retry_on: Callable[[BaseException], bool]
    attempts: int | None = None
    timeout: float | None = None
    pause: float = 0.0

    def within(self, timeout: float) -> RetryPolicy:
        return replace(self, timeout=timeout)


# A topic created a moment ago, a leader moving: the broker answers "not yet" for a moment.
WHILE_NOT_YET = RetryPolicy(retry_on=not_yet, timeout=15.0, pause=0.1)
# send_offsets_to_transaction / commit_transaction: librdkafka's docs say a retriable error
# (a timeout) means "call again"; the calls block up to the transaction timeout themselves.
TRANSACTION_CALL = RetryPolicy(retry_on=retriable, attempts=5)
# abort_transaction: a timeout resumes on the next call; past a few, nothing is left to fall
# back on and the worker stops (its transactional id is then fenced by the next owner).
ABORT = RetryPolicy(retry_on=retriable, attempts=3)


def retry(call: Callable[[], T], policy: RetryPolicy) -> T:
    """`call()`, made again as `policy` allows; its last error is raised when it gives up."""
    deadline = time.monotonic() + policy.timeout if policy.timeout is not None else None
    attempt = 0
    while True:
        attempt += 1
        try:
            return call()
        except Exception as error:
            out_of_attempts = policy.attempts is not None and attempt >= policy.attempts
            out_of_time = deadline is not None and time.monotonic() >= deadline
            if out_of_attempts or out_of_time or not policy.retry_on(error):
                raise
            if policy.pause:
                time.sleep(policy.pause)


def retry_while_not_yet(call: Callable[[], T], timeout: float = 15.0) -> T:
    """`retry(call, WHILE_NOT_YET)` for `timeout` seconds."""
    return retry(call, WHILE_NOT_YET.within(timeout))
