"""Logging in and out with the built-in users: the form, the session cookie, the throttle."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from syncctl.console.access import COOKIE, Gate, Identity, local_path, tokens_match
from syncctl.console.audit import Audit
from syncctl.console.bodies import read_body
from syncctl.console.sessions import LoginThrottle
from syncctl.settings import ConsoleSettings

Render = Callable[[Request, str, dict[str, Any], Identity | None, int], Response]
_FORM_LIMIT = 8192  # bytes of a login or logout form


class Login:
    def __init__(
        self,
        settings: ConsoleSettings,
        gate: Gate,
        audit: Audit,
        render: Render,
    ) -> None:
        self._settings = settings
        self._gate = gate
        self._users = gate.users  # None: a proxy logs users in, or nobody needs to
        self._audit = audit
        self._render = render
        self._throttle = LoginThrottle(settings.login_attempts, settings.login_window)
        self._base = gate.address.base_path

    def routes(self) -> list[Route]:
        return [
            Route("/login", self.page, methods=["GET"]),
            Route("/login", self.submit, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
        ]

    async def page(self, request: Request) -> Response:
        if self._users is None:  # the proxy logs users in, or nobody needs to
            return self._render(
                request,
                "login.html",
                {"proxy_only": True},
                None,
                401 if self._settings.authenticates else 404,
            )
        next_path = local_path(request.query_params.get("next"))
        if self._gate.identify(request) is not None:
            return RedirectResponse(self._base + next_path.lstrip("/"), status_code=303)
        return self._render(request, "login.html", {"next": next_path}, None, 200)

    async def submit(self, request: Request) -> Response:
        if self._users is None:
            return JSONResponse({"error": "this console has no built-in users"}, status_code=404)
        form = await _form(request)
        name, next_path = form.get("user", "")[:64], local_path(form.get("next"))
        where = self._gate.client_address(request)
        if not self._gate.same_origin(request):
            self._audit.login(name, where, refused="cross_origin")
            return JSONResponse({"error": "log in from the console's own page"}, status_code=403)
        keys = (f"user:{name}", f"client:{where}")
        # Reserved before the slow check: concurrent guesses cannot all slip past the limit.
        wait = self._throttle.reserve(*keys)
        if wait:
            self._audit.login(name, where, refused="throttled")
            seconds = int(wait) + 1
            response = self._form_again(
                request, next_path, name, f"Too many failed logins: try again in {seconds} s.", 429
            )
            response.headers["Retry-After"] = str(seconds)
            return response
        user = await asyncio.to_thread(self._users.check_password, name, form.get("password", ""))
        if user is None:
            self._audit.login(name, where, refused="bad_credentials")
            return self._form_again(request, next_path, name, "Wrong user name or password.", 401)
        self._throttle.succeeded(*keys)
        sessions = self._gate.sessions
        sessions.close(request.cookies.get(COOKIE))  # a new id at every login: no fixation
        session = sessions.open(user.name)
        self._audit.login(user.name, where)
        response = RedirectResponse(self._base + next_path.lstrip("/"), status_code=303)
        response.set_cookie(
            COOKIE,
            session.session_id,
            max_age=int(self._settings.session_hours * 3600),
            path=self._base,
            httponly=True,
            samesite="strict",
            secure=self._gate.address.secure,
        )
        return response

    async def logout(self, request: Request) -> Response:
        me = self._gate.identify(request)
        form = await _form(request)
        if (
            me is None
            or not self._gate.same_origin(request)
            or not tokens_match(form.get("csrf_token"), me.csrf_token)
        ):
            return JSONResponse({"error": "log out from the console's own page"}, status_code=403)
        self._gate.sessions.close(me.session_id)
        response = RedirectResponse(f"{self._base}login", status_code=303)
        response.delete_cookie(
            COOKIE,
            path=self._base,
            httponly=True,
            samesite="strict",
            secure=self._gate.address.secure,
        )
        return response

    def _form_again(
        self, request: Request, next_path: str, name: str, error: str, status: int
    ) -> Response:
        return self._render(
            request, "login.html", {"next": next_path, "error": error, "user": name}, None, status
        )


async def _form(request: Request) -> dict[str, str]:
    """A small urlencoded form, without a multipart parser."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    body = await read_body(request, _FORM_LIMIT)
    if body is None:
        return {}
    fields = parse_qs(body.decode(errors="replace"), keep_blank_values=True)
    return {key: values[0] for key, values in fields.items()}
