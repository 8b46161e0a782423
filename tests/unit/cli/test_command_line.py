"""The command line as a user types it: shared options, one-line errors, checks before sending.

These run `python -m syncctl` without a broker: every case here must fail or succeed before any
connection is tried (an unreachable broker address makes sure nothing is sent).
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

NO_BROKER = "127.0.0.1:1"


def syncctl(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncctl", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "SYNCCTL_KAFKA__BOOTSTRAP_SERVERS": NO_BROKER},
    )


@pytest.mark.parametrize(
    "command",
    ["worker", "runner", "console", "jobs", "watch", "terminate", "relocate-state", "connect"],
)
def test_every_command_that_talks_to_kafka_takes_dash_b(command: str) -> None:
    shown = syncctl(*command.split(), "-b", NO_BROKER, "--help")
    assert shown.returncode == 0, shown.stderr
    assert "--bootstrap-servers" in shown.stdout


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["jobs", "--nope"], "syncctl jobs: no such option: --nope (see `syncctl jobs --help`)"),
        (["create", "orders"], "syncctl create: missing option '--mode'"),
        (["complete-cdc", "orders", "--at", "soon"], "'soon' is not an ISO 8601 time"),
        (["terminate"], "name one job, or select jobs with --selector"),
    ],
)
def test_an_option_error_is_one_line_that_says_what_is_wrong(
    arguments: list[str], says: str
) -> None:
    refused = syncctl(*arguments)
    assert refused.returncode == 2
    assert refused.stdout == ""
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert says in refused.stderr


def test_complete_cdc_at_a_past_time_is_refused_before_anything_is_sent() -> None:
    past = (datetime.now(UTC) - timedelta(minutes=5)).isoformat(timespec="seconds")
    refused = syncctl("complete-cdc", "orders", "--at", past)
    assert refused.returncode == 2 and refused.stdout == ""
    assert len(refused.stderr.strip().splitlines()) == 1
    assert f"{past} is in the past" in refused.stderr
    assert "leave out --at to complete CDC now" in refused.stderr
