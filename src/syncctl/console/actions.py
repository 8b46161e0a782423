"""The console's action routes: one command for a job, or one per selected job (History).

Every request is checked the same way, in this order: our own origin, a login, the session's
CSRF token, then, per job, the user's role and job prefixes. Every attempt is audited.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from syncctl.client import SyncJobsClient
from syncctl.console.access import CSRF_HEADER, Gate, Identity, tokens_match
from syncctl.console.audit import Audit
from syncctl.console.bodies import read_body
from syncctl.console.feed import JobFeed
from syncctl.contract import CancelSchedule, CompleteCdc, Pause, Resume, Terminate
from syncctl.contract.messages import JobId
from syncctl.errors import InvalidCommand, SyncctlError
from syncctl.selection import Selector

MAX_BULK_JOBS = 1000
MAX_SELECTED_JOBS = 100_000  # jobs of one bulk request over a filter
SCHEDULE = "schedule-complete-cdc"  # Complete CDC at a time to come: {"at": ISO 8601}
# How a refusal names each action to the user.
_VERBS = {
    "terminate": "stop",
    "complete-cdc": "stop",
    "pause": "pause",
    "resume": "resume",
    "cancel-schedule": "reschedule",
    SCHEDULE: "schedule",
}
_NO_TIME = 'send {"at": "2026-12-01T02:00:00+01:00"}: a time with its time zone'
_NO_SELECTOR = 'send {"selector": ["status=CDC_RUNNING", ...], "expected": N}'
_BODY_LIMIT = 200_000  # bytes of a bulk request
_JOB_ID: TypeAdapter[str] = TypeAdapter(JobId)
_MESSAGES = {
    "terminate": Terminate,
    "complete-cdc": CompleteCdc,
    "pause": Pause,
    "resume": Resume,
    "cancel-schedule": CancelSchedule,
}


class Refused(Exception):
    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


class Actions:
    def __init__(
        self, gate: Gate, audit: Audit, client: SyncJobsClient, feed: JobFeed | None = None
    ) -> None:
        self._gate = gate
        self._audit = audit
        self._client = client
        self._feed = feed
        self._senders: dict[str, Callable[..., str]] = {
            "terminate": client.terminate,
            "complete-cdc": client.complete_cdc,
            "pause": client.pause,
            "resume": client.resume,
            "cancel-schedule": client.cancel_schedule,
        }
        self._schedule = client.complete_cdc  # with `at`: SCHEDULE

    def routes(self) -> list[Route]:
        return [
            Route("/bulk/{action}", self.bulk, methods=["POST"]),
            Route("/jobs/{job_id}/{action}", self.one, methods=["POST"]),
        ]

    async def one(self, request: Request) -> Response:
        job_id, action = request.path_params["job_id"], request.path_params["action"]
        if action not in self._senders and action != SCHEDULE:
            return JSONResponse({"error": f"unknown action {action!r}"}, status_code=404)
        body = await _json_body(request) if action == SCHEDULE else None
        try:
            me = self._check(request, action, [job_id])
            fields: dict[str, Any] = {}
            if action == SCHEDULE and me.may_command(job_id):  # else _send refuses: forbidden
                fields["at"] = self._schedule_time(request, me, job_id, body)
            command_id = await self._send(request, me, action, job_id, **fields)
        except Refused as refused:
            return JSONResponse({"error": refused.message}, status_code=refused.status)
        return JSONResponse({"command_id": command_id}, status_code=202)

    def _schedule_time(self, request: Request, me: Identity, job_id: str, body: Any) -> datetime:
        """The `at` of a schedule request: ISO 8601 with a time zone, still to come."""
        text = body.get("at") if isinstance(body, dict) else None
        try:
            at = datetime.fromisoformat(text) if isinstance(text, str) else None
        except ValueError:
            at = None
        if at is None or at.tzinfo is None:
            raise self._refuse(request, me, job_id, SCHEDULE, _NO_TIME)
        if at <= datetime.now(UTC):
            raise self._refuse(
                request, me, job_id, SCHEDULE, "that time has passed: choose a time to come"
            )
        return at

    def _refuse(
        self, request: Request, me: Identity, job_id: str, action: str, message: str
    ) -> Refused:
        where = self._gate.client_address(request)
        self._audit.action(me.user, job_id, action, where, refused="invalid_request")
        return Refused(400, "invalid_request", message)

    async def bulk(self, request: Request) -> Response:
        """`{"job_ids": [...]}` -> `{"sent": {job: command_id}, "refused": {job: reason}}`, one
        entry per distinct job."""
        action = request.path_params["action"]
        if action not in self._senders:
            return JSONResponse({"error": f"unknown action {action!r}"}, status_code=404)
        body = await _json_body(request)
        if isinstance(body, dict) and "selector" in body:
            return await self._bulk_selection(request, action, body)
        try:
            job_ids = bulk_job_ids(body)
        except InvalidCommand as error:
            job_ids, invalid = [], str(error)
        else:
            invalid = None
        try:  # who asks is checked first: a stranger learns nothing about the body
            me = self._check(request, action, job_ids or ["-"])
        except Refused as refused:
            return JSONResponse({"error": refused.message}, status_code=refused.status)
        if invalid is not None:
            return JSONResponse({"error": invalid}, status_code=400)
        sent: dict[str, str] = {}
        refused: dict[str, str] = {}
        for job_id in job_ids:
            try:
                sent[job_id] = await self._send(request, me, action, job_id)
            except Refused as why:
                refused[job_id] = why.message
        return JSONResponse({"sent": sent, "refused": refused}, status_code=202 if sent else 403)

    async def _bulk_selection(
        self, request: Request, action: str, body: dict[str, Any]
    ) -> Response:
        """`{"selector": [terms], "expected": N}`: every job the selector matches now, if they
        are the N the user confirmed; one command per job, each checked as a ticked row is."""
        terms = body.get("selector")
        named = f"selector:{' '.join(terms)}" if _are_terms(terms) else "selector:?"
        try:  # who asks is checked first: a stranger learns nothing about the fleet
            me = self._check(request, action, [named])
        except Refused as refused:
            return JSONResponse({"error": refused.message}, status_code=refused.status)
        where = self._gate.client_address(request)
        expected = body.get("expected")
        try:
            if not _are_terms(terms) or not terms:
                raise InvalidCommand(_NO_SELECTOR)
            selector = Selector.parse(terms)
            if not isinstance(expected, int) or isinstance(expected, bool) or expected < 1:
                raise InvalidCommand('send "expected": the number of jobs you confirmed')
        except InvalidCommand as error:
            self._audit.action(me.user, named, action, where, refused="invalid_request")
            return JSONResponse({"error": str(error)}, status_code=400)
        if me.role != "operator":
            self._audit.action(me.user, named, action, where, refused="forbidden")
            verb = _VERBS.get(action, action)
            return JSONResponse(
                {"error": f"{me.user}: viewers cannot {verb} jobs; ask an operator"},
                status_code=403,
            )
        assert self._feed is not None
        job_ids = await asyncio.to_thread(self._feed.matching, selector)
        if len(job_ids) != expected:
            self._audit.action(me.user, named, action, where, refused="count_changed")
            return JSONResponse(
                {
                    "error": f"{len(job_ids):,} jobs match now, not the {expected:,} you "
                    "confirmed: nothing was sent. Look at them again, then confirm.",
                    "matching": len(job_ids),
                },
                status_code=409,
            )
        if len(job_ids) > MAX_SELECTED_JOBS:
            self._audit.action(me.user, named, action, where, refused="invalid_request")
            return JSONResponse(
                {"error": f"at most {MAX_SELECTED_JOBS:,} jobs at a time: narrow the filter"},
                status_code=400,
            )
        refused = {job_id: _forbidden(me, action, job_id) for job_id in job_ids}
        allowed = [job_id for job_id, why in refused.items() if why is None]
        now = datetime.now(UTC)
        kind = _MESSAGES[action]
        messages = [
            kind(command_id=str(uuid.uuid4()), job_id=job_id, issued_at=now, requested_by=me.user)
            for job_id in allowed
        ]
        try:
            await asyncio.to_thread(self._client.send_many, messages)  # type: ignore[arg-type]
        except SyncctlError as error:  # Kafka did not take them
            for job_id in allowed:
                self._audit.action(me.user, job_id, action, where, refused="kafka_unavailable")
            return JSONResponse({"error": str(error)}, status_code=502)
        sent = {message.job_id: message.command_id for message in messages}
        for job_id, command_id in sent.items():
            self._audit.action(me.user, job_id, action, where, command_id=command_id)
        refusals = {job_id: why for job_id, why in refused.items() if why is not None}
        for job_id in refusals:
            self._audit.action(me.user, job_id, action, where, refused="forbidden")
        return JSONResponse(
            {"sent": sent, "refused": refusals, "matching": len(job_ids)},
            status_code=202 if sent else 403,
        )

    def _check(self, request: Request, action: str, job_ids: list[str]) -> Identity:
        """Origin, login and CSRF token; a refusal is audited once per job asked for."""
        me = self._gate.identify(request)
        where = self._gate.client_address(request)
        problem = None
        if not self._gate.same_origin(request):
            problem = Refused(
                403, "cross_origin", "actions are accepted only from the console's own pages"
            )
        elif me is None:
            problem = Refused(401, "unauthenticated", "log in first")
        elif not tokens_match(request.headers.get(CSRF_HEADER), me.csrf_token):
            problem = Refused(
                403, "bad_csrf_token", "missing or wrong CSRF token: reload the page and try again"
            )
        if problem is not None:
            for job_id in job_ids:
                self._audit.action(
                    me.user if me else None, job_id, action, where, refused=problem.reason
                )
            raise problem
        assert me is not None
        return me

    async def _send(
        self, request: Request, me: Identity, action: str, job_id: str, **fields: Any
    ) -> str:
        where = self._gate.client_address(request)
        refusal = None
        forbidden = _forbidden(me, action, job_id)
        if forbidden is not None:
            refusal = Refused(403, "forbidden", forbidden)
        else:
            try:
                send = self._schedule if action == SCHEDULE else self._senders[action]
                command_id = await asyncio.to_thread(send, job_id, requested_by=me.user, **fields)
            except InvalidCommand as error:  # the request's fault: nothing was sent
                refusal = Refused(400, "invalid_request", str(error))
            except SyncctlError as error:  # Kafka did not take it
                refusal = Refused(502, "kafka_unavailable", str(error))
        if refusal is not None:
            self._audit.action(me.user, job_id, action, where, refused=refusal.reason)
            raise refusal
        self._audit.action(me.user, job_id, action, where, command_id=command_id)
        return command_id


def _forbidden(me: Identity, action: str, job_id: str) -> str | None:
    """Why this user may not send `action` for the job, or None."""
    if me.may_command(job_id):
        return None
    verb = _VERBS.get(action, action)
    why = (
        f"viewers cannot {verb} jobs"
        if me.role != "operator"
        else f"this job is outside the jobs you may {verb}"
    )
    return f"{me.user}: {why}; ask an operator"


def _are_terms(terms: Any) -> bool:
    return isinstance(terms, list) and all(isinstance(term, str) for term in terms)


async def _json_body(request: Request) -> Any:
    """The request's JSON body, or None when it is too large or not JSON."""
    body = await read_body(request, _BODY_LIMIT)
    if body is None:
        return None
    try:
        return json.loads(body or b"{}")
    except ValueError:
        return None


def bulk_job_ids(body: Any) -> list[str]:
    """The distinct job ids of a bulk request, in the order given; InvalidCommand naming what is
    wrong (every entry must be a job id by the contract's rule)."""
    entries = body.get("job_ids") if isinstance(body, dict) else None
    if not isinstance(entries, list) or not entries:
        raise InvalidCommand(f'send 1 to {MAX_BULK_JOBS} job ids as {{"job_ids": [...]}}')
    bad = [entry for entry in entries if not _is_job_id(entry)]
    if bad:
        named = ", ".join(json.dumps(entry)[:60] for entry in bad[:10])
        more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
        raise InvalidCommand(
            f"not job ids: {named}{more}; a job id is 1-128 letters, digits or '-'; "
            "nothing was sent"
        )
    job_ids = list(dict.fromkeys(entries))
    if len(job_ids) > MAX_BULK_JOBS:
        raise InvalidCommand(f"send at most {MAX_BULK_JOBS} job ids at a time; nothing was sent")
    return job_ids


def _is_job_id(entry: Any) -> bool:
    try:
        _JOB_ID.validate_python(entry, strict=True)
    except ValidationError:
        return False
    return True
