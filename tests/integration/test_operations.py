"""What an operator relies on: a clean SIGTERM under load, health probes, and Prometheus metrics."""

from __future__ import annotations

import json
import signal
import threading
import urllib.error
import urllib.request
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families
from tests.integration.harness import ControlProducer, EventReader, WorkerProcess, wait_until
from tests.integration.test_worker_recovery import (
    LIFE,
    assert_each_job_saw_its_life_exactly_once,
    finished,
    send_life,
)

# Far longer than any wait below: a takeover that needed the session to time out would fail.
LONG_SESSION_MS = 120_000


def test_sigterm_under_load_exits_0_and_the_other_worker_takes_over_at_once_losing_nothing(
    start_worker: Callable[..., WorkerProcess], control: ControlProducer, events: EventReader
) -> None:
    leaving = start_worker("w1", session_timeout_ms=LONG_SESSION_MS)
    staying = start_worker("w2", session_timeout_ms=LONG_SESSION_MS)
    jobs = [f"job-{n}" for n in range(300)]
    sent_half = threading.Event()

    def load() -> None:
        for n, job in enumerate(jobs):
            send_life(control, job, LIFE)
            if n == len(jobs) // 2:
                control.flush()
                sent_half.set()
        control.flush()

    sender = threading.Thread(target=load)
    sender.start()
    assert sent_half.wait(60)
    leaving.kill(signal.SIGTERM)  # waits for the process to exit
    sender.join(60)

    assert leaving.process is not None and leaving.process.returncode == 0, "".join(
        leaving.raw_stderr[-20:]
    )
    # The session timeout is 120 s: finishing well within 60 s means the group did not wait for it.
    events.read_until(finished(events, jobs), 60, "every job to reach Snapshot cancelled")
    assert_each_job_saw_its_life_exactly_once(events, jobs)
    wait_until(
        lambda: len(staying.readyz().get("partitions", [])) == 12, 30, "the survivor to own all"
    )


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_probes_and_metrics_describe_what_the_worker_did(
    start_worker: Callable[..., WorkerProcess], control: ControlProducer, events: EventReader
) -> None:
    worker = start_worker()
    port = worker.http_port
    assert _get(port, "/healthz")[0] == 200
    status, body = _get(port, "/readyz")
    assert status == 200, body
    assert json.loads(body)["partitions"] == list(range(12)), "one worker processes every partition"

    created = [control.send(f"job-{n}", "create", mode="continuous") for n in range(5)]
    unknown = control.send("job-missing", "terminate")
    control.send_raw(b"job-x", b"{not json")
    control.flush()
    for command_id in [*created, unknown]:
        events.wait_for_command(command_id)

    def scraped() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        return _samples(_get(port, "/metrics")[1])

    # Gauges are refreshed by the loop every 2 s; counters as it goes.
    wait_until(
        lambda: scraped().get(("syncctl_jobs", (("status", "NOT_STARTED"),))) == 5, 30, "jobs gauge"
    )
    metrics = scraped()
    assert metrics[("syncctl_commands_total", (("result", "accepted"), ("type", "create")))] == 5
    assert metrics[("syncctl_commands_total", (("result", "rejected"), ("type", "terminate")))] == 1
    assert metrics[("syncctl_rejections_total", (("code", "unknown_job"),))] == 1
    assert sum(v for (name, _), v in metrics.items() if name == "syncctl_dead_letters_total") == 1
    assert metrics[("syncctl_transactions_total", (("result", "committed"),))] >= 1
    assert metrics[("syncctl_end_to_end_latency_seconds_count", ())] == 7
    assert metrics[("syncctl_processing_latency_seconds_count", ())] == 7
    assert metrics[("syncctl_pending_deadlines", ())] == 0
    assert metrics[("syncctl_pending_stop_deadlines", ())] == 0
    lags = {
        labels: v
        for (name, labels), v in metrics.items()
        if name == "syncctl_consumer_lag_messages"
    }
    assert lags and all(v == 0 for v in lags.values())
    assert _get(port, "/nowhere")[0] == 404
