"""Who may use the console, through real HTTP against `syncctl console` and a real broker.

Each test checks what a user or an attacker would see (status codes, pages, events) and what
reached Kafka: a refused action must leave the control topic untouched.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from tests.integration.harness import (
    ConsoleProcess,
    EventReader,
    Topics,
    WorkerProcess,
    messages_in,
    syncctl_env,
    wait_until,
)

from syncctl import SyncJobsClient
from syncctl.console.users import add_user
from syncctl.local.security import LocalSecurity
from syncctl.settings import KafkaSettings

PASSWORDS = {"alice": "alice-password", "bob": "bob-password", "carol": "carol-password"}


@pytest.fixture
def users_file(tmp_path: Path) -> Path:
    path = tmp_path / "console-users"
    add_user(path, "alice", "operator", PASSWORDS["alice"])
    add_user(path, "bob", "viewer", PASSWORDS["bob"])
    add_user(path, "carol", "operator", PASSWORDS["carol"], ("billing-",))
    return path


@pytest.fixture
def client(kafka_bootstrap: str, topics: Topics) -> SyncJobsClient:
    return SyncJobsClient(
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap), topics=topics.settings()
    )


class Visitor:
    """An HTTP client that behaves like a browser on the console's own pages, unless told
    otherwise."""

    def __init__(self, console: ConsoleProcess, **options: object) -> None:
        self.origin = console.url
        self.http = httpx.Client(
            base_url=console.url, follow_redirects=False, timeout=15, **options
        )  # type: ignore[arg-type]

    def login(self, user: str, password: str | None = None) -> httpx.Response:
        form = {"user": user, "password": password or PASSWORDS[user], "next": "/"}
        return self.http.post("/login", data=form, headers={"Origin": self.origin})

    def token(self, path: str = "/", **headers: str) -> str:
        page = self.http.get(path, headers=headers)
        assert page.status_code == 200, page.text
        found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
        assert found, "the page carries no CSRF token"
        return found.group(1)

    def stop(
        self, job_id: str, action: str = "terminate", *, token: str | None = None, **headers: str
    ) -> httpx.Response:
        sent = {"Origin": self.origin, **({"X-CSRF-Token": token} if token else {}), **headers}
        return self.http.post(
            f"/jobs/{job_id}/{action}", headers={k: v for k, v in sent.items() if v}
        )

    def metric(self, name: str, reason: str) -> float:
        text = self.http.get("/metrics").text
        found = re.search(rf'^{name}_total{{reason="{reason}"}} (\S+)$', text, re.MULTILINE)
        return float(found.group(1)) if found else 0.0


@pytest.fixture
def visitors() -> Iterator[Callable[..., Visitor]]:
    made: list[Visitor] = []

    def make(console: ConsoleProcess, **options: object) -> Visitor:
        made.append(Visitor(console, **options))
        return made[-1]

    yield make
    for visitor in made:
        visitor.http.close()


def test_without_a_login_pages_lead_to_the_login_form_and_actions_are_refused(
    kafka_bootstrap: str,
    topics: Topics,
    start_console: Callable[..., ConsoleProcess],
    users_file: Path,
    visitors: Callable[..., Visitor],
) -> None:
    console = start_console("--users-file", str(users_file))
    stranger = visitors(console)

    assert stranger.http.get("/").headers["location"] == "/login?next=/"
    assert stranger.http.get("/jobs/orders").headers["location"] == "/login?next=/jobs/orders"
    login_page = stranger.http.get("/login?next=/jobs/orders")
    assert login_page.status_code == 200 and 'name="password"' in login_page.text
    assert stranger.http.get("/stream").status_code == 401
    refused = stranger.stop("orders")
    assert refused.status_code == 401
    # What needs no login: health, metrics, the script and style, the icon.
    assert stranger.http.get("/healthz").status_code == 200
    assert stranger.http.get("/static/console.js").status_code == 200
    assert stranger.http.get("/favicon.ico").headers["content-type"].startswith("image/svg+xml")

    assert messages_in(kafka_bootstrap, topics.control) == 0
    assert stranger.metric("syncctl_console_action_refusals", "unauthenticated") == 1
    assert [(e["outcome"], e["reason"], e["client"]) for e in console.audit()] == [
        ("refused", "unauthenticated", "127.0.0.1")
    ]


def test_wrong_passwords_are_refused_counted_and_then_throttled(
    start_console: Callable[..., ConsoleProcess], users_file: Path, visitors: Callable[..., Visitor]
) -> None:
    console = start_console(
        "--users-file", str(users_file), env={"SYNCCTL_CONSOLE__LOGIN_ATTEMPTS": "3"}
    )
    guesser = visitors(console)

    for password in ("guess-1", "guess-2"):
        refused = guesser.login("alice", password)
        assert refused.status_code == 401 and "Wrong user name or password" in refused.text
        assert "set-cookie" not in refused.headers
    unknown = guesser.login("mallory", "whatever-1")  # an unknown user reads exactly the same
    assert unknown.status_code == 401 and "Wrong user name or password" in unknown.text
    assert guesser.metric("syncctl_console_login_refusals", "bad_credentials") == 3

    # Three failures from this address: even the right password waits now.
    throttled = guesser.login("alice")
    assert throttled.status_code == 429 and "Too many failed logins" in throttled.text
    assert int(throttled.headers["retry-after"]) > 0
    assert "set-cookie" not in throttled.headers
    assert guesser.metric("syncctl_console_login_refusals", "throttled") == 1
    refusals = [(e["user"], e["reason"]) for e in console.audit() if e["outcome"] == "refused"]
    assert refusals == [("alice", "bad_credentials")] * 2 + [
        ("mallory", "bad_credentials"),
        ("alice", "throttled"),
    ]


def test_a_concurrent_burst_of_guesses_gets_no_more_verifications_than_the_limit(
    start_console: Callable[..., ConsoleProcess], users_file: Path, visitors: Callable[..., Visitor]
) -> None:
    console = start_console("--users-file", str(users_file))  # 5 attempts per window
    headers = {"Origin": console.url}

    async def burst() -> tuple[list[int], httpx.Response]:
        async with httpx.AsyncClient(base_url=console.url, timeout=60) as http:

            async def guess(number: int) -> int:
                form = {"user": "alice", "password": f"guess-{number}", "next": "/"}
                return (await http.post("/login", data=form, headers=headers)).status_code

            guesses = [asyncio.create_task(guess(number)) for number in range(50)]
            # The right password, sent once the limit is reached while guesses are in flight.
            for finished in asyncio.as_completed(guesses):
                if await finished == 429:
                    break
            form = {"user": "alice", "password": PASSWORDS["alice"], "next": "/"}
            right = await http.post("/login", data=form, headers=headers)
            return list(await asyncio.gather(*guesses)), right

    statuses, right = asyncio.run(burst())

    assert statuses.count(401) == 5 and statuses.count(429) == 45, statuses
    assert right.status_code == 429 and "set-cookie" not in right.headers
    counter = visitors(console)
    assert counter.metric("syncctl_console_login_refusals", "bad_credentials") == 5
    assert counter.metric("syncctl_console_login_refusals", "throttled") == 46


def test_a_viewer_sees_no_stop_button_and_gets_403_from_the_actions(
    kafka_bootstrap: str,
    topics: Topics,
    start_worker: Callable[..., WorkerProcess],
    start_console: Callable[..., ConsoleProcess],
    client: SyncJobsClient,
    users_file: Path,
    visitors: Callable[..., Visitor],
) -> None:
    start_worker()
    client.wait_for_outcome(client.create("orders-1", "snapshot"), timeout=30)
    console = start_console("--users-file", str(users_file))
    viewer = visitors(console)
    assert viewer.login("bob").status_code == 303
    sent_before = messages_in(kafka_bootstrap, topics.control)

    page = viewer.http.get("/jobs/orders-1")
    assert page.status_code == 200 and "Not started" in page.text
    assert 'data-action="terminate"' not in page.text and "You are a viewer" in page.text
    refused = viewer.stop("orders-1", token=viewer.token("/jobs/orders-1"))
    assert refused.status_code == 403 and "viewers cannot stop jobs" in refused.json()["error"]
    pause = viewer.stop("orders-1", "pause", token=viewer.token("/jobs/orders-1"))
    assert pause.status_code == 403 and "viewers cannot pause jobs" in pause.json()["error"]

    assert messages_in(kafka_bootstrap, topics.control) == sent_before
    assert viewer.metric("syncctl_console_action_refusals", "forbidden") == 2


def test_an_operators_stop_reaches_the_events_topic_under_their_own_name(
    kafka_bootstrap: str,
    topics: Topics,
    start_worker: Callable[..., WorkerProcess],
    start_console: Callable[..., ConsoleProcess],
    client: SyncJobsClient,
    users_file: Path,
    visitors: Callable[..., Visitor],
    events: EventReader,
) -> None:
    start_worker()
    client.wait_for_outcome(client.create("orders-2", "snapshot"), timeout=30)
    console = start_console("--users-file", str(users_file))
    alice, carol = visitors(console), visitors(console)
    assert alice.login("alice").status_code == 303
    assert carol.login("carol").status_code == 303

    # carol may stop billing-* jobs only.
    sent_before = messages_in(kafka_bootstrap, topics.control)
    outside = carol.stop("orders-2", token=carol.token())
    assert outside.status_code == 403 and "outside the jobs you may stop" in outside.json()["error"]
    assert messages_in(kafka_bootstrap, topics.control) == sent_before

    # A header cannot choose the name: X-Operator is ignored.
    accepted = alice.stop("orders-2", token=alice.token(), **{"X-Operator": "somebody-else"})
    assert accepted.status_code == 202
    command_id = accepted.json()["command_id"]
    outcome = events.wait_for_command(command_id)[0]
    assert (
        outcome["type"] == "status_changed" and outcome["status"] == "SNAPSHOT_CANCELLED"
    )  # never started
    assert outcome["requested_by"] == "alice"
    page = alice.http.get("/jobs/orders-2")
    assert "by alice" in page.text  # the timeline says who stopped it
    sent = [e for e in console.audit() if e["outcome"] == "sent"]
    assert [(e["user"], e["job_id"], e["command"], e["command_id"]) for e in sent] == [
        ("alice", "orders-2", "terminate", command_id)
    ]


def test_cross_origin_or_tokenless_actions_are_refused_and_send_nothing(
    kafka_bootstrap: str,
    topics: Topics,
    start_worker: Callable[..., WorkerProcess],
    start_console: Callable[..., ConsoleProcess],
    client: SyncJobsClient,
    users_file: Path,
    visitors: Callable[..., Visitor],
) -> None:
    start_worker()
    client.wait_for_outcome(client.create("orders-3", "snapshot"), timeout=30)
    console = start_console("--users-file", str(users_file))
    alice, bob = visitors(console), visitors(console)
    alice.login("alice")
    bob.login("bob")
    token = alice.token()
    sent_before = messages_in(kafka_bootstrap, topics.control)

    cross_origin = [
        alice.stop("orders-3", token=token, Origin="http://evil.example"),
        alice.stop("orders-3", token=token, Origin=f"http://127.0.0.1:{console.port + 1}"),
        alice.stop("orders-3", token=token, Origin="", Referer="http://evil.example/page"),
        alice.stop("orders-3", token=token, Origin=""),  # neither Origin nor Referer
    ]
    bad_token = [
        alice.stop("orders-3"),
        alice.stop("orders-3", token="0" * 43),
        alice.stop("orders-3", token=bob.token()),  # another session's token
    ]

    assert [response.status_code for response in cross_origin + bad_token] == [403] * 7
    assert messages_in(kafka_bootstrap, topics.control) == sent_before
    assert alice.metric("syncctl_console_action_refusals", "cross_origin") == 4
    assert alice.metric("syncctl_console_action_refusals", "bad_csrf_token") == 3
    # The same request from the page itself goes through.
    assert (
        alice.stop("orders-3", token=token, Referer=f"{console.url}/jobs/orders-3").status_code
        == 202
    )


def test_a_proxy_user_header_is_believed_only_from_a_trusted_proxy(
    kafka_bootstrap: str,
    topics: Topics,
    start_worker: Callable[..., WorkerProcess],
    start_console: Callable[..., ConsoleProcess],
    client: SyncJobsClient,
    users_file: Path,
    visitors: Callable[..., Visitor],
    events: EventReader,
) -> None:
    start_worker()
    client.wait_for_outcome(client.create("orders-4", "snapshot"), timeout=30)
    # The proxy connects from 127.0.0.2; everybody else from 127.0.0.1.
    proxy_env = {
        "SYNCCTL_CONSOLE__PROXY_USER_HEADER": "X-Forwarded-User",
        "SYNCCTL_CONSOLE__TRUSTED_PROXIES": '["127.0.0.2"]',
        "SYNCCTL_CONSOLE__PROXY_ROLES": '{"dora": "operator"}',
    }
    console = start_console("--users-file", str(users_file), env=proxy_env)
    as_dora = {"X-Forwarded-User": "dora"}
    spoofer = visitors(console, headers=as_dora)
    proxy = visitors(
        console, headers=as_dora, transport=httpx.HTTPTransport(local_address="127.0.0.2")
    )
    sent_before = messages_in(kafka_bootstrap, topics.control)

    assert spoofer.http.get("/").status_code == 303  # to the login form: the header was ignored
    assert spoofer.stop("orders-4", token="x").status_code == 401
    assert messages_in(kafka_bootstrap, topics.control) == sent_before

    page = proxy.http.get("/jobs/orders-4")
    assert (
        page.status_code == 200 and "dora" in page.text and 'data-action="terminate"' in page.text
    )
    accepted = proxy.stop("orders-4", token=proxy.token())
    assert accepted.status_code == 202
    assert events.wait_for_command(accepted.json()["command_id"])[0]["requested_by"] == "dora"
    # A proxy user not named in proxy_roles is a viewer.
    as_erin = {"X-Forwarded-User": "erin"}
    erin = proxy.stop("orders-4", token=proxy.token(**as_erin), **as_erin)
    assert erin.status_code == 403 and "viewers cannot stop jobs" in erin.json()["error"]


def test_only_configured_host_names_are_served_and_asset_urls_are_relative(
    start_console: Callable[..., ConsoleProcess], visitors: Callable[..., Visitor]
) -> None:
    console = start_console()  # loopback, no login
    visitor = visitors(console)

    foreign = visitor.http.get("/", headers={"Host": "evil.example"})
    assert foreign.status_code == 400
    page = visitor.http.get("/", headers={"Host": f"localhost:{console.port}"})
    assert page.status_code == 200
    assert 'href="/static/console.css"' in page.text and 'src="/static/console.js"' in page.text
    assert "localhost" not in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert any("NO LOGIN" in line for line in console.raw_stderr), (
        "the startup line must say there is no login"
    )


def test_a_console_without_login_refuses_to_listen_off_loopback(
    kafka_bootstrap: str, topics: Topics
) -> None:
    started = subprocess.run(  # its exit code is what is checked
        [sys.executable, "-m", "syncctl", "console", "--host", "0.0.0.0", "--port", "1"],
        env={**syncctl_env(kafka_bootstrap, topics), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 2
    assert "refusing to serve the console on 0.0.0.0 without authentication" in started.stderr


def test_logging_out_ends_the_session(
    start_console: Callable[..., ConsoleProcess], users_file: Path, visitors: Callable[..., Visitor]
) -> None:
    console = start_console("--users-file", str(users_file))
    alice = visitors(console)
    alice.login("alice")
    cookie = alice.http.cookies.get("syncctl_session")
    token = alice.token()
    assert (
        alice.http.post(
            "/logout", data={"csrf_token": token}, headers={"Origin": "http://evil.example"}
        ).status_code
        == 403
    )
    assert (
        alice.http.post(
            "/logout", data={"csrf_token": token}, headers={"Origin": alice.origin}
        ).status_code
        == 303
    )
    assert alice.http.get("/").status_code == 303
    replayed = visitors(console)
    replayed.http.cookies.set("syncctl_session", cookie or "")
    assert replayed.http.get("/").status_code == 303, "a logged-out session must not come back"


def test_the_console_serves_https_with_a_secure_session_cookie(
    tmp_path: Path,
    start_console: Callable[..., ConsoleProcess],
    users_file: Path,
    visitors: Callable[..., Visitor],
) -> None:
    security = LocalSecurity.ensure(tmp_path / "tls")
    trust = ssl.create_default_context(cafile=str(security.ca_file))
    keystore = str(security.keystore_file)
    console = start_console(
        "--users-file",
        str(users_file),
        "--tls-cert",
        keystore,
        "--tls-key",
        keystore,
        ssl_context=trust,
    )
    alice = visitors(console, verify=trust)

    logged_in = alice.login("alice")
    assert logged_in.status_code == 303
    cookie = logged_in.headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert alice.http.get("/").status_code == 200
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{console.port}/healthz", timeout=5)


@pytest.mark.parametrize(
    ("job_id", "problem"), [("bad%20id", "is not valid"), ("x" * 200, "is not valid")]
)
def test_a_stop_for_a_malformed_job_id_is_a_client_error_and_sends_nothing(
    kafka_bootstrap: str,
    topics: Topics,
    start_console: Callable[..., ConsoleProcess],
    users_file: Path,
    visitors: Callable[..., Visitor],
    job_id: str,
    problem: str,
) -> None:
    console = start_console("--users-file", str(users_file))
    alice = visitors(console)
    alice.login("alice")
    refused = alice.stop(job_id, token=alice.token())
    assert refused.status_code == 400 and problem in refused.json()["error"]
    assert messages_in(kafka_bootstrap, topics.control) == 0, (
        "the console sent a command for a malformed request"
    )


def test_bulk_actions_are_checked_like_single_ones_and_per_job(
    kafka_bootstrap: str, topics: Topics, start_worker: Callable[..., WorkerProcess],
    start_console: Callable[..., ConsoleProcess], client: SyncJobsClient, users_file: Path,
    visitors: Callable[..., Visitor], events: EventReader,
) -> None:  # fmt: skip
    start_worker()
    for job_id in ("billing-1", "orders-9"):
        client.wait_for_outcome(client.create(job_id, "snapshot"), timeout=30)
    console = start_console("--users-file", str(users_file))
    carol, bob, stranger = visitors(console), visitors(console), visitors(console)
    carol.login("carol")
    bob.login("bob")
    sent_before = messages_in(kafka_bootstrap, topics.control)
    body = {"job_ids": ["billing-1", "orders-9"]}

    foreign = carol.http.post(
        "/bulk/terminate",
        json=body,
        headers={"Origin": "http://evil.example", "X-CSRF-Token": carol.token()},
    )
    anonymous = stranger.http.post(
        "/bulk/terminate", json=body, headers={"Origin": stranger.origin}
    )
    viewer = bob.http.post(
        "/bulk/terminate", json=body, headers={"Origin": bob.origin, "X-CSRF-Token": bob.token()}
    )
    assert (foreign.status_code, anonymous.status_code, viewer.status_code) == (403, 401, 403)
    assert set(viewer.json()["refused"]) == {"billing-1", "orders-9"}
    assert messages_in(kafka_bootstrap, topics.control) == sent_before

    scoped = carol.http.post(
        "/bulk/terminate",
        json=body,
        headers={"Origin": carol.origin, "X-CSRF-Token": carol.token()},
    )
    assert scoped.status_code == 202
    assert list(scoped.json()["sent"]) == ["billing-1"]
    assert "outside the jobs you may stop" in scoped.json()["refused"]["orders-9"]
    outcome = events.wait_for_command(scoped.json()["sent"]["billing-1"])[0]
    assert outcome["requested_by"] == "carol" and outcome["status"] == "SNAPSHOT_CANCELLED"


def test_bulk_over_a_filter_is_checked_like_ticked_rows_and_sends_only_a_confirmed_count(
    kafka_bootstrap: str, topics: Topics, start_worker: Callable[..., WorkerProcess],
    start_console: Callable[..., ConsoleProcess], client: SyncJobsClient, users_file: Path,
    visitors: Callable[..., Visitor], events: EventReader,
) -> None:  # fmt: skip
    start_worker()
    for job_id in ("billing-1", "billing-2", "orders-3"):
        client.wait_for_outcome(client.create(job_id, "snapshot"), timeout=30)
    console = start_console("--users-file", str(users_file))
    alice, bob, carol, stranger = (visitors(console) for _ in range(4))
    for visitor, name in ((alice, "alice"), (bob, "bob"), (carol, "carol")):
        assert visitor.login(name).status_code == 303
    every = {"selector": ["status=NOT_STARTED"], "expected": 3}
    sent_before = messages_in(kafka_bootstrap, topics.control)

    def bulk(visitor: Visitor, body: object, **headers: str) -> httpx.Response:
        return visitor.http.post(
            "/bulk/terminate", json=body, headers={"Origin": visitor.origin, **headers}
        )

    assert bulk(stranger, every).status_code == 401
    viewer = bulk(bob, every, **{"X-CSRF-Token": bob.token()})
    assert viewer.status_code == 403 and "viewers cannot stop jobs" in viewer.json()["error"]
    foreign = {"X-CSRF-Token": alice.token(), "Origin": "http://evil.example"}
    assert bulk(alice, every, **foreign).status_code == 403
    assert bulk(alice, every).status_code == 403  # no CSRF token
    changed = bulk(alice, {**every, "expected": 2}, **{"X-CSRF-Token": alice.token()})
    assert changed.status_code == 409 and changed.json()["matching"] == 3
    assert messages_in(kafka_bootstrap, topics.control) == sent_before

    # carol may stop billing-* jobs only: the others of the filter are listed, not sent.
    scoped = bulk(carol, every, **{"X-CSRF-Token": carol.token()})
    assert scoped.status_code == 202
    assert sorted(scoped.json()["sent"]) == ["billing-1", "billing-2"]
    assert "outside the jobs you may stop" in scoped.json()["refused"]["orders-3"]
    assert messages_in(kafka_bootstrap, topics.control) == sent_before + 2
    for command_id in scoped.json()["sent"].values():
        outcome = events.wait_for_command(command_id)[0]
        assert outcome["requested_by"] == "carol" and outcome["status"] == "SNAPSHOT_CANCELLED"


def test_bulk_requests_take_job_ids_only_and_each_job_once(
    kafka_bootstrap: str, topics: Topics, start_worker: Callable[..., WorkerProcess],
    start_console: Callable[..., ConsoleProcess], client: SyncJobsClient, users_file: Path,
    visitors: Callable[..., Visitor], events: EventReader,
) -> None:  # fmt: skip
    start_worker()
    client.wait_for_outcome(client.create("orders-7", "snapshot"), timeout=30)
    console = start_console("--users-file", str(users_file))
    alice = visitors(console)
    alice.login("alice")
    headers = {"Origin": alice.origin, "X-CSRF-Token": alice.token()}
    sent_before = messages_in(kafka_bootstrap, topics.control)

    for bad, named in (
        ([None, False], "null, false"),
        (["orders-7", 7], "not job ids: 7;"),
        (["orders-7", "orders 7"], 'not job ids: "orders 7"'),
    ):
        refused = alice.http.post("/bulk/pause", json={"job_ids": bad}, headers=headers)
        assert refused.status_code == 400, refused.text
        assert named in refused.json()["error"]
    assert messages_in(kafka_bootstrap, topics.control) == sent_before

    repeated = alice.http.post("/bulk/pause", json={"job_ids": ["orders-7"] * 3}, headers=headers)
    assert repeated.status_code == 202 and list(repeated.json()["sent"]) == ["orders-7"]
    assert events.wait_for_command(repeated.json()["sent"]["orders-7"])
    assert messages_in(kafka_bootstrap, topics.control) == sent_before + 1


def test_scheduling_from_the_console_is_checked_like_a_stop_and_sends_nothing_when_refused(
    kafka_bootstrap: str, topics: Topics, start_worker: Callable[..., WorkerProcess],
    start_console: Callable[..., ConsoleProcess], client: SyncJobsClient, users_file: Path,
    visitors: Callable[..., Visitor], events: EventReader,
) -> None:  # fmt: skip
    start_worker()
    client.wait_for_outcome(client.create("crm-5", "continuous"), timeout=30)
    console = start_console("--users-file", str(users_file))
    alice, bob, carol, stranger = (visitors(console) for _ in range(4))
    for visitor, name in ((alice, "alice"), (bob, "bob"), (carol, "carol")):
        assert visitor.login(name).status_code == 303
    later = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    body = {"at": later.isoformat()}

    def schedule(visitor: Visitor, payload: object, **headers: str) -> httpx.Response:
        sent = {"Origin": visitor.origin, **headers}
        return visitor.http.post("/jobs/crm-5/schedule-complete-cdc", json=payload, headers=sent)

    sent_before = messages_in(kafka_bootstrap, topics.control)
    assert schedule(stranger, body).status_code == 401
    assert schedule(alice, body, **{"X-CSRF-Token": "forged"}).status_code == 403
    foreign = {"X-CSRF-Token": alice.token(), "Origin": "http://evil.example"}
    assert schedule(alice, body, **foreign).status_code == 403
    assert schedule(bob, body, **{"X-CSRF-Token": bob.token()}).status_code == 403  # a viewer
    assert schedule(carol, body, **{"X-CSRF-Token": carol.token()}).status_code == 403  # billing-*
    token = {"X-CSRF-Token": alice.token()}
    past = {"at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()}
    for bad, says in (
        (past, "that time has passed"),
        ({"at": "tomorrow"}, "a time with its time zone"),
        ({"at": later.replace(tzinfo=None).isoformat()}, "a time with its time zone"),
        ({}, "a time with its time zone"),
    ):
        refused = schedule(alice, bad, **token)
        assert refused.status_code == 400 and says in refused.json()["error"]
    assert messages_in(kafka_bootstrap, topics.control) == sent_before

    accepted = schedule(alice, body, **token)
    assert accepted.status_code == 202
    outcome = events.wait_for_command(accepted.json()["command_id"])[0]
    assert outcome["type"] == "schedule_changed" and outcome["requested_by"] == "alice"
    assert datetime.fromisoformat(outcome["at"]) == later
    cancelled = alice.http.post(
        "/jobs/crm-5/cancel-schedule", headers={"Origin": alice.origin, **token}
    )
    assert cancelled.status_code == 202
    assert events.wait_for_command(cancelled.json()["command_id"])[0]["at"] is None


class LiveFeed:
    """`GET /stream` read on a thread, as a browser's EventSource would, with the session's
    cookie."""

    def __init__(self, console: ConsoleProcess, cookie: str, view: str) -> None:
        self.view = view  # what the page shows: /stream?ids=... or ?job=...
        self.lines: list[str] = []
        self.ended = threading.Event()
        self._http = httpx.Client(base_url=console.url, timeout=httpx.Timeout(10, read=60))
        self._http.cookies.set("syncctl_session", cookie)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            with self._http.stream("GET", f"/stream?{self.view}") as response:
                assert response.status_code == 200
                for line in response.iter_lines():
                    self.lines.append(line)
        finally:
            self.ended.set()
            self._http.close()

    def mentions(self, job_id: str) -> bool:
        return any(f'"job_id": "{job_id}"' in line for line in list(self.lines))


@pytest.mark.parametrize("ending", ["logout", "expiry", "removed", "demoted"])
def test_an_open_live_feed_ends_within_seconds_when_its_login_does(
    ending: str,
    start_worker: Callable[..., WorkerProcess],
    start_console: Callable[..., ConsoleProcess],
    client: SyncJobsClient,
    users_file: Path,
    visitors: Callable[..., Visitor],
) -> None:
    start_worker()
    # An expiring login lasts 9 s here; the others the default 8 h.
    env = {"SYNCCTL_CONSOLE__SESSION_HOURS": str(9 / 3600)} if ending == "expiry" else {}
    console = start_console("--users-file", str(users_file), env=env)
    alice = visitors(console)
    assert alice.login("alice").status_code == 303
    token = alice.token()
    # A page that shows both jobs (a Job overview's or History's stream follows what is shown).
    feed = LiveFeed(
        console, alice.http.cookies["syncctl_session"], "ids=before-the-end,after-the-end"
    )
    client.wait_for_outcome(client.create("before-the-end", "snapshot"), timeout=30)
    wait_until(lambda: feed.mentions("before-the-end"), 15, "the feed to deliver a new job")

    if ending == "logout":
        form = {"csrf_token": token}
        assert alice.http.post("/logout", data=form, headers={"Origin": alice.origin}).is_redirect
    elif ending == "removed":
        kept = [
            line for line in users_file.read_text().splitlines() if not line.startswith("alice:")
        ]
        users_file.write_text("\n".join(kept) + "\n")
    elif ending == "demoted":
        add_user(users_file, "alice", "viewer", PASSWORDS["alice"])
    ended_at = time.monotonic()
    assert feed.ended.wait(15), "the feed outlived the login"
    if ending != "expiry":
        assert time.monotonic() - ended_at < 5
    assert any(line == "event: ended" for line in feed.lines)

    client.wait_for_outcome(client.create("after-the-end", "snapshot"), timeout=30)
    assert not feed.mentions("after-the-end")
    # Reconnecting with the old cookie gets nothing either (a demoted user's session goes on).
    again = visitors(console)
    again.http.cookies.set("syncctl_session", alice.http.cookies.get("syncctl_session") or "")
    with again.http.stream("GET", "/stream") as reconnected:
        assert reconnected.status_code == (200 if ending == "demoted" else 401)
