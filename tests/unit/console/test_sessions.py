"""Sessions expire and end; failed logins are limited per user name and per address."""

from __future__ import annotations

import threading

from syncctl.console.sessions import LoginThrottle, SessionStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_lasts_its_lifetime_then_is_gone() -> None:
    clock = Clock()
    sessions = SessionStore(lifetime=60, clock=clock)
    session = sessions.open("alice")
    clock.now += 59
    assert sessions.find(session.session_id) == session
    clock.now += 1
    assert sessions.find(session.session_id) is None


def test_sessions_have_unguessable_distinct_ids_and_tokens_and_close_for_good() -> None:
    sessions = SessionStore(lifetime=60)
    first, second = sessions.open("alice"), sessions.open("alice")
    assert len({first.session_id, second.session_id, first.csrf_token, second.csrf_token}) == 4
    assert len(first.session_id) >= 40
    sessions.close(first.session_id)
    assert sessions.find(first.session_id) is None and sessions.find(second.session_id) == second
    assert sessions.find("") is None and sessions.find(None) is None


def test_attempts_are_limited_within_the_window_per_key() -> None:
    clock = Clock()
    throttle = LoginThrottle(attempts=3, window=300, clock=clock)
    for _ in range(3):
        assert throttle.reserve("user:alice", "client:10.0.0.1") == 0
        clock.now += 10
    assert throttle.reserve("user:alice") == 300 - 30
    assert throttle.reserve("user:bob", "client:10.0.0.1") == 300 - 30  # same address, other name
    assert throttle.reserve("user:bob", "client:10.0.0.2") == 0
    clock.now += 300 - 30
    assert throttle.reserve("user:alice", "client:10.0.0.1") == 0


def test_a_refused_attempt_is_not_counted() -> None:
    clock = Clock()
    throttle = LoginThrottle(attempts=1, window=300, clock=clock)
    assert throttle.reserve("user:alice") == 0
    for _ in range(10):  # refused ones do not push the window further out
        clock.now += 10
        assert throttle.reserve("user:alice") > 0
    clock.now = 1000.0 + 300
    assert throttle.reserve("user:alice") == 0


def test_concurrent_attempts_never_exceed_the_limit() -> None:
    throttle = LoginThrottle(attempts=5, window=300)
    allowed: list[bool] = []
    barrier = threading.Barrier(50)

    def attempt() -> None:
        barrier.wait()
        allowed.append(throttle.reserve("user:alice", "client:10.0.0.1") == 0)

    threads = [threading.Thread(target=attempt) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 5 and allowed.count(False) == 45


def test_a_successful_login_forgets_the_names_attempts_and_returns_its_reservation() -> None:
    throttle = LoginThrottle(attempts=2, window=300)
    assert throttle.reserve("user:alice", "client:10.0.0.1") == 0  # a failure
    assert throttle.reserve("user:alice", "client:10.0.0.1") == 0  # the right password
    throttle.succeeded("user:alice", "client:10.0.0.1")
    assert throttle.reserve("user:alice") == 0
    # The address keeps its one failure: one more attempt from it is allowed, not two.
    assert throttle.reserve("client:10.0.0.1") == 0
    assert throttle.reserve("client:10.0.0.1") > 0
