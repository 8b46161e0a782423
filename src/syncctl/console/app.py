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
from urllib.parse import quote, urlencode

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.datastructures import QueryParams
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
from syncctl.console.feed import NEW_LIMIT, JobFeed, View
from syncctl.console.headers import SecurityHeaders
from syncctl.console.index import Page, decode_cursor
from syncctl.console.login import Login
from syncctl.console.sessions import SessionStore
from syncctl.console.users import UserDirectory
from syncctl.console.views import (
    ACTIONS,
    SCHEDULE_TEXTS,
    STATUS_FILTERS,
    breakable,
    job_view,
)
from syncctl.errors import InvalidCommand
from syncctl.selection import Selector
from syncctl.settings import Settings

_HERE = Path(__file__).parent
_KEEPALIVE_SECONDS = 15.0
# How soon an open live feed notices that its login has ended or changed.
_LOGIN_CHECK_SECONDS = 1.0
_ENDED = "Your login has ended or changed: reload the page to log in again."
Handler = Callable[[Request, Identity], Awaitable[Response]]
PAGE_SIZE = 50  # History's rows per page, unless ?limit= says otherwise
MAX_PAGE_SIZE = 200  # a live page names its rows in its stream's URL
LIMITS = (25, 50, 100, 200)
_FILTER_TERMS = ("mode", "stage", "asked_by", "prefix", "source")
MAX_STREAM_IDS = MAX_PAGE_SIZE
_SUGGESTIONS = 200


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
    templates.env.filters["breakable"] = breakable

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

    def signed_in(page: Handler, api: bool = False) -> Callable[[Request], Awaitable[Response]]:
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
        query = request.query_params
        terms, problem = filter_terms(query), None
        selector = None
        if terms:
            try:
                selector = Selector.parse(terms)
            except InvalidCommand as error:
                problem = str(error)
        limit = page_limit(query.get("limit"))
        after, before = (decode_cursor(query[name]) if query.get(name) else None
                         for name in ("after", "before"))  # fmt: skip
        stale = bool(query.get("after") or query.get("before")) and not (after or before)
        if problem is not None:
            page, records = Page([], 0, 0), []
        else:
            page, records = await asyncio.to_thread(
                feed.page, selector, after=after, before=before, limit=limit
            )
        kept = filter_params(selector) + ([("limit", str(limit))] if limit != PAGE_SIZE else [])
        context = {
            "rows": [job_view(record) for record in records],
            "page": page,
            "end": page.start + len(records),
            "limit": limit,
            "limits": LIMITS,
            "selector": selector,
            "terms": selector.terms() if selector else [],
            "problem": problem,
            "stale": stale,
            "first_page": page.start == 0,
            "filter_query": urlencode(filter_params(selector)),
            "newer_url": f"?{urlencode([*kept, ('before', page.first_cursor)])}"
            if page.has_newer and page.first_cursor
            else None,
            "older_url": f"?{urlencode([*kept, ('after', page.last_cursor)])}"
            if page.has_older and page.last_cursor
            else None,
            "first_url": f"?{urlencode(kept)}" if kept else base,
            "filters": STATUS_FILTERS,
            "wanted_statuses": {s.value for s in selector.statuses} if selector else set(),
            # Suggestions for the form, not a list of everything: a page stays small.
            "known_users": feed.values("asked_by")[:_SUGGESTIONS],
            "known_sources": feed.values("source")[:_SUGGESTIONS],
        }
        return render(request, "history.html", context, me, 400 if problem else 200)

    async def job(request: Request, me: Identity) -> Response:
        job_id = request.path_params["job_id"]
        record = feed.record(job_id)
        if record is None:
            return render(request, "missing.html", {"job_id": job_id}, me, 404)
        context = {
            "job": job_view(record),
            "timeline": feed.timeline(job_id),
            "may_command": me.may_command(job_id),
        }
        return render(request, "job.html", context, me)

    async def stream(request: Request, me: Identity) -> Response:
        view = stream_view(request.query_params)
        queue = feed.subscribe(view)

        async def changes() -> AsyncIterator[str]:
            try:
                yield "retry: 2000\n\n"
                quiet = 0.0
                counted, counted_at = 0, 0.0
                loop = asyncio.get_running_loop()
                while True:
                    try:
                        payload = await asyncio.wait_for(queue.get(), _LOGIN_CHECK_SECONDS)
                    except TimeoutError:
                        payload = None
                    # Logged out, expired, removed or given another role: the stream ends before
                    # it sends anything more; the page says so and offers to log in again.
                    if gate.identify(request) != me:
                        yield f"event: ended\ndata: {json.dumps({'reason': _ENDED})}\n\n"
                        return
                    if payload is not None:
                        quiet = 0.0
                        yield f"data: {payload}\n\n"
                    # Other jobs that changed and match a first page's filter: a count, at most
                    # once a second.
                    now = loop.time()
                    if view.count_new and now - counted_at >= 1.0:
                        counted_at = now
                        if len(view.new) != counted:
                            counted = len(view.new)
                            new = {"count": counted, "more": counted >= NEW_LIMIT}
                            yield f"event: new\ndata: {json.dumps(new)}\n\n"
                    if payload is not None:
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
            *Actions(gate, audit, client, feed).routes(),
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


def filter_terms(query: QueryParams) -> list[str]:
    """History's filter from the URL, as `Selector.parse` terms: `status` (repeated, or
    comma-separated), `mode`, `stage`, `asked_by`, `prefix`, `source`; empty values are no
    filter."""
    statuses = [
        part.strip().upper()
        for value in query.getlist("status")
        for part in value.split(",")
        if part.strip()
    ]
    terms = [f"status={','.join(dict.fromkeys(statuses))}"] if statuses else []
    for name in _FILTER_TERMS:
        value = (query.get(name) or "").strip()
        if value:
            terms.append(f"{name}={value}")
    return terms


def filter_params(selector: Selector | None) -> list[tuple[str, str]]:
    """The URL parameters that give `selector` back (statuses repeated, in their order)."""
    if selector is None:
        return []
    statuses = sorted(selector.statuses, key=lambda status: _STATUS_ORDER[status.value])
    params = [("status", status.value) for status in statuses]
    for name in _FILTER_TERMS:
        value = getattr(selector, name)
        if value is not None:
            params.append((name, str(getattr(value, "value", value))))
    return params


_STATUS_ORDER = {value: number for number, (value, _) in enumerate(STATUS_FILTERS)}


def page_limit(text: str | None) -> int:
    try:
        limit = int(text) if text else PAGE_SIZE
    except ValueError:
        return PAGE_SIZE
    return max(1, min(limit, MAX_PAGE_SIZE))


def stream_view(query: QueryParams) -> View:
    """What a page's stream follows: `?job=ID` (a Job overview: the job and its timeline), or
    `?ids=A,B,...` (the rows of a History page) with its filter and `first=1` on a first page
    (other matching jobs that change are counted)."""
    job = query.get("job")
    if job:
        return View(ids=frozenset([job]), events=True)
    ids = frozenset(i for i in (query.get("ids") or "").split(",")[:MAX_STREAM_IDS] if i)
    terms = filter_terms(query)
    try:
        selector = Selector.parse(terms) if terms else None
    except InvalidCommand:
        return View(ids=ids)
    return View(ids=ids, selector=selector, count_new=query.get("first") == "1")
