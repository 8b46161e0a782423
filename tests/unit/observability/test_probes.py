"""The probes an orchestrator calls: alive always, ready only when the worker can process."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from prometheus_client import generate_latest

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
    assert worker.readiness()[:2] == (False, "stopping")


def test_the_batch_size_histogram_reaches_the_largest_batch_a_worker_commits() -> None:
    from syncctl.observability.metrics import batch_buckets

    assert batch_buckets(2000) == (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2000)
    assert batch_buckets(7) == (1, 2, 5, 7) and batch_buckets(1) == (1,)
    metrics = WorkerMetrics(batch_max=3000)
    metrics.transaction("committed", 2999)
    text = generate_latest(metrics.registry).decode()
    assert 'syncctl_transaction_inputs_bucket{le="3000.0"} 1.0' in text
    assert 'syncctl_transaction_inputs_bucket{le="2500.0"} 0.0' in text


def test_what_a_transaction_did_is_counted_when_it_commits_and_never_when_it_aborts() -> None:
    metrics = WorkerMetrics()

    def count(series: str) -> float:
        return (
            metrics.registry.get_sample_value(series, {"type": "create", "result": "accepted"}) or 0
        )

    metrics.command("create", "accepted")
    metrics.rejected("job_exists")
    assert count("syncctl_commands_total") == 0  # not yet committed
    metrics.transaction("aborted")
    metrics.command("create", "accepted")  # the same input, redone
    metrics.command("create", "accepted")
    metrics.transaction("committed", 2)
    assert count("syncctl_commands_total") == 2
    assert metrics.registry.get_sample_value(
        "syncctl_rejections_total", {"code": "job_exists"}
    ) in (
        None,
        0,
    )
