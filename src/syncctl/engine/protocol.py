"""The one interface `syncctl runner` drives, whichever engine it runs."""

from __future__ import annotations

from typing import Protocol


class Engine(Protocol):
    """Runs the jobs the worker's events start, and stops them as it says.

    `run` blocks until `stop` is called (from a signal handler: it only sets a flag), then
    releases everything it holds."""

    def run(self) -> None: ...

    def stop(self) -> None: ...
