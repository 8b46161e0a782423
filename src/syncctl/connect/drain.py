"""How long a Complete CDC may drain: as long as it makes progress, up to a maximum.

A big backlog is not a failure. While the measure a drain waits on keeps moving (the slot's
confirmed WAL position, then the sink's lag going down), the engine says so with a `draining`
report, which moves the stop's deadline in the worker; a drain that stops moving fails after
`stall` seconds, and none runs past `limit`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from syncctl.errors import SyncctlError


class DrainStalled(SyncctlError):
    """The drain made no progress for too long, or ran out of time."""


class DrainInterrupted(Exception):
    """The engine is shutting down, or the job went to another engine: the drain is left to
    whoever carries the stop on, and nothing is reported."""


class DrainWatch:
    """Watches one stop's drain. `observe(value)` after each look: a value higher than any before
    is progress (pass a lag as its negative)."""

    def __init__(
        self,
        report: Callable[[int | None], None],
        *,
        stall: float,
        limit: float,
        report_every: float,
        interrupted: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._report = report
        self._interrupted = interrupted
        self._stall = stall
        self._report_every = report_every
        self._clock = clock
        began = clock()
        self._give_up_at = began + limit
        self._best: int | None = None
        self._progress_at = began
        self._reported_at = began
        self._looked_around_at = began - 1e9

    def observe(self, value: int, remaining: int | None = None) -> bool:
        """Record one look at the drain: whether it moved since the last. Raise DrainStalled
        when it is stuck or out of time, DrainInterrupted when it is no longer this engine's."""
        if self._interrupted():
            raise DrainInterrupted
        now = self._clock()
        progressed = self._best is not None and value > self._best
        if self._best is None or progressed:
            self._best, self._progress_at = value, now
            if progressed and now - self._reported_at >= self._report_every:
                self._reported_at = now
                self._report(remaining)
        if now - self._progress_at > self._stall:
            raise DrainStalled(f"the drain made no progress for {self._stall:.0f} s")
        if now > self._give_up_at:
            raise DrainStalled("the drain did not finish within the stop's maximum deadline")
        return progressed

    def idle_for(self) -> float:
        """Seconds since the measure last moved (or since the watch began)."""
        return self._clock() - self._progress_at

    def look_around_due(self, every: float) -> bool:
        """Whether a costly look beyond the measure (Connect's task placement) is due: at most
        one every `every` seconds, however often the measure itself is read."""
        now = self._clock()
        if now - self._looked_around_at < every:
            return False
        self._looked_around_at = now
        return True

    def hold(self) -> None:
        """The measure cannot move for a reason that is not the drain's (Connect moving its
        tasks off a dead worker): the stall clock starts again. The limit still holds, and no
        report is sent: the worker's deadline moves only with progress."""
        self._progress_at = self._clock()

    def restart(self) -> None:
        """A new measure begins (the next phase of the drain): its first look is no progress."""
        self._best = None
        self._progress_at = self._clock()
