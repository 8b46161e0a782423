"""Asking again and waiting: how long, how often, and what ends it."""

from __future__ import annotations

import pytest

from syncctl import waiting
from syncctl.waiting import Patience, RetryPolicy, retry, wait_until
from tests.unit.connect.fakes import Clock


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(waiting, "time", clock)
    return clock


def _failing(times: int, error: Exception) -> tuple[list[int], object]:
    calls: list[int] = []

    def call() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return "answered"

    return calls, call


def test_a_call_is_made_again_while_its_error_is_one_to_wait_out(clock: Clock) -> None:
    calls, call = _failing(3, TimeoutError("not yet"))
    policy = RetryPolicy(retry_on=lambda e: isinstance(e, TimeoutError), timeout=10, pause=0.5)
    assert retry(call, policy) == "answered"  # type: ignore[arg-type]
    assert len(calls) == 4 and clock.now == 1001.5


def test_any_other_error_is_raised_at_once(clock: Clock) -> None:
    calls, call = _failing(3, ValueError("refused"))
    policy = RetryPolicy(retry_on=lambda e: isinstance(e, TimeoutError), timeout=10, pause=0.5)
    with pytest.raises(ValueError, match="refused"):
        retry(call, policy)  # type: ignore[arg-type]
    assert len(calls) == 1


def test_retrying_ends_with_the_last_error_when_out_of_attempts_or_time(clock: Clock) -> None:
    calls, call = _failing(100, TimeoutError("still not"))
    with pytest.raises(TimeoutError):
        retry(call, RetryPolicy(retry_on=lambda e: True, attempts=3))  # type: ignore[arg-type]
    assert len(calls) == 3
    calls, call = _failing(100, TimeoutError("still not"))
    with pytest.raises(TimeoutError):
        retry(call, RetryPolicy(retry_on=lambda e: True, timeout=2.0, pause=0.5))  # type: ignore[arg-type]
    assert len(calls) == 5 and clock.now == 1002.0  # tried at 0, 0.5, 1, 1.5 and 2 s


def test_waiting_ends_when_the_condition_holds_at_the_timeout_or_when_told_to_stop(
    clock: Clock,
) -> None:
    assert wait_until(lambda: clock.now >= 1003.0, Patience(10.0, 1.0))
    assert clock.now == 1003.0
    assert not wait_until(lambda: False, Patience(5.0, 1.0))
    assert clock.now == 1008.0
    stop_at = clock.now + 2.0
    assert not wait_until(lambda: False, Patience(None, 1.0), give_up=lambda: clock.now >= stop_at)
    assert clock.now == stop_at


def test_a_growing_pause_doubles_up_to_its_maximum(clock: Clock) -> None:
    calls, call = _failing(5, TimeoutError("not yet"))
    policy = RetryPolicy(retry_on=lambda e: True, timeout=60, pause=0.5, max_pause=2.0)
    assert retry(call, policy) == "answered"  # type: ignore[arg-type]
    assert len(calls) == 6 and clock.now == 1000 + 0.5 + 1 + 2 + 2 + 2
