"""`syncctl connect` runs a real Kafka Connect with the engine's two connectors, no Docker."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from syncctl.local import free_port
from syncctl.local.connect import DEBEZIUM_POSTGRES, MONGODB_SINK

REPO = Path(__file__).resolve().parents[2]


def test_syncctl_connect_serves_both_connectors_and_stops_on_sigterm(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    port = free_port()
    connect = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "syncctl",
            "connect",
            "--port",
            str(port),
            "-b",
            kafka_bootstrap,
            "--data-dir",
            str(tmp_path / "connect"),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert connect.stdout is not None
        ready = connect.stdout.readline()
        assert ready.startswith(f"Kafka Connect 4.4.0 ready on http://127.0.0.1:{port}"), (
            connect.stderr.read()
        )
        plugins = {
            plugin["class"]
            for plugin in httpx.get(f"http://127.0.0.1:{port}/connector-plugins").json()
        }
        assert {DEBEZIUM_POSTGRES, MONGODB_SINK} <= plugins
    finally:
        connect.send_signal(signal.SIGTERM)
        code = connect.wait(60)
    assert code == 0


def test_a_taken_port_is_one_line_and_exit_2(kafka_bootstrap: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "syncctl",
                "connect",
                "--port",
                str(port),
                "-b",
                kafka_bootstrap,
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert f"port {port} on 127.0.0.1 is taken" in done.stderr and "Traceback" not in done.stderr
