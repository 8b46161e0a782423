"""The command line as a user types it: shared options, one-line errors, checks before sending.

These run `python -m syncctl` without a broker: every case here must fail or succeed before any
connection is tried (an unreachable broker address makes sure nothing is sent).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

NO_BROKER = "127.0.0.1:1"


def syncctl(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncctl", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": "/usr/bin:/bin",
            "SYNCCTL_KAFKA__BOOTSTRAP_SERVERS": NO_BROKER,
            # The sources under test (a worktree's), when they come first on the path.
            **{name: os.environ[name] for name in ("PYTHONPATH",) if name in os.environ},
        },
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
        (["jobs", "--nope"], "syncctl jobs: no such option: --nope"),
        (["create", "orders"], "syncctl create: missing option '--mode'"),
        (["complete-cdc", "orders", "--at", "soon"], "'soon' is not an ISO 8601 time"),
        (["terminate"], "name one job, or select jobs with --selector"),
        (
            ["jobs", "--status", "CDC_RUNNING,RUNNING"],
            "invalid value for --status: 'RUNNING' is not a status: use one or more of "
            "NOT_STARTED, SNAPSHOT_RUNNING,",
        ),
        (["jobs", "--status", ""], "invalid value for --status: '' is not a status"),
        (["jobs", "--mode", "sideways"], "'sideways' is not one of 'snapshot', 'continuous'"),
        (
            ["jobs", "--limit", "0"],
            "invalid value for '--limit': Input should be greater than or equal to 1",
        ),
        (
            ["jobs", "--limit", "many"],
            "invalid value for '--limit': Input should be a valid integer",
        ),
        (["jobs", "--limit", "5", "--all"], "choose one of --limit N and --all"),
        (["jobs", "--prefix", ""], "invalid value for --prefix: give the start of a job id"),
        (["jobs", "--selector", "owner=alice"], "selector 'owner=alice': use NAME=VALUE"),
        (["jobs", "--selector", "status=DONE"], "selector: Input should be"),
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


def test_jobs_help_names_the_filters_the_limit_and_where_the_more_line_goes() -> None:
    shown = syncctl("jobs", "--help")
    assert shown.returncode == 0, shown.stderr
    for option in ("--status", "--mode", "--prefix", "--selector", "--limit", "--all", "--json"):
        assert option in shown.stdout
    text = " ".join(shown.stdout.split())
    assert "newest change first" in text and "[default: (50); x>=1]" in text
    assert 'the "more" line goes to stderr' in text


def test_a_command_loads_only_its_own_module() -> None:
    """`syncctl jobs` is typed often: it must not pay for the engine, worker, console or local
    stack at start-up (together about half a second on the reference machine)."""
    probe = (
        "import sys\n"
        "sys.argv = ['syncctl', 'jobs', '--help']\n"
        "from syncctl.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('syncctl.'))))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}},
    )
    assert loaded.returncode == 0, loaded.stderr
    modules = set(loaded.stdout.split("\n")[-2].split())
    assert "syncctl.cli.views" in modules
    heavy = ("syncctl.connect", "syncctl.worker", "syncctl.console", "syncctl.local")
    heavy += ("syncctl.runner",)
    assert not {m for m in modules if m.startswith(heavy)}, sorted(modules)


def test_the_readme_shows_the_lines_the_cli_prints_while_waiting() -> None:
    """The README's sample sessions are copied from a real run; a reworded message must be
    copied again (a newcomer compares them line by line)."""
    repo = Path(__file__).resolve().parents[3]
    readme = (repo / "README.md").read_text()
    shown = {line for line in readme.splitlines() if line.startswith("waiting for the engine")}
    assert shown, "the README's walkthrough shows a --wait"
    source = (repo / "src" / "syncctl" / "cli" / "commands.py").read_text()
    for line in shown:
        assert f'"{line}"' in source, f"the CLI no longer prints: {line}"
