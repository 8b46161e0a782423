"""The demos' child processes: starting them, knowing when they are ready (from /readyz and
consumer groups, never from log lines), and stopping them; and the console's one demo login."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import typer
from confluent_kafka.admin import AdminClient

from syncctl.cli.signals import StopFlag
from syncctl.client import SyncJobsClient
from syncctl.errors import ConfigError, SyncctlError
from syncctl.kafka.groups import group_members
from syncctl.settings import Settings


@dataclass(frozen=True)
class DemoLogin:
    """The demo console's one user: an operator with a fresh password at every start."""

    users_file: Path
    user: str
    password: str

    @classmethod
    def create(cls, users_file: Path) -> DemoLogin:
        from syncctl.console.users import add_user

        password = f"demo-{secrets.token_hex(4)}"
        add_user(users_file, "demo", "operator", password)
        return cls(users_file, "demo", password)

    def console_arguments(self, port: int) -> list[str]:
        return ["console", "--port", str(port), "--users-file", str(self.users_file)]

    def banner_line(self, port: int) -> str:
        return f"Web console: http://127.0.0.1:{port}/  (log in as {self.user} / {self.password})"


def spawn_syncctl(arguments: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "syncctl", *arguments],
            env=env,
            stdout=output,
            stderr=output,
            start_new_session=True,
        )


def run_until_stopped(
    children: dict[str, subprocess.Popen[bytes]], logs: Path, stop: StopFlag
) -> None:
    """Until Ctrl-C, or until a child exits (then say which, and where its log is)."""
    while not stop.raised and all(child.poll() is None for child in children.values()):
        time.sleep(0.2)
    for name, child in children.items():
        if child.poll() is not None and not stop.raised:
            typer.secho(
                f"the {name} exited ({child.returncode}); see {logs / (name + '.log')}", err=True
            )


def stop_children(children: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM to all, then 30 s each to finish before SIGKILL."""
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    for child in children.values():
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()


def spawn_worker(env: dict[str, str], logs: Path, http_port: int) -> subprocess.Popen[bytes]:
    """The demo's worker, with /readyz on 127.0.0.1:`http_port` (what the demo waits for)."""
    serving = {"SYNCCTL_HTTP__PORT": str(http_port), "SYNCCTL_HTTP__HOST": "127.0.0.1"}
    arguments = ["worker", "--instance-id", "demo-worker"]
    return spawn_syncctl(arguments, {**env, **serving}, logs / "worker.log")


def demo_client(settings: Settings, bootstrap_servers: str) -> SyncJobsClient:
    """The client that creates the demo's jobs: the settings it was given (signing included)."""
    kafka = settings.kafka.model_copy(update={"bootstrap_servers": bootstrap_servers})
    return SyncJobsClient(
        kafka=kafka, topics=settings.topics, requested_by="demo", signing=settings.signing
    )


def worker_ready(http_port: int) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{http_port}/readyz", timeout=2
            ) as answer:
                return answer.status == 200
        except OSError:  # not serving yet, or 503: not ready
            return False

    return ready


def consuming(bootstrap_servers: str, group_id: str) -> Callable[[], bool]:
    """A runner or engine is ready once it consumes: its group has a member with partitions."""
    # Silent: this check lives as long as the demo, and its client's complaints once the broker
    # has stopped would be librdkafka's raw lines among the demo's own shutdown messages.
    admin = AdminClient({"bootstrap.servers": bootstrap_servers, "log_level": 0})

    def ready() -> bool:
        try:
            return bool(group_members(admin, group_id, timeout=5))
        except ConfigError:
            return False

    return ready


def wait_for(
    ready: Callable[[], bool], child: subprocess.Popen[bytes], log: Path, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.poll() is None:
        if ready():
            return
        time.sleep(0.2)
    raise SyncctlError(f"the demo's {log.stem} did not get ready; see {log}")
