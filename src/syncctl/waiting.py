"""Waiting for something outside the process: one way to ask again, and one way to wait until a
condition holds. Each caller names its policy (how long, how often, on what), with why."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Call again while `retry_on(error)` holds, up to `attempts` calls and `timeout` seconds,
    `pause` seconds apart; with `max_pause`, the pause doubles after each call up to it (what
    clears in a moment is asked again soon, what takes longer is not asked too often)."""

    retry_on: Callable[[BaseException], bool]
    attempts: int | None = None
    timeout: float | None = None
    pause: float = 0.0
    max_pause: float | None = None

    def within(self, timeout: float) -> RetryPolicy:
        return replace(self, timeout=timeout)


def retry(call: Callable[[], T], policy: RetryPolicy) -> T:
    """`call()`, made again as `policy` allows; its last error is raised when it gives up."""
    deadline = time.monotonic() + policy.timeout if policy.timeout is not None else None
    attempt = 0
    pause = policy.pause
    while True:
        attempt += 1
        try:
            return call()
        except Exception as error:
            out_of_attempts = policy.attempts is not None and attempt >= policy.attempts
            out_of_time = deadline is not None and time.monotonic() >= deadline
            if out_of_attempts or out_of_time or not policy.retry_on(error):
                raise
            if pause:
                time.sleep(pause)
            if policy.max_pause is not None:
                pause = min(pause * 2, policy.max_pause)


@dataclass(frozen=True)
class Patience:
    """Look every `interval` seconds for at most `timeout` seconds (None: until told to stop)."""

    timeout: float | None
    interval: float = 0.1


def wait_until(
    condition: Callable[[], bool],
    patience: Patience,
    *,
    give_up: Callable[[], bool] = lambda: False,
) -> bool:
    """Whether `condition()` came to hold within `patience`; False as soon as `give_up()` holds
    (the program is stopping). The condition is looked at once more at the timeout."""
    deadline = None if patience.timeout is None else time.monotonic() + patience.timeout
    while True:
        if condition():
            return True
        if give_up() or (deadline is not None and time.monotonic() >= deadline):
            return False
        time.sleep(patience.interval)
