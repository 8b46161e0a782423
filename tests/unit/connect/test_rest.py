"""Kafka Connect's REST API answers 409 while its workers rebalance or another config change is
being written; the engine waits that out instead of failing the job."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from syncctl.connect import rest
from syncctl.connect.rest import ConnectApi
from syncctl.errors import ServerError

CONFLICT = {
    "error_code": 409,
    "message": "Cannot complete request momentarily due to stale configuration",
}


def _api(answers: list[httpx.Response], seen: list[str]) -> ConnectApi:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        return answers.pop(0) if len(answers) > 1 else answers[0]

    api = ConnectApi("http://connect.invalid:8083")
    api._clients = [httpx.Client(base_url=api.url, transport=httpx.MockTransport(answer))]
    return api


def test_a_conflict_is_retried_until_connect_accepts_the_change() -> None:
    seen: list[str] = []
    api = _api(
        [
            httpx.Response(409, json=CONFLICT),
            httpx.Response(409, json=CONFLICT),
            httpx.Response(204),
        ],
        seen,
    )
    api.delete_offsets("syncctl-orders-sink")
    assert seen == ["DELETE /connectors/syncctl-orders-sink/offsets"] * 3


def test_a_conflict_that_does_not_clear_fails_with_connects_own_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rest, "_CONFLICT_PATIENCE", 0.2)
    api = _api([httpx.Response(409, json=CONFLICT)], [])
    with pytest.raises(ServerError, match="stale configuration"):
        api.delete("syncctl-orders-sink")


def test_a_connect_that_restarts_is_waited_for_and_one_that_stays_away_fails_the_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rest.time, "sleep", lambda seconds: None)
    refused = httpx.ConnectError("Connection refused")
    answers: list[httpx.Response | Exception] = [refused, refused, httpx.Response(204)]
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        outcome = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    api = ConnectApi("http://connect.invalid:8083")
    api._clients = [httpx.Client(base_url=api.url, transport=httpx.MockTransport(answer))]
    api.delete("syncctl-orders-sink")
    assert seen == ["DELETE /connectors/syncctl-orders-sink"] * 3

    monkeypatch.setattr(rest, "_UNREACHABLE_PATIENCE", 0.0)
    answers[:] = [refused]
    with pytest.raises(ServerError, match="did not answer DELETE"):
        api.delete("syncctl-orders-sink")


FORWARD_FAILED = {
    "error_code": 500,
    "message": "IO Error trying to forward REST request: java.net.ConnectException: "
    "Connection refused",
}


def test_a_change_a_worker_cannot_forward_to_its_dead_leader_is_retried_until_one_is_elected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rest.time, "sleep", lambda seconds: None)
    seen: list[str] = []
    api = _api(
        [
            httpx.Response(500, json=FORWARD_FAILED),
            httpx.Response(500, json=FORWARD_FAILED),
            httpx.Response(204),
        ],
        seen,
    )
    api.delete("syncctl-orders-sink")
    assert seen == ["DELETE /connectors/syncctl-orders-sink"] * 3

    monkeypatch.setattr(rest, "_UNREACHABLE_PATIENCE", 0.0)
    with pytest.raises(ServerError, match="forward REST request"):
        _api([httpx.Response(500, json=FORWARD_FAILED)], []).delete("syncctl-orders-sink")


def test_any_other_server_error_fails_the_call_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rest.time, "sleep", lambda seconds: pytest.fail("no wait is wanted"))
    seen: list[str] = []
    broken = {"error_code": 500, "message": "Connector configuration is invalid"}
    with pytest.raises(ServerError, match="configuration is invalid"):
        _api([httpx.Response(500, json=broken)], seen).delete("syncctl-orders-sink")
    assert seen == ["DELETE /connectors/syncctl-orders-sink"]


def _cluster(answers: dict[str, Callable[[httpx.Request], httpx.Response]]) -> ConnectApi:
    """A ConnectApi over several workers, each answering with its function."""
    api = ConnectApi(", ".join(answers))
    api._clients = [
        httpx.Client(base_url=url, transport=httpx.MockTransport(answer))
        for url, answer in answers.items()
    ]
    return api


def test_a_call_whose_worker_is_gone_goes_to_the_next_worker_of_the_cluster(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rest.time, "sleep", lambda seconds: pytest.fail("no wait is needed"))
    seen: list[str] = []

    def dead(request: httpx.Request) -> httpx.Response:
        seen.append(f"dead {request.url.path}")
        raise httpx.ConnectError("Connection refused")

    def alive(request: httpx.Request) -> httpx.Response:
        seen.append(f"alive {request.url.path}")
        return httpx.Response(200, json=["syncctl-orders-sink"])

    api = _cluster({"http://one.invalid:8083": dead, "http://two.invalid:8083": alive})
    assert api.connectors() == ["syncctl-orders-sink"]
    assert api.connectors() == ["syncctl-orders-sink"]
    # The dead worker is asked once: later calls stay with the one that answered.
    assert seen == ["dead /connectors", "alive /connectors", "alive /connectors"]
    assert api.url == "http://two.invalid:8083"


def _status(*workers_and_states: tuple[str, str]) -> dict[str, Any]:
    (worker, state), *tasks = workers_and_states
    return {
        "connector": {"state": state, "worker_id": worker},
        "tasks": [{"id": n, "state": s, "worker_id": w} for n, (w, s) in enumerate(tasks)],
    }


@pytest.mark.parametrize(
    ("status", "moving"),
    [
        (_status(("10.0.0.1:8083", "RUNNING"), ("10.0.0.2:8083", "RUNNING")), False),
        (_status(("10.0.0.1:8083", "RUNNING"), ("10.0.0.2:8083", "UNASSIGNED")), True),
        (_status(("10.0.0.1:8083", "RUNNING"), ("10.0.0.9:8083", "RUNNING")), True),
    ],
    ids=["running on live workers", "a task unassigned", "a task on a dead worker"],
)
def test_tasks_unassigned_or_on_a_dead_worker_are_being_moved(
    monkeypatch: pytest.MonkeyPatch, status: dict[str, Any], moving: bool
) -> None:
    monkeypatch.setattr(rest, "_answers", lambda worker: worker != "10.0.0.9:8083")
    api = _cluster({"http://10.0.0.1:8083": lambda request: httpx.Response(200, json=status)})
    assert api.tasks_moving("syncctl-orders-sink") is moving


def test_the_plugins_asked_for_include_transforms_not_only_connectors() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url.query, "ascii"))
        return httpx.Response(
            200,
            json=[
                {"class": "com.mongodb.kafka.connect.MongoSinkConnector", "type": "sink"},
                {"class": "io.syncctl.connect.RowToDocument", "type": "transformation"},
            ],
        )

    api = _cluster({"http://connect.invalid:8083": answer})
    assert api.plugin_classes() == {
        "com.mongodb.kafka.connect.MongoSinkConnector",
        "io.syncctl.connect.RowToDocument",
    }
    assert seen == ["connectorsOnly=false"]


def test_a_restart_restarts_only_the_failed_parts_of_a_connector() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}?{str(request.url.query, 'ascii')}")
        return httpx.Response(202, json={"name": "syncctl-orders-sink"})

    _cluster({"http://connect.invalid:8083": answer}).restart_failed("syncctl-orders-sink")
    assert seen == [
        "POST /connectors/syncctl-orders-sink/restart?includeTasks=true&onlyFailed=true"
    ]


def test_offsets_deleted_while_the_stopped_tasks_wind_down_are_deleted_once_they_have() -> None:
    too_soon = {
        "error_code": 500,
        "message": "Failed to reset consumer group offsets for connector syncctl-orders-sink "
        "either because its tasks haven't stopped completely yet or the connector was resumed "
        "before the request to reset its offsets could be successfully completed. If the "
        "connector is in a stopped state, this operation can be safely retried.",
    }
    seen: list[str] = []
    api = _api([httpx.Response(500, json=too_soon), httpx.Response(200, json={})], seen)
    api.delete_offsets("syncctl-orders-sink")
    assert seen == ["DELETE /connectors/syncctl-orders-sink/offsets"] * 2
