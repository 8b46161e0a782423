"""The worker's garbage-collector policy: the store leaves the collector's sight once restored
and then every `freeze_every` seconds after a commit; every collection's pause is noted."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from syncctl.worker.collector import Collector


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_store_is_frozen_once_restored_then_at_most_every_interval() -> None:
    clock = Clock()
    collector = Collector(10.0, clock=clock)
    kept = [[n] for n in range(1_000)]  # long-lived containers, like parsed records
    collector.store_restored()
    frozen = gc.get_freeze_count()
    assert frozen >= len(kept)

    more = [[n] for n in range(1_000)]
    clock.now += 5
    collector.turn_ended()
    assert gc.get_freeze_count() == frozen, "not again within the interval"
    clock.now += 5
    collector.turn_ended()
    assert gc.get_freeze_count() >= frozen + len(more)


def test_freeze_every_zero_leaves_the_collector_as_python_sets_it_up() -> None:
    collector = Collector(0.0, clock=Clock())
    collector.store_restored()
    collector.turn_ended()
    assert gc.get_freeze_count() == 0


def test_each_collection_is_noted_with_its_generation_and_pause() -> None:
    collector = Collector(0.0)
    collector.install()
    try:
        gc.collect(1)
        gc.collect(2)
    finally:
        collector.uninstall()
    noted = collector.pauses()
    assert [generation for generation, _ in noted][-2:] == [1, 2]
    assert all(seconds >= 0 for _, seconds in noted)
    assert collector.pauses() == [], "handed over once"
    gc.collect()
    assert collector.pauses() == [], "uninstalled: nothing more is noted"
