"""Who the console believes, and which origins it takes actions from."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.requests import HTTPConnection

from syncctl.console.access import (
    COOKIE,
    Gate,
    PublicAddress,
    check_exposure,
    local_path,
    tokens_match,
)
from syncctl.console.sessions import SessionStore
from syncctl.console.users import UserDirectory, add_user
from syncctl.errors import ConfigError
from syncctl.settings import ConsoleSettings


def connection(client: str = "127.0.0.1", **headers: str) -> HTTPConnection:
    raw = [
        (name.replace("_", "-").lower().encode(), value.encode()) for name, value in headers.items()
    ]
    return HTTPConnection({"type": "http", "headers": raw, "client": (client, 50000)})


def gate(settings: ConsoleSettings, users: UserDirectory | None = None) -> Gate:
    return Gate(settings, PublicAddress.of(settings), users, SessionStore(lifetime=60))


def test_by_default_only_loopback_origins_of_the_port_are_our_own() -> None:
    address = PublicAddress.of(ConsoleSettings(port=8080))
    assert address.origins == {"http://127.0.0.1:8080", "http://localhost:8080"}
    assert address.base_path == "/" and not address.secure
    assert PublicAddress.of(
        ConsoleSettings(port=8443, tls_cert=Path("c"), tls_key=Path("k"))
    ).secure


def test_a_public_url_sets_the_origin_the_hosts_and_the_base_path() -> None:
    settings = ConsoleSettings(
        host="0.0.0.0", public_url="https://ops.example.com/syncctl", trusted_hosts=["console"]
    )
    address = PublicAddress.of(settings)
    assert address.origins == {"https://ops.example.com"}
    assert address.hosts == ("ops.example.com", "console")
    assert address.base_path == "/syncctl/" and address.secure


def test_a_network_address_needs_a_public_url_and_a_login() -> None:
    with pytest.raises(ConfigError, match=r"set console\.public_url"):
        PublicAddress.of(ConsoleSettings(host="0.0.0.0"))
    with pytest.raises(ConfigError, match="without authentication"):
        check_exposure(ConsoleSettings(host="10.1.2.3"))
    check_exposure(ConsoleSettings(host="10.1.2.3", users_file=Path("users")))
    check_exposure(ConsoleSettings(host="127.0.0.1"))
    check_exposure(ConsoleSettings(host="localhost"))


def test_same_origin_reads_origin_then_referer_and_refuses_neither() -> None:
    checks = gate(ConsoleSettings(port=8080))
    assert checks.same_origin(connection(origin="http://127.0.0.1:8080"))
    assert checks.same_origin(connection(origin="HTTP://LOCALHOST:8080"))
    assert not checks.same_origin(connection(origin="http://127.0.0.1:8081"))
    assert not checks.same_origin(connection(origin="null"))
    assert checks.same_origin(connection(referer="http://localhost:8080/jobs/a"))
    assert not checks.same_origin(connection(referer="http://evil.example/http://localhost:8080/"))
    assert not checks.same_origin(connection())


def test_without_a_login_setting_everyone_on_loopback_is_a_local_operator() -> None:
    me = gate(ConsoleSettings()).identify(connection())
    assert (
        me is not None
        and me.role == "operator"
        and me.via == "none"
        and me.user.startswith("local:")
    )


def test_a_proxy_header_is_believed_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    settings = ConsoleSettings(
        proxy_user_header="X-Forwarded-User",
        trusted_proxies=["10.0.0.0/24"],
        proxy_roles={"dora": "operator"},
        proxy_default_role="viewer",
    )
    checks = gate(settings)
    assert checks.identify(connection("10.0.1.5", x_forwarded_user="dora")) is None
    dora = checks.identify(connection("10.0.0.9", x_forwarded_user="dora"))
    assert dora is not None and dora.role == "operator" and dora.via == "proxy"
    erin = checks.identify(connection("10.0.0.9", x_forwarded_user="erin@example.com"))
    assert erin is not None and erin.role == "viewer"
    assert checks.identify(connection("10.0.0.9", x_forwarded_user="bad\u2028name")) is None
    refusing = gate(settings.model_copy(update={"proxy_default_role": "none"}))
    assert refusing.identify(connection("10.0.0.9", x_forwarded_user="erin")) is None


def test_the_client_address_behind_a_trusted_proxy_is_the_one_it_forwarded() -> None:
    checks = gate(ConsoleSettings(proxy_user_header="X-User", trusted_proxies=["10.0.0.1"]))
    forwarded = {"x_forwarded_for": "6.6.6.6, 192.0.2.7, 10.0.0.1"}
    assert checks.client_address(connection("10.0.0.1", **forwarded)) == "192.0.2.7"
    assert checks.client_address(connection("192.0.2.99", **forwarded)) == "192.0.2.99"


def test_a_session_follows_the_users_file(tmp_path: Path) -> None:
    path = tmp_path / "users"
    add_user(path, "alice", "operator", "correct horse")
    users = UserDirectory(path)
    checks = gate(ConsoleSettings(users_file=path), users)
    session = checks.sessions.open("alice")
    cookie = {"cookie": f"{COOKIE}={session.session_id}"}
    me = checks.identify(connection(**cookie))
    assert (
        me is not None and me.role == "operator" and tokens_match(session.csrf_token, me.csrf_token)
    )
    add_user(path, "alice", "viewer", "correct horse")
    assert checks.identify(connection(**cookie)).role == "viewer"  # type: ignore[union-attr]
    path.write_text("# everybody removed\n")
    assert checks.identify(connection(**cookie)) is None
    assert checks.identify(connection()) is None  # no cookie, and no anonymous access with users


def test_tokens_match_needs_the_exact_token() -> None:
    assert tokens_match("abc", "abc")
    assert (
        not tokens_match("abd", "abc")
        and not tokens_match(None, "abc")
        and not tokens_match("", "abc")
    )


def test_after_login_only_a_path_of_this_console_is_followed() -> None:
    assert local_path("/jobs/orders?status=CANCELLING") == "/jobs/orders?status=CANCELLING"
    for elsewhere in (
        "//evil.example",
        "/\t/evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "",
        None,
    ):
        assert local_path(elsewhere) == "/", elsewhere
