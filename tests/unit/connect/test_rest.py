"""Kafka Connect's REST API answers 409 while its workers rebalance or another config change is
being written; the engine waits that out instead of failing the job."""

from __future__ import annotations

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
    api._http = httpx.Client(base_url=api.url, transport=httpx.MockTransport(answer))
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
    api._http = httpx.Client(base_url=api.url, transport=httpx.MockTransport(answer))
    api.delete("syncctl-orders-sink")
    assert seen == ["DELETE /connectors/syncctl-orders-sink"] * 3

    monkeypatch.setattr(rest, "_UNREACHABLE_PATIENCE", 0.0)
    answers[:] = [refused]
    with pytest.raises(ServerError, match="did not answer DELETE"):
        api.delete("syncctl-orders-sink")
