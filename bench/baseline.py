"""Another commit's worker, for measuring a change against it in the same run (--baseline).

The commit's `src/` is extracted with `git archive` into a temporary directory, and its worker
runs as `python -m syncctl worker` with that directory first on PYTHONPATH: the same broker,
interpreter and libraries, only syncctl's own code differs.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.common import REPO


@dataclass(frozen=True)
class Baseline:
    ref: str  # as given on the command line
    commit: str  # the full hash it resolved to
    source: Path  # the directory to put first on PYTHONPATH


@contextlib.contextmanager
def checked_out(ref: str) -> Iterator[Baseline]:
    commit = subprocess.run(
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="syncctl-baseline-") as tmp:
        archive = subprocess.run(
            ["git", "archive", commit, "src"], cwd=REPO, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        yield Baseline(ref, commit, Path(tmp) / "src")
