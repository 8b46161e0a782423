"""A Complete CDC's drain runs while it makes progress, reports it, and fails once it stalls."""

from __future__ import annotations

import pytest

from syncctl.connect.drain import DrainStalled, DrainWatch


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _watch(clock: Clock, reports: list[int | None], limit: float = 600.0) -> DrainWatch:
    return DrainWatch(reports.append, stall=20.0, limit=limit, report_every=5.0, clock=clock)


def test_a_drain_that_keeps_moving_runs_past_the_stall_time_and_reports_every_few_seconds() -> None:
    clock, reports = Clock(), []
    watch = _watch(clock, reports)
    for lag in range(120, 0, -1):  # one record less per second, for two minutes
        watch.observe(-lag, remaining=lag)
        clock.now += 1.0
    assert len(reports) == 119 // 5  # every 5 s of progress, never for the first look
    assert reports[0] == 115 and reports[-1] < 10


def test_a_drain_that_stops_moving_fails_after_the_stall_time_and_says_so() -> None:
    clock, reports = Clock(), []
    watch = _watch(clock, reports)
    watch.observe(-50, remaining=50)
    clock.now += 20.0
    watch.observe(-50, remaining=50)  # 20 s without progress: still allowed
    clock.now += 0.5
    with pytest.raises(DrainStalled, match="no progress for 20 s"):
        watch.observe(-50, remaining=50)
    assert reports == []


def test_no_drain_runs_past_its_limit_however_it_moves() -> None:
    clock, reports = Clock(), []
    watch = _watch(clock, reports, limit=30.0)
    with pytest.raises(DrainStalled, match="maximum deadline"):
        for position in range(1000):
            watch.observe(position)
            clock.now += 1.0
    assert clock.now - 100.0 == pytest.approx(31.0)  # the first look past the 30 s


def test_a_new_phase_starts_its_own_measure() -> None:
    clock, reports = Clock(), []
    watch = _watch(clock, reports)
    watch.observe(5_000_000)  # the slot's WAL position, a big number
    clock.now += 10.0
    watch.restart()
    watch.observe(-300, remaining=300)  # the sink's lag: lower, and still not a stall
    clock.now += 10.0
    watch.observe(-200, remaining=200)
    assert reports == [200]


def test_a_wait_held_for_connect_moving_tasks_is_not_a_stall_but_stays_within_the_limit() -> None:
    clock, reports = Clock(), []
    watch = _watch(clock, reports, limit=60.0)
    watch.observe(-50, remaining=50)
    for _ in range(5):  # 50 s without movement while Connect moves the sink to a live worker
        clock.now += 10.0
        assert watch.idle_for() == 10.0
        watch.hold()
        watch.observe(-50, remaining=50)
    assert reports == []  # holding is not progress: the worker's deadline does not move
    clock.now += 11.0
    watch.hold()
    with pytest.raises(DrainStalled, match="maximum deadline"):
        watch.observe(-50, remaining=50)


def test_looking_at_connects_task_placement_is_due_at_most_once_a_second() -> None:
    clock = Clock()
    watch = _watch(clock, [])
    looks = []
    for _ in range(30):  # the drain reads its measure every 0.1 s for 3 s
        looks.append(watch.look_around_due(1.0))
        clock.now += 0.1
    assert looks.count(True) == 3
    assert looks[0] is True
