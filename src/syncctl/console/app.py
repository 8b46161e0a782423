"""The web console: History, Job overview, Terminate / Complete CDC, live over server-sent events.

Pages are rendered on the server (Jinja2); one small script (static/console.js) keeps them live
from `/stream` and drives the confirmation dialog. Nothing is fetched from a CDN.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from syncctl.client import SyncJobsClient
from syncctl.console.feed import Change, JobFeed
from syncctl.console.views import ACTIONS, NO_RESUME, STATUS_FILTERS, event_view, job_view
from syncctl.errors import InvalidCommand, SyncctlError
from syncctl.settings import Settings

_HERE = Path(__file__).parent
_KEEPALIVE_SECONDS = 15.0


def create_app(settings: Settings, feed: JobFeed | None = None, client: SyncJobsClient | None = None) -> Starlette:
    """The console app; `feed` and `client` default to ones built from `settings`."""
    feed = feed or JobFeed(settings.kafka, settings.topics)
    client = client or SyncJobsClient(
        kafka=settings.kafka, topics=settings.topics, requested_by="console", signing=settings.signing
    )
    templates = Jinja2Templates(directory=str(_HERE / "templates"))
    templates.env.globals.update(actions=ACTIONS, no_resume=NO_RESUME)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        feed.start()
        # Pages rendered before the feed has read what is already on the topics would show
        # an empty or partial History; wait a little for it.
        await asyncio.to_thread(feed.caught_up.wait, 30)
        yield
        await asyncio.to_thread(feed.stop)

    async def history(request: Request) -> Response:
        wanted = request.query_params.get("status") or ""
        rows = [job_view(record) for record in feed.records()]
        shown = [row for row in rows if not wanted or row["status"] == wanted]
        return templates.TemplateResponse(
            request, "history.html",
            {"rows": shown, "total": len(rows), "status_filter": wanted, "filters": STATUS_FILTERS},
        )  # fmt: skip

    async def job(request: Request) -> Response:
        job_id = request.path_params["job_id"]
        record = feed.record(job_id)
        if record is None:
            return templates.TemplateResponse(request, "missing.html", {"job_id": job_id}, status_code=404)
        timeline = [event_view(event) for event in feed.timeline(job_id)]
        return templates.TemplateResponse(request, "job.html", {"job": job_view(record), "timeline": timeline})

    async def stop(request: Request) -> Response:
        job_id, action = request.path_params["job_id"], request.path_params["action"]
        send = {"terminate": client.terminate, "complete-cdc": client.complete_cdc}.get(action)
        if send is None:
            return JSONResponse({"error": f"unknown action {action!r}"}, status_code=404)
        who = request.headers.get("x-operator") or "console"
        try:
            command_id = await asyncio.to_thread(send, job_id, requested_by=who)
        except InvalidCommand as error:  # the request's fault: nothing was sent
            return JSONResponse({"error": str(error)}, status_code=400)
        except SyncctlError as error:  # Kafka did not take it
            return JSONResponse({"error": str(error)}, status_code=502)
        return JSONResponse({"command_id": command_id}, status_code=202)

    async def stream(request: Request) -> Response:
        queue = feed.subscribe()

        async def changes() -> AsyncIterator[str]:
            try:
                yield "retry: 2000\n\n"
                while True:
                    try:
                        change = await asyncio.wait_for(queue.get(), _KEEPALIVE_SECONDS)
                    except TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                    yield f"data: {json.dumps(_payload(change))}\n\n"
            finally:
                feed.unsubscribe(queue)

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(changes(), media_type="text/event-stream", headers=headers)

    async def health(request: Request) -> Response:
        ready = feed.caught_up.is_set()
        return JSONResponse({"status": "ready" if ready else "loading"}, status_code=200 if ready else 503)

    return Starlette(
        routes=[
            Route("/", history),
            Route("/jobs/{job_id}", job),
            Route("/jobs/{job_id}/{action}", stop, methods=["POST"]),
            Route("/stream", stream),
            Route("/healthz", health),
            Mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static"),
        ],
        lifespan=lifespan,
    )


def _payload(change: Change) -> dict[str, Any]:
    if change.record is not None:
        return {"type": "job", "job": job_view(change.record)}
    return {"type": "event", "event": event_view(change.event)}
