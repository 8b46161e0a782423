"""The web console in a real headless Chromium, against a real broker, worker and reference
runner."""

from __future__ import annotations

import http.server
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from tests.integration.harness import (
    ConsoleProcess,
    SyncctlProcess,
    Topics,
    WorkerProcess,
    messages_in,
    wait_until,
)

from syncctl import SyncJobsClient
from syncctl.console.users import add_user
from syncctl.settings import KafkaSettings

pytest.importorskip("playwright")
from playwright.sync_api import (
    APIResponse,
    Browser,
    BrowserContext,
    Page,
    Route,
    expect,
    sync_playwright,
)

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "docs" / "screenshots"
# A snapshot that takes minutes, so that the test decides when it ends.
SLOW_SNAPSHOT = {"rows_per_second": 50, "tables_min": 3, "tables_max": 3, "stop_delay": 1.5}
# A snapshot done in a moment, so that a continuous job reaches CDC at once.
FAST_SNAPSHOT = {
    "rows_per_second": 100_000,
    "rows_per_table_min": 100,
    "rows_per_table_max": 200,
    "stop_delay": 1.5,
}


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("SYNCCTL_E2E_REQUIRED"):
        pytest.fail(
            "no chromium on PATH, and SYNCCTL_E2E_REQUIRED is set (CI installs Debian's chromium)"
        )
    pytest.skip("no chromium on PATH (Debian: apt-get install chromium)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = _chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()


@pytest.fixture
def page_errors() -> Iterator[list[str]]:
    """What the console's pages threw or logged as errors; any is a failure of the test."""
    errors: list[str] = []
    yield errors
    assert errors == [], f"the browser reported errors: {errors}"


def watch_errors(page: Page, errors: list[str]) -> Page:
    page.on("pageerror", lambda error: errors.append(f"uncaught {error}"))
    page.on(
        "console",
        lambda message: (
            errors.append(f"console.error: {message.text}") if message.type == "error" else None
        ),
    )
    return page


@pytest.fixture
def open_page(browser: Browser, page_errors: list[str]) -> Iterator[Callable[..., Page]]:
    """A page in a browser context of its own (`options`: viewport, time zone...), watched for
    errors and closed at the end."""
    contexts: list[BrowserContext] = []

    def open_(**options: Any) -> Page:
        contexts.append(browser.new_context(**options))
        return watch_errors(contexts[-1].new_page(), page_errors)

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page: Callable[..., Page]) -> Page:
    return open_page(viewport={"width": 1366, "height": 800})


PASSWORDS = {"alice": "alice-password", "bob": "bob-password"}
DASH = "\u2013"  # the en dash of History's position (1 to 50 of 3,214 jobs)


@pytest.fixture
def console(
    tmp_path: Path, start_console: Callable[..., ConsoleProcess]
) -> Callable[[], ConsoleProcess]:
    """A console with two built-in users: alice (operator) and bob (viewer)."""
    users = tmp_path / "console-users"
    add_user(users, "alice", "operator", PASSWORDS["alice"])
    add_user(users, "bob", "viewer", PASSWORDS["bob"])
    return lambda: start_console("--users-file", str(users))


def log_in(page: Page, url: str, user: str = "alice", then: str = "/") -> None:
    page.goto(f"{url}{then}")
    expect(page.get_by_role("heading", name="Log in to syncctl")).to_be_visible()
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORDS[user])
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#me")).to_contain_text(user)


@pytest.fixture
def client(kafka_bootstrap: str, topics: Topics) -> SyncJobsClient:
    return SyncJobsClient(
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap),
        topics=topics.settings(),
        requested_by="e2e-test",
    )


def _screenshot(page: Page, name: str) -> None:
    if os.environ.get("SYNCCTL_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def test_terminate_a_snapshot_job_from_history_to_snapshot_cancelled(
    start_worker: Callable[..., WorkerProcess],
    start_runner: Callable[..., SyncctlProcess],
    console: Callable[[], ConsoleProcess],
    client: SyncJobsClient,
    page: Page,
) -> None:
    start_worker()
    start_runner(**SLOW_SNAPSHOT)
    client.create("orders-2026", "snapshot")
    client.create("inventory-sync", "continuous")
    url = console().url

    log_in(page, url)
    row = page.locator('tr[data-job="orders-2026"]')
    expect(row).to_contain_text("Snapshot running", timeout=30_000)
    expect(page.locator('tr[data-job="inventory-sync"]')).to_be_visible()
    expect(page.locator("#live-state")).to_have_text("Live")

    row.get_by_role("link", name="orders-2026").click()
    expect(page.get_by_role("heading", name="Job overview: orders-2026")).to_be_visible()
    expect(page.locator("#job-status")).to_have_text("Snapshot running")
    terminate = page.get_by_role("button", name="Terminate")
    expect(page.get_by_role("button", name="Complete CDC")).to_be_hidden()

    # Keyboard: the dialog opens on Enter with focus on Cancel; Escape closes it and gives the
    # focus back to the button.
    terminate.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Terminate this job?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("stays in the destination")
    expect(dialog).to_contain_text("cannot be resumed")
    expect(page.locator("#confirm-cancel")).to_be_focused()
    _screenshot(page, "confirm-dialog.png")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(terminate).to_be_focused()
    expect(page.locator("#job-status")).to_have_text("Snapshot running")  # nothing was sent

    terminate.click()
    dialog.get_by_role("button", name="Terminate").click()
    # The runner takes 1.5 s to stop: the page shows the stop in progress, then its end.
    expect(page.locator("#job-status")).to_have_text("Cancelling", timeout=30_000)
    expect(terminate).to_be_hidden()
    expect(page.locator("#job-status")).to_have_text("Snapshot cancelled", timeout=30_000)
    snapshot_card = page.locator('#stages [data-stage="Snapshot"]')
    expect(snapshot_card).to_contain_text("Cancelled")
    expect(snapshot_card).to_contain_text("rows")  # what it copied before the stop stays shown
    expect(page.get_by_role("img", name="Cancelled")).to_have_text("×")
    expect(page.locator("#timeline")).to_contain_text("Snapshot running → Cancelling (by alice)")
    expect(page.locator("#timeline")).to_contain_text("Cancelling → Snapshot cancelled")
    expect(page.locator("#action-error")).to_be_hidden()

    page.goto(f"{url}/?status=SNAPSHOT_CANCELLED")
    expect(page.get_by_label("Snapshot cancelled")).to_be_checked()  # the filter, as the URL says
    expect(page.locator("#job-count")).to_have_text(f"1{DASH}1 of 1 matching jobs")
    cancelled = page.locator('tr[data-job="orders-2026"]')
    expect(cancelled).to_be_visible()
    expect(cancelled.get_by_role("img", name="Cancelled")).to_have_text("×")
    expect(cancelled.locator('[data-field="asked_by"]')).to_have_text("alice")
    expect(page.locator('tr[data-job="inventory-sync"]')).to_have_count(0)


def test_complete_cdc_on_a_continuous_job_ends_as_cdc_completed(
    start_worker: Callable[..., WorkerProcess],
    start_runner: Callable[..., SyncctlProcess],
    console: Callable[[], ConsoleProcess],
    client: SyncJobsClient,
    page: Page,
) -> None:
    start_worker()
    start_runner(**FAST_SNAPSHOT)
    client.create("crm-continuous", "continuous")
    url = console().url

    log_in(page, url, then="/jobs/crm-continuous")
    expect(page.locator("#job-status")).to_have_text("CDC running", timeout=30_000)
    expect(page.get_by_role("button", name="Terminate")).to_be_hidden()
    page.get_by_role("button", name="Complete CDC").click()
    dialog = page.get_by_role("dialog", name="Complete CDC for this job?")
    expect(dialog).to_contain_text("temporary data")
    dialog.get_by_role("button", name="Complete CDC").click()
    expect(page.locator("#job-status")).to_have_text("Completing CDC", timeout=30_000)
    expect(page.locator("#job-status")).to_have_text("CDC Completed", timeout=30_000)
    expect(page.locator('#stages [data-stage="Snapshot"]')).to_contain_text("Completed")
    expect(page.locator('#stages [data-stage="CDC"]')).to_contain_text("Completed")
    expect(page.get_by_role("img", name="Completed")).to_have_text("✓")
    expect(page.get_by_role("button", name="Complete CDC")).to_be_hidden()
    page.goto(url)
    expect(
        page.locator('tr[data-job="crm-continuous"]').get_by_role("img", name="Completed")
    ).to_have_text("✓")


def test_history_fills_a_new_jobs_row_and_follows_it_to_its_end_without_a_reload(
    start_worker: Callable[..., WorkerProcess],
    start_runner: Callable[..., SyncctlProcess],
    console: Callable[[], ConsoleProcess],
    client: SyncJobsClient,
    page: Page,
) -> None:
    start_worker()
    # Snapshots of about 18 s: long enough to terminate one, short enough to reach CDC.
    start_runner(
        rows_per_second=100,
        tables_min=3,
        tables_max=3,
        rows_per_table_min=600,
        rows_per_table_max=600,
        stop_delay=1.0,
    )
    url = console().url
    log_in(page, url)
    expect(page.locator("#live-state")).to_have_text("Live")
    expect(page.locator("#job-count")).to_have_text("0 of 0 jobs")

    # New jobs are counted, not poured into the page; "Show" loads them.
    client.create("late-snapshot", "snapshot")
    client.create("late-continuous", "continuous")
    expect(page.locator("#new-jobs")).to_contain_text("2 new jobs", timeout=30_000)
    page.get_by_role("link", name="Show").click()
    snapshot_row = page.locator('tr[data-job="late-snapshot"]')
    continuous_row = page.locator('tr[data-job="late-continuous"]')
    expect(page.locator("#new-jobs")).to_be_hidden()
    expect(page.locator("#job-count")).to_have_text(f"1{DASH}2 of 2 jobs")
    expect(snapshot_row).to_contain_text("Snapshot running", timeout=30_000)
    for field, text in {
        "mode": "snapshot",
        "stage": "Snapshot",
        "progress": "rows",
        "last_change": "ago",
        "asked_by": "e2e-test",
    }.items():
        expect(snapshot_row.locator(f'[data-field="{field}"]')).to_contain_text(text)

    client.terminate("late-snapshot")
    expect(snapshot_row).to_contain_text("Snapshot cancelled", timeout=30_000)
    expect(snapshot_row.get_by_role("img", name="Cancelled")).to_have_text("×")

    expect(continuous_row).to_contain_text("CDC running", timeout=60_000)
    client.complete_cdc("late-continuous")
    expect(continuous_row).to_contain_text("CDC Completed", timeout=30_000)
    expect(continuous_row.get_by_role("img", name="Completed")).to_have_text("✓")
    expect(continuous_row.locator('[data-field="stage"]')).to_have_text("CDC")


def test_a_stop_that_the_worker_rejects_shows_its_reason(
    start_worker: Callable[..., WorkerProcess],
    start_runner: Callable[..., SyncctlProcess],
    console: Callable[[], ConsoleProcess],
    client: SyncJobsClient,
    page: Page,
) -> None:
    start_worker()
    start_runner(**{**SLOW_SNAPSHOT, "stop_delay": 600})  # the engine never confirms in time
    client.create("billing", "snapshot")
    url = console().url

    log_in(page, url, then="/jobs/billing")
    expect(page.locator("#job-status")).to_have_text("Snapshot running", timeout=30_000)
    page.get_by_role("button", name="Terminate").click()
    dialog = page.get_by_role("dialog", name="Terminate this job?")
    expect(dialog).to_be_visible()
    # While the operator reads the dialog, somebody else terminates the job.
    client.wait_for_outcome(client.terminate("billing"), timeout=30)
    expect(page.locator("#job-status")).to_have_text("Cancelling", timeout=30_000)
    # The worker can answer before the POST returns the command's id: hold the POST's answer
    # until the rejection has come through the stream (a race CI once lost).
    held: list[tuple[Route, APIResponse]] = []
    page.route("**/jobs/billing/terminate", lambda route: held.append((route, route.fetch())))
    dialog.get_by_role("button", name="Terminate").click()
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("terminate rejected (stop_in_progress)", timeout=30_000)
    assert len(held) == 1, "the POST was held while its answer came through the stream"
    held[0][0].fulfill(response=held[0][1])
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Not stopped", timeout=30_000)
    expect(alert).to_contain_text("is already stopping")
    expect(page.locator("#timeline")).to_contain_text("terminate rejected (stop_in_progress)")


def test_pause_then_resume_from_the_job_overview(
    start_worker: Callable[..., WorkerProcess],
    start_runner: Callable[..., SyncctlProcess],
    console: Callable[[], ConsoleProcess],
    client: SyncJobsClient,
    page: Page,
) -> None:
    start_worker()
    start_runner(**SLOW_SNAPSHOT)
    client.create("nightly", "snapshot")
    url = console().url

    log_in(page, url, then="/jobs/nightly")
    expect(page.locator("#job-status")).to_have_text("Snapshot running", timeout=30_000)
    page.get_by_role("button", name="Pause").click()
    dialog = page.get_by_role("dialog", name="Pause this job?")
    expect(dialog).to_contain_text("nothing is lost")
    expect(page.locator("#confirm-no-resume")).to_be_hidden()  # a pause can be undone
    dialog.get_by_role("button", name="Pause").click()
    expect(page.locator("#job-status")).to_have_text("Pausing", timeout=30_000)
    expect(page.locator("#job-status")).to_have_text("Paused", timeout=30_000)
    expect(page.locator('#stages [data-stage="Snapshot"]')).to_contain_text("Paused")
    expect(page.get_by_role("button", name="Pause")).to_be_hidden()
    expect(page.get_by_role("button", name="Terminate")).to_be_visible()  # still stoppable
    _screenshot(page, "job-paused.png")

    page.get_by_role("button", name="Resume").click()
    page.get_by_role("dialog", name="Resume this job?").get_by_role("button", name="Resume").click()
    expect(page.locator("#job-status")).to_have_text("Snapshot running", timeout=30_000)
    expect(page.locator("#timeline")).to_contain_text("Paused → Resuming (by alice)")
    expect(page.get_by_role("button", name="Resume")).to_be_hidden()
    expect(page.locator("#action-note")).to_have_text("")


def test_pause_two_jobs_at_once_from_history(
    start_worker: Callable[..., WorkerProcess],
    start_runner: Callable[..., SyncctlProcess],
    console: Callable[[], ConsoleProcess],
    client: SyncJobsClient,
    page: Page,
) -> None:
    start_worker()
    start_runner(**SLOW_SNAPSHOT)
    for job_id in ("eu-orders", "us-orders", "ledger-2026"):
        client.create(job_id, "snapshot")
    url = console().url

    log_in(page, url)
    for job_id in ("eu-orders", "us-orders", "ledger-2026"):
        row = page.locator(f'tr[data-job="{job_id}"]')
        expect(row).to_contain_text("Snapshot running", timeout=30_000)
    page.get_by_label("Select eu-orders").check()
    page.get_by_label("Select us-orders").check()
    page.get_by_label("Selected jobs", exact=True).select_option("pause")
    page.get_by_role("button", name="Apply to 2 selected").click()
    dialog = page.get_by_role("dialog", name="Pause 2 job(s)?")
    dialog.get_by_role("button", name="Pause").click()
    expect(page.locator("#bulk-note")).to_contain_text("Sent to 2 job(s)")
    for job_id in ("eu-orders", "us-orders"):
        expect(page.locator(f'tr[data-job="{job_id}"]')).to_contain_text("Paused", timeout=30_000)
    expect(page.locator('tr[data-job="ledger-2026"]')).to_contain_text("Snapshot running")
    _screenshot(page, "history-bulk.png")


def test_history_pages_filters_and_searches_and_counts_new_matching_jobs(
    start_worker: Callable[..., WorkerProcess],
    console: Callable[[], ConsoleProcess],
    client: SyncJobsClient,
    page: Page,
) -> None:
    start_worker()
    for number in range(1, 6):
        client.wait_for_outcome(client.create(f"fleet-{number}", "snapshot"), timeout=30)
    client.wait_for_outcome(client.create("other-1", "continuous"), timeout=30)
    url = console().url

    log_in(page, url, then="/?prefix=fleet-&limit=2")
    count = page.locator("#job-count")
    expect(count).to_have_text(f"1{DASH}2 of 5 matching jobs")
    expect(page.get_by_label("Job id starts with")).to_have_value("fleet-")
    shown = page.locator("#history tbody tr")
    expect(shown).to_have_count(2)
    expect(shown.nth(0)).to_have_attribute("data-job", "fleet-5")  # newest change first
    page.get_by_role("link", name="Older →").click()
    expect(count).to_have_text(f"3{DASH}4 of 5 matching jobs")
    expect(shown.nth(0)).to_have_attribute("data-job", "fleet-3")
    assert "prefix=fleet-" in page.url and "limit=2" in page.url  # a link to share
    page.get_by_role("link", name="Older →").click()
    expect(count).to_have_text(f"5{DASH}5 of 5 matching jobs")
    expect(page.get_by_role("link", name="Older →")).to_have_count(0)
    page.get_by_role("link", name="← Newer").click()
    expect(count).to_have_text(f"3{DASH}4 of 5 matching jobs")

    # A search and a mode, from the form.
    page.get_by_label("Job id starts with").fill("other")
    page.get_by_label("Mode").select_option("continuous")
    page.get_by_role("button", name="Filter").click()
    expect(count).to_have_text(f"1{DASH}1 of 1 matching jobs")
    expect(shown.nth(0)).to_have_attribute("data-job", "other-1")
    assert "mode=continuous" in page.url

    # On the first page of a filter, a new job that matches it is counted; one that does not
    # is not; a job changing on the page changes in place.
    page.goto(f"{url}/?prefix=fleet-")
    expect(page.locator("#live-state")).to_have_text("Live")
    client.create("elsewhere-1", "snapshot")
    client.wait_for_outcome(client.create("fleet-6", "snapshot"), timeout=30)
    expect(page.locator("#new-jobs")).to_have_text("1 new job Show", timeout=30_000)
    client.wait_for_outcome(client.terminate("fleet-2"), timeout=30)
    expect(page.locator('tr[data-job="fleet-2"]')).to_contain_text("Snapshot cancelled")
    expect(page.locator("#new-jobs")).to_have_text("1 new job Show")
    page.get_by_role("link", name="Show").click()
    expect(count).to_have_text(f"1{DASH}6 of 6 matching jobs")
    expect(shown.nth(0)).to_have_attribute("data-job", "fleet-2")  # its change is the newest
    expect(page.locator('tr[data-job="elsewhere-1"]')).to_have_count(0)


def test_pause_every_job_of_a_filter_after_confirming_how_many(
    start_worker: Callable[..., WorkerProcess],
    start_runner: Callable[..., SyncctlProcess],
    console: Callable[[], ConsoleProcess],
    client: SyncJobsClient,
    page: Page,
    page_errors: list[str],
) -> None:
    start_worker()
    start_runner(**SLOW_SNAPSHOT)
    for job_id in ("eu-orders-1", "eu-orders-2", "eu-orders-3", "us-orders-1"):
        client.create(job_id, "snapshot")
    url = console().url
    log_in(page, url)
    for job_id in ("eu-orders-1", "eu-orders-2", "eu-orders-3", "us-orders-1"):
        expect(page.locator(f'tr[data-job="{job_id}"]')).to_contain_text(
            "Snapshot running", timeout=30_000
        )

    page.goto(f"{url}/?status=SNAPSHOT_RUNNING&prefix=eu-")
    expect(page.locator("#job-count")).to_have_text(f"1{DASH}3 of 3 matching jobs")
    page.get_by_label("Selected jobs", exact=True).select_option("pause")
    page.get_by_role("button", name="Apply to all 3 matching jobs").click()
    dialog = page.get_by_role("dialog", name="Pause all 3 matching jobs?")
    expect(dialog).to_contain_text("prefix=eu-")
    expect(dialog).to_contain_text("status=SNAPSHOT_RUNNING")
    dialog.get_by_role("button", name="Pause").click()
    expect(page.locator("#bulk-note")).to_contain_text("Sent to 3 job(s)")
    for job_id in ("eu-orders-1", "eu-orders-2", "eu-orders-3"):
        expect(page.locator(f'tr[data-job="{job_id}"]')).to_contain_text("Paused", timeout=30_000)
    statuses = {job.job_id: job.status for job in client.jobs()}
    assert statuses["us-orders-1"] == "SNAPSHOT_RUNNING"

    # The same button on a page whose count is out of date: nothing is sent, the page says why.
    page.goto(f"{url}/?prefix=us-")
    expect(page.locator("#job-count")).to_have_text(f"1{DASH}1 of 1 matching jobs")
    client.wait_for_outcome(client.create("us-orders-2", "snapshot"), timeout=30)
    page.get_by_label("Selected jobs", exact=True).select_option("pause")
    page.get_by_role("button", name="Apply to all 1 matching jobs").click()
    page.get_by_role("dialog", name="Pause all 1 matching jobs?").get_by_role(
        "button", name="Pause"
    ).click()
    expect(page.locator("#bulk-note")).to_contain_text("2 jobs match now, not the 1 you confirmed")
    assert {job.job_id: job.status for job in client.jobs()}["us-orders-1"] == "SNAPSHOT_RUNNING"
    # Chromium logs the refused request (409) as a failed load: expected here, and nothing else.
    assert [e for e in page_errors if "status of 409" not in e] == []
    page_errors.clear()


def test_schedule_move_and_cancel_a_complete_cdc_in_the_viewers_time_zone(
    start_worker: Callable[..., WorkerProcess],
    start_runner: Callable[..., SyncctlProcess],
    console: Callable[[], ConsoleProcess],
    client: SyncJobsClient,
    open_page: Callable[..., Page],
) -> None:
    start_worker()
    start_runner(**FAST_SNAPSHOT)
    client.create("cutover", "continuous")
    url = console().url
    zone = ZoneInfo("America/New_York")
    page = open_page(viewport={"width": 1366, "height": 800}, timezone_id=zone.key, locale="en-GB")
    log_in(page, url, then="/jobs/cutover")
    expect(page.locator("#job-status")).to_have_text("CDC running", timeout=30_000)
    expect(page.locator("#schedule-zone")).to_have_text("(your time, America/New_York)")

    def schedule_at(hours: int, button: str) -> datetime:
        local = (datetime.now(zone) + timedelta(hours=hours)).replace(second=0, microsecond=0)
        page.get_by_label("Complete CDC at").fill(local.strftime("%Y-%m-%dT%H:%M"))
        utc = local.astimezone(UTC)
        expect(page.locator("#schedule-utc")).to_have_text(f"= {utc:%Y-%m-%d %H:%M} UTC")
        page.get_by_role("button", name=button, exact=True).click()
        dialog = page.get_by_role("dialog", name="Schedule Complete CDC?")
        expect(dialog).to_contain_text("(America/New_York)")
        expect(dialog).to_contain_text(f"{utc:%Y-%m-%d %H:%M} UTC")
        expect(dialog).to_contain_text("move or cancel")
        dialog.get_by_role("button", name="Schedule Complete CDC").click()
        scheduled = page.locator("#job-scheduled")
        expect(scheduled).to_contain_text(f"{utc:%Y-%m-%d %H:%M} UTC", timeout=30_000)
        expect(scheduled).to_contain_text("(America/New_York)")
        expect(scheduled).to_contain_text(f"{local:%-d %b %Y}, {local:%H:%M} (America/New_York)")
        expect(scheduled).to_contain_text("(by alice)")
        return utc

    first = schedule_at(2, "Schedule")
    assert _scheduled_at(client, "cutover") == first
    _screenshot(page, "job-scheduled.png")
    moved = schedule_at(5, "Move schedule")
    assert _scheduled_at(client, "cutover") == moved

    page.get_by_role("button", name="Cancel schedule").click()
    dialog = page.get_by_role("dialog", name="Cancel the scheduled Complete CDC?")
    dialog.get_by_role("button", name="Cancel schedule").click()
    expect(page.locator("#job-scheduled-fact")).to_be_hidden(timeout=30_000)
    expect(page.get_by_role("button", name="Schedule", exact=True)).to_be_visible()
    assert _scheduled_at(client, "cutover") is None
    expect(page.locator("#job-status")).to_have_text("CDC running")

    page.get_by_label("Complete CDC at").fill("2020-01-01T00:00")
    page.get_by_role("button", name="Schedule", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("Choose a time to come for Complete CDC.")
    expect(page.get_by_role("dialog")).to_be_hidden()


def _scheduled_at(client: SyncJobsClient, job_id: str) -> datetime | None:
    record = next(record for record in client.jobs() if record.job_id == job_id)
    return record.scheduled.at.astimezone(UTC) if record.scheduled else None


def test_a_viewer_finds_no_stop_button(
    start_worker: Callable[..., WorkerProcess],
    start_runner: Callable[..., SyncctlProcess],
    console: Callable[[], ConsoleProcess],
    client: SyncJobsClient,
    page: Page,
) -> None:
    start_worker()
    start_runner(**SLOW_SNAPSHOT)
    client.create("payroll", "snapshot")
    url = console().url

    log_in(page, url, user="bob", then="/jobs/payroll")
    expect(page.locator("#job-status")).to_have_text("Snapshot running", timeout=30_000)
    expect(page.locator("#me")).to_contain_text("viewer")
    expect(page.get_by_role("button", name="Terminate")).to_have_count(0)
    expect(page.locator("#view-only")).to_contain_text("needs the operator role")


def test_a_cross_site_form_and_fetch_in_the_browser_send_no_command(
    kafka_bootstrap: str,
    topics: Topics,
    start_worker: Callable[..., WorkerProcess],
    console: Callable[[], ConsoleProcess],
    client: SyncJobsClient,
    page: Page,
    page_errors: list[str],
) -> None:
    start_worker()
    client.wait_for_outcome(client.create("ledger", "snapshot"), timeout=30)
    served = console()
    log_in(page, served.url)  # the operator's browser holds a live session
    sent_before = messages_in(kafka_bootstrap, topics.control)

    # A page on another origin that the operator happens to open: a no-cors fetch, then an
    # auto-submitting form, both at the console's Terminate.
    target = f"{served.url}/jobs/ledger/terminate"
    attack = f"""<!doctype html><title>cute cats</title>
<form id="f" method="post" action="{target}"><input name="x" value="1"></form>
<script>
fetch("{target}", {{method: "POST", mode: "no-cors", credentials: "include"}})
  .finally(() => document.getElementById("f").submit());
</script>"""
    with _serve_page(attack) as attacker:
        page.goto(attacker)
        page.wait_for_url(target)  # the form was submitted and answered
    wait_until(lambda: len(served.audit()) >= 3, 10, "the console to audit both requests")

    refused = [
        (entry["outcome"], entry.get("reason"))
        for entry in served.audit()
        if entry["event"] == "console action"
    ]
    assert refused == [("refused", "cross_origin")] * 2
    assert messages_in(kafka_bootstrap, topics.control) == sent_before
    assert {job.job_id: job.status for job in client.jobs()}["ledger"] == "NOT_STARTED"
    # Chromium logs the two refused requests as failed loads (403): expected here, and nothing else.
    refused_loads = [e for e in page_errors if "status of 403" in e]
    assert len(refused_loads) == len(page_errors)
    page_errors.clear()


def test_history_and_job_overview_fit_a_phone(
    start_worker: Callable[..., WorkerProcess],
    start_runner: Callable[..., SyncctlProcess],
    console: Callable[[], ConsoleProcess],
    client: SyncJobsClient,
    open_page: Callable[..., Page],
) -> None:
    start_worker()
    start_runner(**SLOW_SNAPSHOT)
    client.create("warehouse-nightly-export-2026", "continuous")
    url = console().url
    phone = open_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    log_in(phone, url)
    row = phone.locator('tr[data-job="warehouse-nightly-export-2026"]')
    expect(row).to_contain_text("Snapshot running", timeout=30_000)
    _assert_fits(phone, 390)
    row.get_by_role("link").click()
    expect(phone.locator("#job-status")).to_have_text("Snapshot running")
    expect(phone.get_by_role("button", name="Terminate")).to_be_visible()
    _assert_fits(phone, 390)


def _assert_fits(page: Page, width: int) -> None:
    """Nothing scrolls sideways, and the header bar spans the screen."""
    page_width = page.evaluate("document.documentElement.scrollWidth")
    header_width = page.evaluate(
        "document.querySelector('header.top').getBoundingClientRect().width"
    )
    assert page_width <= width, f"the page is {page_width} px wide on a {width} px screen"
    assert header_width == width, f"the header bar is {header_width} px wide on a {width} px screen"


@contextmanager
def _serve_page(html: str) -> Iterator[str]:
    """One HTML page on another local origin (another port)."""
    body = html.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# Every run of letters and digits whose text lands on more than one line: a word or an id split
# inside itself ("Snapsho|t", "shop_live_1519|23"). Breaks at spaces, hyphens and the <wbr>
# after _ . / : are natural and not counted; a status badge must keep all of it on one line.
_BROKEN_WORDS = """(selector) => {
  const lines = (range) => new Set([...range.getClientRects()]
    .filter((r) => r.width > 0).map((r) => Math.round(r.top))).size;
  // Clipped to a pixel for screen readers only (.visually-hidden, a phone's table header).
  const forScreenReaders = (element) => {
    for (; element; element = element.parentElement) {
      if (element.getBoundingClientRect().width <= 1) return true;
    }
    return false;
  };
  const broken = [];
  const range = document.createRange();
  for (const root of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (forScreenReaders(node.parentElement)) continue;
      for (const word of node.textContent.matchAll(/[\\p{L}\\p{N}]+/gu)) {
        range.setStart(node, word.index);
        range.setEnd(node, word.index + word[0].length);
        if (lines(range) > 1) broken.push(word[0]);
      }
    }
  }
  for (const badge of document.querySelectorAll(`${selector} .status`)) {
    range.selectNodeContents(badge);
    if (lines(range) > 1) broken.push(`badge: ${badge.textContent.trim()}`);
  }
  return broken;
}"""


def test_words_ids_and_badges_wrap_only_at_natural_break_points(
    start_worker: Callable[..., WorkerProcess],
    start_runner: Callable[..., SyncctlProcess],
    console: Callable[[], ConsoleProcess],
    client: SyncJobsClient,
    open_page: Callable[..., Page],
) -> None:
    """History and the Job overview at 1366 px and on a phone (390 px), with the ids, database
    names and progress texts of a real fleet: nothing is split inside a word, and these are
    the screenshots the README shows."""
    start_worker()
    start_runner(**SLOW_SNAPSHOT)
    spec = {
        "source": "shop",
        "tables": ["public.customers", "public.order_items", "public.products"],
        "destination": "archive",
        "database": "shop_live_151923",
    }
    jobs = [
        ("shop-live-151923", "continuous"),
        ("invoices-backfill-2026-q4", "snapshot"),
        ("warehouse-nightly-export-2026", "continuous"),
        ("orders-182901", "snapshot"),
    ]
    for job_id, mode in jobs:
        client.create(job_id, mode, spec=spec, requested_by="migration-team-eu-west")
    client.wait_for_outcome(
        client.terminate("invoices-backfill-2026-q4", requested_by="operations-on-call"), 30
    )
    url = console().url
    for width, height, name in ((1366, 800, "history.png"), (390, 844, "history-phone.png")):
        page = open_page(viewport={"width": width, "height": height}, is_mobile=width < 640)
        log_in(page, url)
        for job_id, _ in jobs:
            expect(page.locator(f'tr[data-job="{job_id}"]')).to_contain_text(
                "Snapshot cancelled" if job_id.startswith("invoices") else "Snapshot running",
                timeout=30_000,
            )
        expect(page.locator('tr[data-job="orders-182901"]')).to_contain_text("rows")
        assert page.evaluate(_BROKEN_WORDS, "main") == [], f"History at {width} px"
        _assert_fits(page, width)
        _screenshot(page, name)
        page.locator('tr[data-job="shop-live-151923"]').get_by_role("link").click()
        expect(page.locator("#job-copies")).to_contain_text("shop_live_151923")
        assert page.evaluate(_BROKEN_WORDS, "main") == [], f"Job overview at {width} px"
        _assert_fits(page, width)
        _screenshot(page, "job-overview.png" if width > 640 else "job-overview-phone.png")
