"""The probes an orchestrator calls: alive always, ready only when the worker can process."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from syncctl.observability import OperationsServer, WorkerMetrics
from syncctl.settings import Settings
from syncctl.worker import Worker


def _get(port: int, path: str) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_worker_that_has_not_joined_its_group_is_alive_but_not_ready() -> None:
    worker = Worker(Settings(), WorkerMetrics())
    server = OperationsServer(
        0, worker.metrics.registry, worker.readiness, host="127.0.0.1"
    ).start()
    try:
        assert _get(server.port, "/healthz") == (200, {"status": "alive"})
        status, body = _get(server.port, "/readyz")
        assert (status, body["status"]) == (503, "not ready")
        assert "assign" in body["reason"]
    finally:
        server.close()


def test_a_stopping_worker_is_not_ready() -> None:
    worker = Worker(Settings())
    worker.stop()
    assert worker.readiness() == (False, "stopping")
