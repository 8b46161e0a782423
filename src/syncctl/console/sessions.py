"""Logins that last: server-side sessions, and the limit on failed login attempts.

Sessions live in this process's memory: a restart logs everybody out, and two consoles behind
one load balancer need sticky sessions (or the reverse-proxy login, which needs no session).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

MAX_SESSIONS = 10_000
MAX_TRACKED_LOGINS = 10_000


@dataclass(frozen=True)
class Session:
    session_id: str
    user: str
    csrf_token: str
    expires_at: float


class SessionStore:
    """Random session ids to sessions; the oldest is dropped when full, expired ones on sight."""

    def __init__(self, lifetime: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._lifetime = lifetime
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def open(self, user: str) -> Session:
        session = Session(
            secrets.token_urlsafe(32),
            user,
            secrets.token_urlsafe(32),
            self._clock() + self._lifetime,
        )
        with self._lock:
            self._sessions[session.session_id] = session
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
        return session

    def find(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None and session.expires_at <= self._clock():
                del self._sessions[session_id]
                return None
            return session

    def close(self, session_id: str | None) -> None:
        with self._lock:
            self._sessions.pop(session_id or "", None)


class LoginThrottle:
    """At most `attempts` logins verified per key (a user name, a client address) in `window` s.

    An attempt is counted when it is *reserved*, before the slow password check: however many
    arrive at once, no more than `attempts` of them are ever verified in a window. A login that
    succeeds gives its reservation back (and forgets the name's earlier failures).
    """

    def __init__(
        self, attempts: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._attempts = attempts
        self._window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._attempted: OrderedDict[str, deque[float]] = OrderedDict()

    def reserve(self, *keys: str) -> float:
        """0 and the attempt counted against every key, or the seconds until one may be tried
        (nothing counted)."""
        now = self._clock()
        with self._lock:
            wait = 0.0
            for key in keys:
                attempts = self._recent(key, now)
                if len(attempts) >= self._attempts:
                    wait = max(wait, attempts[0] + self._window - now)
            if wait:
                return wait
            for key in keys:
                self._recent(key, now).append(now)
                self._attempted.move_to_end(key)
            while len(self._attempted) > MAX_TRACKED_LOGINS:
                self._attempted.popitem(last=False)
        return 0.0

    def succeeded(self, name_key: str, *other_keys: str) -> None:
        """The name's count starts again; the other keys get this attempt's reservation back."""
        with self._lock:
            self._attempted.pop(name_key, None)
            for key in other_keys:
                attempts = self._attempted.get(key)
                if attempts:
                    attempts.pop()

    def _recent(self, key: str, now: float) -> deque[float]:
        attempts = self._attempted.setdefault(key, deque())
        while attempts and attempts[0] <= now - self._window:
            attempts.popleft()
        return attempts
