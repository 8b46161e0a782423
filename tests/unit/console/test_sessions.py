"""Sessions expire and end; failed logins are limited per user name and per address."""

from __future__ import annotations

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


def test_failed_logins_are_limited_within_the_window_per_key() -> None:
    clock = Clock()
    throttle = LoginThrottle(attempts=3, window=300, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("user:alice", "client:10.0.0.1") == 0
        throttle.failed("user:alice", "client:10.0.0.1")
        clock.now += 10
    assert throttle.retry_after("user:alice") == 300 - 30
    assert (
        throttle.retry_after("user:bob", "client:10.0.0.1") == 300 - 30
    )  # same address, other name
    assert throttle.retry_after("user:bob", "client:10.0.0.2") == 0
    clock.now += 300 - 30
    assert throttle.retry_after("user:alice", "client:10.0.0.1") == 0


def test_a_successful_login_forgets_the_names_failures_but_not_the_addresses() -> None:
    throttle = LoginThrottle(attempts=2, window=300)
    throttle.failed("user:alice", "client:10.0.0.1")
    throttle.failed("user:alice", "client:10.0.0.1")
    throttle.succeeded("user:alice")
    assert throttle.retry_after("user:alice") == 0
    assert throttle.retry_after("client:10.0.0.1") > 0
