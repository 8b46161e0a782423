"""Who is asking, and may they: the console's identities, origins and CSRF tokens.

Three ways in, decided by the settings (docs/security.md#console):
- built-in users (`users_file`): a login form, then a session cookie;
- an authenticating reverse proxy (`proxy_user_header`): its user header, believed only on
  connections from `trusted_proxies`;
- neither: only on a loopback address, everyone on this machine is an operator (the demo).
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from syncctl.console.sessions import Session, SessionStore
from syncctl.console.users import UserDirectory
from syncctl.errors import ConfigError
from syncctl.settings import ConsoleSettings, Role

COOKIE = "syncctl_session"
CSRF_HEADER = "x-csrf-token"
# What a proxy may name a user: a login or an e-mail address, nothing that could mislead a log.
_PROXY_USER = re.compile(r"^[A-Za-z0-9._@+-]{1,256}$")


@dataclass(frozen=True)
class Identity:
    user: str
    role: Role
    via: Literal["session", "proxy", "none"]
    csrf_token: str
    job_prefixes: tuple[str, ...] = ()
    session_id: str | None = None

    def may_command(self, job_id: str) -> bool:
        """Whether this user may send commands for the job: terminate, Complete CDC (now or
        scheduled), pause, resume, cancel a schedule. Viewers may send none."""
        if self.role != "operator":
            return False
        return not self.job_prefixes or job_id.startswith(self.job_prefixes)


@dataclass(frozen=True)
class PublicAddress:
    """Where browsers reach the console: the origin actions must come from, and its base path."""

    origins: frozenset[str]
    hosts: tuple[str, ...]
    base_path: str  # ends with "/"
    secure: bool

    @classmethod
    def of(cls, settings: ConsoleSettings) -> PublicAddress:
        scheme = "https" if settings.tls_cert else "http"
        if settings.public_url:
            url = urlsplit(settings.public_url)
            hosts = (url.hostname or "", *settings.trusted_hosts)
            path = url.path if url.path.endswith("/") else f"{url.path}/"
            return cls(
                frozenset({f"{url.scheme}://{url.netloc.lower()}"}),
                hosts,
                path,
                url.scheme == "https",
            )
        if not is_loopback(settings.host):
            raise ConfigError(
                "set console.public_url (the URL operators open, e.g. "
                "https://console.example.com/) to serve the console on "
                f"{settings.host}: action requests are accepted from that origin only"
            )
        local = ("127.0.0.1", "localhost")
        origins = frozenset(f"{scheme}://{host}:{settings.port}" for host in local)
        return cls(origins, (*local, *settings.trusted_hosts), "/", scheme == "https")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(settings: ConsoleSettings) -> None:
    """Refuse to serve a console that anyone on the network could use to stop jobs."""
    if not settings.authenticates and not is_loopback(settings.host):
        raise ConfigError(
            f"refusing to serve the console on {settings.host} without authentication: "
            "anyone who reaches it could stop jobs. Set console.users_file (see "
            "`syncctl console add-user`) or console.proxy_user_header with "
            "console.trusted_proxies, or serve on 127.0.0.1"
        )


class Gate:
    """Finds the identity behind a request, and checks that an action comes from our own pages."""

    def __init__(
        self,
        settings: ConsoleSettings,
        address: PublicAddress,
        users: UserDirectory | None,
        sessions: SessionStore,
    ) -> None:
        self.settings = settings
        self.address = address
        self.users = users
        self.sessions = sessions
        self._proxies = [
            ipaddress.ip_network(proxy, strict=False) for proxy in settings.trusted_proxies
        ]
        self._secret = secrets.token_bytes(32)  # derives the CSRF tokens of sessionless identities
        self._local_user = f"local:{getpass.getuser()}"

    def identify(self, connection: HTTPConnection) -> Identity | None:
        """The authenticated user, or None; a proxy header from anywhere but a proxy is ignored."""
        if self.settings.proxy_user_header and self._from_proxy(connection):
            name = connection.headers.get(self.settings.proxy_user_header, "").strip()
            if name:
                return self._proxy_identity(name)
        if self.users is not None:
            session = self.sessions.find(connection.cookies.get(COOKIE))
            return self._session_identity(session) if session else None
        if not self.settings.authenticates:
            return Identity(
                self._local_user, "operator", "none", self._token("none", self._local_user)
            )
        return None

    def same_origin(self, connection: HTTPConnection) -> bool:
        """Origin (or, lacking it, Referer) names the console's public origin."""
        origin = connection.headers.get("origin")
        if origin is None:
            referer = urlsplit(connection.headers.get("referer", ""))
            origin = f"{referer.scheme}://{referer.netloc}" if referer.netloc else None
        return origin is not None and origin.lower() in self.address.origins

    def client_address(self, connection: HTTPConnection) -> str:
        """The peer, or behind a trusted proxy the nearest address it forwarded for."""
        peer = connection.client.host if connection.client else "unknown"
        if not self._from_proxy(connection):
            return peer
        forwarded = [
            part.strip() for part in connection.headers.get("x-forwarded-for", "").split(",")
        ]
        for candidate in reversed(forwarded):
            if candidate and not self._is_proxy(candidate):
                return candidate
        return peer

    def _session_identity(self, session: Session) -> Identity | None:
        assert self.users is not None
        user = self.users.get(session.user)  # removed from the file: logged out; new role: applies
        if user is None:
            return None
        return Identity(
            user.name,
            user.role,
            "session",
            session.csrf_token,
            user.job_prefixes,
            session.session_id,
        )

    def _proxy_identity(self, name: str) -> Identity | None:
        role = self.settings.proxy_roles.get(name, self.settings.proxy_default_role)
        if role == "none" or not _PROXY_USER.match(name):
            return None
        return Identity(name, role, "proxy", self._token("proxy", name))

    def _from_proxy(self, connection: HTTPConnection) -> bool:
        return connection.client is not None and self._is_proxy(connection.client.host)

    def _is_proxy(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self._proxies)

    def _token(self, via: str, user: str) -> str:
        return hmac.new(self._secret, f"{via}\0{user}".encode(), hashlib.sha256).hexdigest()


def local_path(candidate: str | None) -> str:
    """Where to go after logging in: a path of this console, never another site."""
    unsafe = (
        not candidate
        or not candidate.startswith("/")
        or candidate.startswith("//")
        or "\\" in candidate
        # Browsers drop tabs and newlines from URLs: "/\t/evil.example" would be "//evil.example".
        or any(ord(character) < 0x21 for character in candidate)
    )
    return "/" if unsafe else candidate  # type: ignore[return-value]


def tokens_match(sent: str | None, expected: str) -> bool:
    return sent is not None and hmac.compare_digest(sent.encode(), expected.encode())
