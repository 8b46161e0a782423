"""Child processes of a measurement: syncctl workers and bare pipes, their stderr lines and
memory."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import REPO, Topics


class Child:
    """A subprocess whose stderr lines are kept with the monotonic time each arrived."""

    def __init__(self, argv: list[str], env: dict[str, str], name: str) -> None:
        self.name = name
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            argv,
            env={**os.environ, **env},
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.lines: list[tuple[float, dict[str, Any]]] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, name=f"{name}-stderr", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            arrived = time.monotonic()
            text = raw.decode(errors="replace").rstrip()
            try:
                entry = json.loads(text)
                if not isinstance(entry, dict):
                    entry = {"event": text}
            except ValueError:
                entry = {"event": text}
            with self._changed:
                self.lines.append((arrived, entry))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(
        self, found: Callable[[list[tuple[float, dict[str, Any]]]], float | None], timeout: float
    ) -> float:
        """Block until `found(lines)` returns a time; raise if the child exits or time runs out."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                when = found(self.lines)
                if when is not None:
                    return when
                if self.process.poll() is not None and not self._reader.is_alive():
                    raise RuntimeError(
                        f"{self.name} exited with {self.process.returncode}:\n{self.tail()}"
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{self.name}: nothing after {timeout:.0f} s:\n{self.tail()}"
                    )
                self._changed.wait(min(left, 0.5))

    def tail(self, count: int = 15) -> str:
        return "\n".join(json.dumps(entry) for _, entry in self.lines[-count:])

    def peak_rss(self) -> int:
        """VmHWM (peak resident set) of the process, in bytes."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        return int(match.group(1)) * 1024 if match else 0

    def rss(self) -> int:
        """VmRSS (resident set now) of the process, in bytes."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        return int(match.group(1)) * 1024 if match else 0

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far (/proc/PID/stat, Linux)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
        return (utime + stime) / os.sysconf("SC_CLK_TCK")

    def stop(self, timeout: float = 30.0) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._reader.join(5)
        return self.process.returncode


def start_worker(
    bootstrap: str,
    topics: Topics,
    group_id: str,
    instance_id: str,
    log_level: str = "WARNING",
    source: Path | None = None,
    settings: dict[str, str] | None = None,
) -> Child:
    """`python -m syncctl worker` configured only through SYNCCTL_* variables, JSON logs on
    stderr; `source`: run the syncctl package found there instead (bench/baseline.py)."""
    env = {
        "SYNCCTL_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
        "SYNCCTL_WORKER__GROUP_ID": group_id,
        "SYNCCTL_WORKER__INSTANCE_ID": instance_id,
        "SYNCCTL_LOG__LEVEL": log_level,
        "SYNCCTL_LOG__FORMAT": "json",
        **topics.env(),
        **(settings or {}),
    }
    if source is not None:
        env["PYTHONPATH"] = str(source)
    argv = [sys.executable, "-m", "syncctl", "worker"]
    name = f"worker {instance_id}" if source is None else f"baseline worker {instance_id}"
    return Child(argv, env, name)


def ready_partitions(lines: list[tuple[float, dict[str, Any]]], count: int) -> float | None:
    """Arrival time of the "partitions ready" line that makes `count` partitions ready."""
    ready: set[int] = set()
    for arrived, entry in lines:
        if entry.get("event") == "partitions ready":
            ready.update(entry.get("partitions", []))
            if len(ready) >= count:
                return arrived
    return None


def first_event(lines: list[tuple[float, dict[str, Any]]], event: str) -> float | None:
    return next((arrived for arrived, entry in lines if entry.get("event") == event), None)


def attach_profiler(child: Child, output: Path) -> subprocess.Popen[bytes]:
    """Sample `child` with py-spy (collapsed stacks) until it exits; only for --profile runs."""
    spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen(
        [
            str(spy),
            "record",
            "--pid",
            str(child.process.pid),
            "--format",
            "raw",
            "--nonblocking",
            "--rate",
            "200",
            "--output",
            str(output),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
