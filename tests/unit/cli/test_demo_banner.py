"""The demo's banner tells a returning user why History shows more than this run's jobs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from syncctl.cli.demo import _banner

JOBS = [("orders-1", "snapshot"), ("customers-1", "continuous")]
KAFKA = SimpleNamespace(
    port=9092, bootstrap_servers="127.0.0.1:9092", version="4.4.0", log_file=Path("kafka.log")
)


def test_a_second_run_says_earlier_jobs_are_listed_and_how_to_start_afresh(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _banner(KAFKA, JOBS, Path("logs"), 0, None, earlier=6)  # type: ignore[arg-type]
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("Demo jobs: orders-1 (snapshot)")
    assert "6 job(s) of earlier runs" in lines[2] and "syncctl demo --fresh" in lines[2]


def test_a_first_run_says_nothing_of_earlier_runs(capsys: pytest.CaptureFixture[str]) -> None:
    _banner(KAFKA, JOBS, Path("logs"), 0, None, earlier=0)  # type: ignore[arg-type]
    assert "earlier runs" not in capsys.readouterr().out
