"""Kafka Connect's REST API, the calls the engine makes (state changes are asynchronous: callers
poll `status` until it shows what they asked for)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from syncctl.errors import ServerError
from syncctl.waiting import Patience, RetryPolicy, retry, wait_until

_CONFLICT_PATIENCE = 20.0  # seconds
# A Kafka Connect worker that restarts answers nothing for 10-30 s; every call the engine makes
# is idempotent, so it is tried again for this long before a job is failed over it.
_UNREACHABLE_PATIENCE = 90.0
# A worker that cannot reach its cluster's leader (the leader died and no new one is elected yet)
# answers a change with 500 and one of these; it clears once the group has a leader again.
_LEADER_UNREACHABLE = ("IO Error trying to forward REST request", "Error trying to forward REST")
# Connect says so itself when a call came too soon (e.g. deleting a sink's offsets while its
# stopped tasks are still winding down): asked again like a 409.
_SAFE_TO_RETRY = "this operation can be safely retried"


class ConnectApi:
    """`urls`: one Kafka Connect worker, or several of one cluster separated by commas; a call
    that finds its worker gone goes to the next (any worker forwards changes to the leader)."""

    def __init__(self, urls: str, timeout: float = 30.0) -> None:
        self.urls = [url.strip().rstrip("/") for url in urls.split(",") if url.strip()]
        if not self.urls:
            raise ValueError("no Kafka Connect URL given")
        self._clients = [httpx.Client(base_url=url, timeout=timeout) for url in self.urls]
        self._current = 0

    @property
    def url(self) -> str:
        """The worker calls go to now."""
        return self.urls[self._current]

    @property
    def _http(self) -> httpx.Client:
        return self._clients[self._current]

    def connectors(self) -> list[str]:
        return list(self._call("GET", "/connectors"))

    def plugin_classes(self) -> set[str]:
        """Every connector and transform class the cluster's plugin path holds."""
        plugins = self._call("GET", "/connector-plugins", params={"connectorsOnly": "false"})
        return {plugin["class"] for plugin in plugins}

    def put_config(self, name: str, config: dict[str, Any]) -> None:
        """Create the connector, or update it to `config` (idempotent)."""
        self._call("PUT", f"/connectors/{name}/config", json=config)

    def status(self, name: str) -> dict[str, Any] | None:
        """The connector's and its tasks' states, or None when there is no such connector."""
        response = self._request("GET", f"/connectors/{name}/status")
        if response.status_code == 404:
            return None
        self._raise_for(response)
        return dict(response.json())

    def stop(self, name: str, timeout: float = 30.0) -> None:
        """Stop the connector (its tasks end; config and offsets stay) and wait until it has."""
        if self.status(name) is None:
            return
        self._call("PUT", f"/connectors/{name}/stop")
        self._wait(name, "STOPPED", timeout)

    def pause(self, name: str, timeout: float = 30.0) -> None:
        """Pause the connector (its tasks stay, idle) and wait until it has."""
        self._call("PUT", f"/connectors/{name}/pause")
        self._wait(name, "PAUSED", timeout)

    def resume(self, name: str, timeout: float = 30.0) -> None:
        """Resume a paused connector (a running one stays as it is) and wait until it runs."""
        if self.status(name) is None:
            return
        self._call("PUT", f"/connectors/{name}/resume")
        self._wait(name, "RUNNING", timeout)

    def restart_failed(self, name: str) -> None:
        """Restart the connector's failed parts (the connector, its tasks) where they are."""
        self._call("POST", f"/connectors/{name}/restart?includeTasks=true&onlyFailed=true")

    def delete_offsets(self, name: str) -> None:
        """Forget the connector's offsets (it must be stopped)."""
        response = self._request("DELETE", f"/connectors/{name}/offsets")
        if response.status_code != 404:
            self._raise_for(response)

    def delete(self, name: str) -> None:
        response = self._request("DELETE", f"/connectors/{name}")
        if response.status_code != 404:
            self._raise_for(response)

    def tasks_moving(self, name: str) -> bool:
        """Whether Connect is moving the connector or one of its tasks: not RUNNING (unassigned
        while a rebalance waits for a departed worker) or on a worker that no longer answers
        (Connect notices a dead worker only after its session times out)."""
        status = self.status(name)
        if status is None:
            return False
        parts = [status.get("connector", {}), *status.get("tasks", [])]
        # A FAILED part is going nowhere: it waits for a restart (JobLifecycle restarts it).
        if any(
            part.get("state") not in ("RUNNING", "PAUSED", "STOPPED", "FAILED") for part in parts
        ):
            return True
        workers = {part["worker_id"] for part in parts if part.get("worker_id")}
        return not all(_answers(worker) for worker in workers)

    def close(self) -> None:
        for client in self._clients:
            client.close()

    def _wait(self, name: str, state: str, timeout: float) -> None:
        def reached() -> bool:
            status = self.status(name)
            return status is None or status["connector"]["state"] == state

        if not wait_until(reached, Patience(timeout, 0.1)):
            raise ServerError(f"connector {name} did not reach {state} within {timeout:.0f} s")

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        self._raise_for(response)
        return response.json() if response.content else None

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One call; 409 is asked again for a while: Connect answers it while its workers
        rebalance or another config change (one of ours, on another job) is being written. A
        Connect that does not answer at all (restarting), or one that cannot forward the call to
        its dead leader, is waited for, longer. The last answer is returned when patience ends."""
        started = time.monotonic()

        def worth_asking_again(error: BaseException) -> bool:
            if isinstance(error, _Conflict):
                return time.monotonic() - started <= _CONFLICT_PATIENCE
            return isinstance(error, _NoAnswer | _LeaderUnreachable)

        policy = RetryPolicy(
            retry_on=worth_asking_again, timeout=_UNREACHABLE_PATIENCE, pause=0.05, max_pause=1.0
        )
        try:
            return retry(lambda: self._ask_any_worker(method, path, **kwargs), policy)
        except _Unsettled as unsettled:
            return unsettled.response
        except _NoAnswer as error:
            raise ServerError(
                f"Kafka Connect at {', '.join(self.urls)} did not answer {method} {path}: "
                f"{error.__cause__}"
            ) from error.__cause__

    def _ask_any_worker(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The answer of the current worker, or of the next that answers at all; the one that
        answered stays current for later calls."""
        for _ in self.urls:
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as error:
                gone = error
                self._current = (self._current + 1) % len(self.urls)
                continue
            except httpx.HTTPError as error:
                raise ServerError(
                    f"Kafka Connect at {self.url} did not answer {method} {path}: {error}"
                ) from error
            if response.status_code == 409 or _says_retry_is_safe(response):
                raise _Conflict(response)
            if _leader_unreachable(response):
                raise _LeaderUnreachable(response)
            return response
        raise _NoAnswer() from gone

    def _raise_for(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        try:
            message = response.json().get("message", response.text)
        except ValueError:
            message = response.text
        raise ServerError(
            f"Kafka Connect refused {response.request.method} {response.request.url.path}: "
            f"{message}"
        )


class _Unsettled(Exception):
    """An answer that may change if asked again."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response


class _Conflict(_Unsettled):
    pass


class _LeaderUnreachable(_Unsettled):
    pass


class _NoAnswer(Exception):
    """No worker of the cluster answered (each one's error is the cause)."""


def first_failure(status: dict[str, Any] | None) -> str | None:
    """The first line of the trace of a FAILED connector or task, or None when none failed."""
    if status is None:
        return None
    for part in [status.get("connector", {}), *status.get("tasks", [])]:
        if part.get("state") == "FAILED":
            trace = (part.get("trace") or "failed without a trace").strip()
            return trace.splitlines()[0][:2000]
    return None


def _says_retry_is_safe(response: httpx.Response) -> bool:
    return response.status_code >= 400 and _SAFE_TO_RETRY in _message(response)


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", ""))
    except (ValueError, AttributeError):
        return ""


def _leader_unreachable(response: httpx.Response) -> bool:
    if response.status_code != 500:
        return False
    try:
        message = str(response.json().get("message", ""))
    except ValueError:
        return False
    return message.startswith(_LEADER_UNREACHABLE)


def _answers(worker_id: str) -> bool:
    """Whether the Connect worker `host:port` (a status's worker_id) answers on its REST port."""
    try:
        httpx.get(f"http://{worker_id}/", timeout=2.0)
    except httpx.HTTPError:
        return False
    return True
