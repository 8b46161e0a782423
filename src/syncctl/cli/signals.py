"""Ctrl-C and SIGTERM as a request to stop: long-running commands finish their work first."""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType


def on_stop_request(callback: Callable[[], None]) -> None:
    """Call `callback` (from the main thread) on SIGINT or SIGTERM instead of dying."""

    def handler(signum: int, frame: FrameType | None) -> None:
        callback()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


class StopFlag:
    """A flag that Ctrl-C or SIGTERM raises; poll `raised` in a loop."""

    def __init__(self) -> None:
        self.raised = False
        on_stop_request(self.raise_)

    def raise_(self) -> None:
        self.raised = True
