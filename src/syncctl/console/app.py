"""The web console: History, Job overview, Terminate / Complete CDC, live over server-sent events.

Pages are rendered on the server (Jinja2); one small script (static/console.js) keeps them live
from `stream` and drives the confirmation dialog. Nothing is fetched from a CDN. Every route
but `healthz`, `metrics`, the login page and static files needs an identity (console/access.py);
actions also need our own origin, the session's CSRF token and the operator role.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from syncctl.client import SyncJobsClient
from syncctl.console.access import (
    Gate,
    Identity,
    PublicAddress,
    check_exposure,
)
from syncctl.console.actions import Actions
from syncctl.console.audit import Audit
from syncctl.console.feed import Change, JobFeed
from syncctl.console.headers import SecurityHeaders
from syncctl.console.login import Login
from syncctl.console.sessions import SessionStore
from syncctl.console.users import UserDirectory
from syncctl.console.views import (
    ACTIONS,
    SCHEDULE_TEXTS,
    STATUS_FILTERS,
    event_view,
    job_view,
)
from syncctl.settings import Settings

_HERE = Path(__file__).parent
_KEEPALIVE_SECONDS = 15.0
# How soon an open live feed notices that its login has ended or changed.
_LOGIN_CHECK_SECONDS = 1.0
_ENDED = "Your login has ended or changed: reload the page to log in again."
Page = Callable[[Request, Identity], Awaitable[Response]]


def create_app(
    settings: Settings, feed: JobFeed | None = None, client: SyncJobsClient | None = None
) -> Starlette:
    """The console app; `feed` and `client` default to ones built from `settings`.

    Raises ConfigError when the settings would expose it unauthenticated (access.check_exposure).
    """
    check_exposure(settings.console)
    address = PublicAddress.of(settings.console)
    users = UserDirectory(settings.console.users_file) if settings.console.users_file else None
    sessions = SessionStore(settings.console.session_hours * 3600)
    gate = Gate(settings.console, address, users, sessions)
    audit = Audit()
    feed = feed or JobFeed(settings.kafka, settings.topics)
    client = client or SyncJobsClient(
        kafka=settings.kafka,
        topics=settings.topics,
        requested_by="console",
        signing=settings.signing,
    )
    base = address.base_path
    templates = Jinja2Templates(directory=str(_HERE / "templates"))
    templates.env.globals.update(actions=ACTIONS, schedule=SCHEDULE_TEXTS, base=base)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        feed.start()
        # Pages rendered before the feed has read what is already on the topics would show
        # an empty or partial History; wait a little for it.
        await asyncio.to_thread(feed.caught_up.wait, 30)
        yield
        await asyncio.to_thread(feed.stop)

    def render(
        request: Request, name: str, context: dict[str, Any], me: Identity | None, status: int = 200
    ) -> Response:
        response = templates.TemplateResponse(
            request, name, {**context, "me": me}, status_code=status
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    def signed_in(page: Page, api: bool = False) -> Callable[[Request], Awaitable[Response]]:
        """`page` for a logged-in user; a stranger is sent to log in (an `api` route: 401)."""

        async def guarded(request: Request) -> Response:
            me = gate.identify(request)
            if me is not None:
                return await page(request, me)
            if api:
                return JSONResponse({"error": "log in first"}, status_code=401)
            if users is not None:
                target = quote(
                    request.url.path + (f"?{request.url.query}" if request.url.query else "")
                )
                return RedirectResponse(f"{base}login?next={target}", status_code=303)
            return render(request, "login.html", {"proxy_only": True}, None, 401)

        return guarded

    async def history(request: Request, me: Identity) -> Response:
        wanted = request.query_params.get("status") or ""
        rows = [job_view(record) for record in feed.records()]
        shown = [row for row in rows if not wanted or row["status"] == wanted]
        return render(
            request,
            "history.html",
            {"rows": shown, "total": len(rows), "status_filter": wanted, "filters": STATUS_FILTERS},
            me,
        )

    async def job(request: Request, me: Identity) -> Response:
        job_id = request.path_params["job_id"]
        record = feed.record(job_id)
        if record is None:
            return render(request, "missing.html", {"job_id": job_id}, me, 404)
        timeline = [event_view(event) for event in feed.timeline(job_id)]
        context = {
            "job": job_view(record),
            "timeline": timeline,
            "may_command": me.may_command(job_id),
        }
        return render(request, "job.html", context, me)

    async def stream(request: Request, me: Identity) -> Response:
        queue = feed.subscribe()

        async def changes() -> AsyncIterator[str]:
            try:
                yield "retry: 2000\n\n"
                quiet = 0.0
                while True:
                    try:
                        change = await asyncio.wait_for(queue.get(), _LOGIN_CHECK_SECONDS)
                    except TimeoutError:
                        change = None
                    # Logged out, expired, removed or given another role: the stream ends before
                    # it sends anything more; the page says so and offers to log in again.
                    if gate.identify(request) != me:
                        yield f"event: ended\ndata: {json.dumps({'reason': _ENDED})}\n\n"
                        return
                    if change is not None:
                        quiet = 0.0
                        yield f"data: {json.dumps(_payload(change))}\n\n"
                        continue
                    quiet += _LOGIN_CHECK_SECONDS
                    if quiet >= _KEEPALIVE_SECONDS:
                        quiet = 0.0
                        yield ": keep-alive\n\n"
            finally:
                feed.unsubscribe(queue)

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(changes(), media_type="text/event-stream", headers=headers)

    async def health(request: Request) -> Response:
        ready = feed.caught_up.is_set()
        return JSONResponse(
            {"status": "ready" if ready else "loading"}, status_code=200 if ready else 503
        )

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(audit.registry), media_type=CONTENT_TYPE_LATEST)

    async def favicon(request: Request) -> Response:
        return FileResponse(_HERE / "static" / "favicon.svg", media_type="image/svg+xml")

    return Starlette(
        routes=[
            Route("/", signed_in(history)),
            Route("/jobs/{job_id}", signed_in(job)),
            *Actions(gate, audit, client).routes(),
            Route("/stream", signed_in(stream, api=True)),
            *Login(settings.console, gate, audit, render).routes(),
            Route("/healthz", health),
            Route("/metrics", metrics),
            Route("/favicon.ico", favicon),
            Mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static"),
        ],
        middleware=[
            Middleware(TrustedHostMiddleware, allowed_hosts=list(address.hosts)),
            Middleware(SecurityHeaders),
        ],
        lifespan=lifespan,
    )


def _payload(change: Change) -> dict[str, Any]:
    if change.record is not None:
        return {"type": "job", "job": job_view(change.record)}
    return {"type": "event", "event": event_view(change.event)}
