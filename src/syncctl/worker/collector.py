"""Python's cyclic garbage collector, kept off the state store.

A worker holds every job's record as a model: with 1,000,000 jobs that is millions of objects
the collector would walk at each full collection (a pause of a second or more) and, in part, at
the younger collections a busy worker runs many times a second. Records hold no reference
cycles, so they are freed by reference counting alone and the collector has nothing to find
among them. `gc.freeze()` moves every object alive now out of the collector's sight:

- once the assigned partitions are restored (the store is full);
- then at most every `freeze_every` seconds (0.1 s by default) as the loop turns (after a
  commit, a restore step), so that the records written or parsed since leave the younger
  generations too: at 1 s, a burst of first reads (a million jobs each touched once) left
  enough behind between freezes for full collections of 0.1-0.25 s.
  `gc.freeze()` costs next to nothing: it splices the generations' lists.

What the collector still sees is what the last moments allocated: collections stay short
whatever the fleet. The cost is that a reference cycle alive at a freeze and dropped later is
never collected; the worker makes none that live across commits (`bench/collector.py` counts
what a full collection finds after a long run). The frozen count is not published:
`gc.get_freeze_count()` walks the whole frozen list, about half a second with 1,000,000 parsed
jobs, which every metrics refresh paid. Each collection's pause is noted by generation; the
loop hands them to the metrics (a gc callback must not take the metrics' locks: the collection
may have started inside one).
"""

from __future__ import annotations

import gc
import time
from collections import deque
from collections.abc import Callable
from typing import Any


class Collector:
    def __init__(self, freeze_every: float, clock: Callable[[], float] = time.monotonic) -> None:
        """`freeze_every`: seconds between freezes after commits; 0 leaves the collector as
        Python sets it up (nothing frozen)."""
        self._freeze_every = freeze_every
        self._clock = clock
        self._next_freeze = 0.0
        self._started: float | None = None
        # (generation, seconds) of each collection since the last `pauses()`.
        self._pauses: deque[tuple[int, float]] = deque(maxlen=100_000)

    def install(self) -> None:
        gc.callbacks.append(self._on_collection)

    def uninstall(self) -> None:
        if self._on_collection in gc.callbacks:
            gc.callbacks.remove(self._on_collection)

    def store_restored(self) -> None:
        """Every assigned partition is back: what the store holds now is long-lived."""
        if self._freeze_every > 0:
            self._freeze()

    def turn_ended(self) -> None:
        """A turn of the worker's loop ended (a batch committed, a restore step taken)."""
        if self._freeze_every > 0 and self._clock() >= self._next_freeze:
            self._freeze()

    def _freeze(self) -> None:
        gc.freeze()
        self._next_freeze = self._clock() + self._freeze_every

    def pauses(self) -> list[tuple[int, float]]:
        """The collections since the last call: (generation, seconds) each."""
        taken = []
        while self._pauses:
            taken.append(self._pauses.popleft())
        return taken

    def _on_collection(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started is not None:
            took = time.perf_counter() - self._started
            self._pauses.append((int(info.get("generation", 0)), took))
            self._started = None
