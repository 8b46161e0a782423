"""History over HTTP (the real app, a feed fed without Kafka): pages, filters in the URL, search,
the live view of a page, and bulk actions over a whole filter."""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.datastructures import QueryParams
from starlette.testclient import TestClient

from syncctl.console.app import create_app, stream_view
from syncctl.console.users import add_user
from syncctl.contract import Status
from syncctl.contract.serialization import to_json
from syncctl.selection import Selector
from syncctl.settings import ConsoleSettings, Settings
from tests.unit.console.fleet import STATE, FedFeed, RecordingClient, messages
from tests.unit.console.test_index import record

URL = "http://127.0.0.1:8080"
PASSWORDS = {"alice": "alice-password", "bob": "bob-password"}


@pytest.fixture(scope="module")
def fleet() -> FedFeed:
    feed = FedFeed()
    feed.take_all(messages(600))
    return feed


@pytest.fixture
def sent() -> RecordingClient:
    return RecordingClient()


@pytest.fixture
def http(fleet: FedFeed, sent: RecordingClient) -> Iterator[TestClient]:
    """The loopback console without a login: everyone here is an operator."""
    with TestClient(create_app(Settings(), fleet, sent), base_url=URL) as client:  # type: ignore[arg-type]
        yield client


def shows(page: str) -> str:
    found = re.search(r'id="job-count"[^>]*>([^<]*)', page)
    assert found, "the page says nothing of its position"
    return found.group(1).replace("\u2013", "-")  # the en dash of "1\u201350", as a hyphen


def rows(page: str) -> list[str]:
    return re.findall(r'<tr data-job="([^"]+)"', page)


def link(page: str, name: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" id="{name}"', page)
    return html.unescape(found.group(1)) if found else None


def test_history_pages_forward_and_back_with_their_position(http: TestClient) -> None:
    first = http.get("/").text
    assert shows(first) == "1-50 of 600 jobs" and len(rows(first)) == 50
    assert link(first, "page-newer") is None
    second = http.get(f"/{link(first, 'page-older')}").text
    assert shows(second) == "51-100 of 600 jobs"
    assert not set(rows(first)) & set(rows(second))
    back = http.get(f"/{link(second, 'page-newer')}").text
    assert rows(back) == rows(first) and shows(back) == "1-50 of 600 jobs"
    last = http.get("/?limit=200").text
    for _ in range(2):
        last = http.get(f"/{link(last, 'page-older')}").text
    assert shows(last) == "401-600 of 600 jobs" and link(last, "page-older") is None
    assert len(http.get("/?limit=100000").text) < 600_000  # the page size is capped (200)
    assert shows(http.get("/?limit=100000").text) == "1-200 of 600 jobs"


def test_a_filter_lives_in_the_url_and_its_links(http: TestClient, fleet: FedFeed) -> None:
    wanted = Selector.parse(["status=CDC_RUNNING,PAUSED", "mode=continuous"])
    total = fleet.count(wanted)
    page = http.get("/?status=CDC_RUNNING&status=PAUSED&mode=continuous&limit=25").text
    assert shows(page) == f"1-25 of {total} matching jobs"
    for job_id in rows(page):
        job = fleet.record(job_id)
        assert job is not None and wanted.matches(job)
    # The form shows the filter; the link to the next page keeps it.
    assert re.search(r'value="CDC_RUNNING" checked', page)
    assert re.search(r'value="PAUSED" checked', page)
    assert re.search(r'<option value="continuous" selected>', page)
    older = link(page, "page-older") or ""
    assert "status=CDC_RUNNING" in older and "status=PAUSED" in older
    assert "mode=continuous" in older and "limit=25" in older
    assert shows(http.get(f"/{older}").text) == f"26-50 of {total} matching jobs"
    # The comma form of the CLI's selector reads the same.
    same = http.get("/?status=CDC_RUNNING,PAUSED&mode=continuous&limit=25").text
    assert rows(same) == rows(page)


def test_search_by_job_id_prefix(http: TestClient, fleet: FedFeed) -> None:
    some = rows(http.get("/").text)[0]
    prefix = some[:-2]
    page = http.get(f"/?prefix={prefix}").text
    found = rows(page)
    assert some in found and all(job_id.startswith(prefix) for job_id in found)
    assert shows(page).endswith(
        f"of {fleet.count(Selector.parse([f'prefix={prefix}']))} matching jobs"
    )
    nothing = http.get("/?prefix=no-such-job").text
    assert rows(nothing) == [] and "No jobs match this filter." in nothing


def test_a_filter_that_is_not_one_is_refused_with_the_reason(http: TestClient) -> None:
    refused = http.get("/?mode=sideways")
    assert refused.status_code == 400 and rows(refused.text) == []
    assert "selector" in refused.text and 'id="filter-error"' in refused.text
    stale = http.get("/?after=not-a-cursor").text
    assert "That page link is not valid here" in stale and shows(stale).startswith("1-50 of")


def test_bulk_over_a_filter_sends_one_command_per_matching_job_once_the_count_is_right(
    http: TestClient, fleet: FedFeed, sent: RecordingClient
) -> None:
    terms = ["status=CDC_RUNNING", "prefix=orders-"]
    matching = fleet.matching(Selector.parse(terms))
    assert matching
    page = http.get("/?status=CDC_RUNNING&prefix=orders-").text
    assert f"Apply to all {len(matching)} matching jobs" in page
    headers = {"Origin": URL, "X-CSRF-Token": token(page)}
    changed = http.post(
        "/bulk/pause", json={"selector": terms, "expected": len(matching) + 1}, headers=headers
    )
    assert changed.status_code == 409 and changed.json()["matching"] == len(matching)
    assert "nothing was sent" in changed.json()["error"] and sent.sent == []

    accepted = http.post(
        "/bulk/pause", json={"selector": terms, "expected": len(matching)}, headers=headers
    )
    assert accepted.status_code == 202, accepted.text
    assert sorted(accepted.json()["sent"]) == sorted(matching)
    assert sorted(message.job_id for message in sent.sent) == sorted(matching)
    assert {message.type for message in sent.sent} == {"pause"}
    assert len({message.command_id for message in sent.sent}) == len(matching)

    for bad in ({"selector": ["colour=red"], "expected": 1}, {"selector": [], "expected": 1},
                {"selector": terms}, {"selector": terms, "expected": "3"}):  # fmt: skip
        assert http.post("/bulk/pause", json=bad, headers=headers).status_code == 400
    assert len(sent.sent) == len(matching)


def token(page: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
    assert found
    return found.group(1)


@pytest.fixture
def with_users(tmp_path: Path, fleet: FedFeed, sent: RecordingClient) -> Iterator[TestClient]:
    users = tmp_path / "users"
    add_user(users, "alice", "operator", PASSWORDS["alice"])
    add_user(users, "bob", "viewer", PASSWORDS["bob"])
    settings = Settings(console=ConsoleSettings(users_file=users))
    with TestClient(create_app(settings, fleet, sent), base_url=URL) as client:  # type: ignore[arg-type]
        yield client


def test_a_stranger_and_a_viewer_cannot_act_on_a_filter_and_nothing_is_sent(
    with_users: TestClient, fleet: FedFeed, sent: RecordingClient
) -> None:
    terms = ["status=CDC_RUNNING"]
    body = {"selector": terms, "expected": fleet.count(Selector.parse(terms))}
    stranger = with_users.post("/bulk/pause", json=body, headers={"Origin": URL})
    assert stranger.status_code == 401
    login = with_users.post(
        "/login", data={"user": "bob", "password": PASSWORDS["bob"], "next": "/"},
        headers={"Origin": URL}, follow_redirects=False,
    )  # fmt: skip
    assert login.status_code == 303
    page = with_users.get("/?status=CDC_RUNNING").text
    assert "matching jobs</button>" not in page  # no bulk controls for a viewer
    viewer = with_users.post(
        "/bulk/pause", json=body, headers={"Origin": URL, "X-CSRF-Token": token(page)}
    )
    assert viewer.status_code == 403 and "viewers cannot pause jobs" in viewer.json()["error"]
    forged = with_users.post(
        "/bulk/pause",
        json=body,
        headers={"Origin": "http://evil.example", "X-CSRF-Token": token(page)},
    )
    assert forged.status_code == 403
    assert sent.sent == []


def test_a_page_follows_its_rows_and_counts_other_matching_jobs_that_change() -> None:
    """What /stream would send: rows of the page as they change, and for a first page only a
    count of the other jobs of its filter that changed (each once)."""
    feed = FedFeed()
    feed.take(STATE, b"on-page", to_json(record("on-page", 1, Status.CDC_RUNNING)))
    feed.take(STATE, b"elsewhere", to_json(record("elsewhere", 2, Status.CDC_RUNNING)))
    feed.start()
    view = stream_view(QueryParams("ids=on-page&status=CDC_RUNNING&first=1"))
    assert (view.ids, view.selector, view.count_new, view.events) == (
        frozenset({"on-page"}), Selector.parse(["status=CDC_RUNNING"]), True, False,
    )  # fmt: skip
    job_view = stream_view(QueryParams("job=on-page"))
    assert (job_view.ids, job_view.count_new, job_view.events) == (
        frozenset({"on-page"}),
        False,
        True,
    )

    async def run() -> list[str]:
        queue = feed.subscribe(view)
        feed.take(STATE, b"on-page", to_json(record("on-page", 5, Status.PAUSED)))
        for minute in (6, 7):  # the same job twice: one new job
            feed.take(STATE, b"elsewhere", to_json(record("elsewhere", minute, Status.CDC_RUNNING)))
        feed.take(STATE, b"fresh", to_json(record("fresh", 8, Status.CDC_RUNNING)))
        feed.take(STATE, b"other", to_json(record("other", 9, Status.PAUSED)))  # not the filter
        await asyncio.sleep(0)
        got = []
        while not queue.empty():
            got.append(queue.get_nowait())
        feed.unsubscribe(queue)
        return got

    payloads = asyncio.run(run())
    assert [json.loads(p)["job"]["job_id"] for p in payloads] == ["on-page"]
    assert json.loads(payloads[0])["job"]["status"] == "PAUSED"
    assert view.new == {"elsewhere", "fresh"}
