"""The web console in a real headless Chromium, against a real broker, worker and reference runner."""

from __future__ import annotations

import json
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from syncctl import SyncJobsClient
from syncctl.settings import KafkaSettings
from syncctl.testing import free_port
from tests.integration.harness import SyncctlProcess, Topics, WorkerProcess, messages_in, syncctl_env, wait_until

pytest.importorskip("playwright")
from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "docs" / "screenshots"
# A snapshot that takes minutes, so that the test decides when it ends.
SLOW_SNAPSHOT = {"rows_per_second": 50, "tables_min": 3, "tables_max": 3, "stop_delay": 1.5}
# A snapshot done in a moment, so that a continuous job reaches CDC at once.
FAST_SNAPSHOT = {"rows_per_second": 100_000, "rows_per_table_min": 100, "rows_per_table_max": 200, "stop_delay": 1.5}


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("SYNCCTL_E2E_REQUIRED"):
        pytest.fail("no chromium on PATH, and SYNCCTL_E2E_REQUIRED is set (CI installs Debian's chromium)")
    pytest.skip("no chromium on PATH (Debian: apt-get install chromium)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = _chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 800})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def console(kafka_bootstrap: str, topics: Topics) -> Iterator[Callable[[], str]]:
    started: list[SyncctlProcess] = []

    def start() -> str:
        port = free_port()
        process = SyncctlProcess(["console", "--port", str(port)], syncctl_env(kafka_bootstrap, topics))
        process.start()
        started.append(process)
        url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            assert process.process is not None and process.process.poll() is None, "".join(process.raw_stderr)
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                    return response.status == 200
            except OSError:
                return False

        wait_until(ready, 60, "the console to serve")
        return url

    yield start
    for process in started:
        process.stop()


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
    console: Callable[[], str],
    client: SyncJobsClient,
    page: Page,
) -> None:
    start_worker()
    start_runner(**SLOW_SNAPSHOT)
    client.create("orders-2026", "snapshot")
    client.create("inventory-sync", "continuous")
    url = console()

    page.goto(url)
    row = page.locator('tr[data-job="orders-2026"]')
    expect(row).to_contain_text("Snapshot running", timeout=30_000)
    expect(page.locator('tr[data-job="inventory-sync"]')).to_be_visible()
    expect(page.locator("#live-state")).to_have_text("Live")
    _screenshot(page, "history.png")

    row.get_by_role("link", name="orders-2026").click()
    expect(page.get_by_role("heading", name="Job overview: orders-2026")).to_be_visible()
    expect(page.locator("#job-status")).to_have_text("Snapshot running")
    terminate = page.get_by_role("button", name="Terminate")
    expect(page.get_by_role("button", name="Complete CDC")).to_be_hidden()
    _screenshot(page, "job-overview.png")

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
    expect(page.locator('#stages [data-stage="Snapshot"]')).to_contain_text("Cancelled")
    expect(page.locator("#timeline")).to_contain_text("Cancelling → Snapshot cancelled")
    expect(page.locator("#action-error")).to_be_hidden()

    page.goto(f"{url}/?status=SNAPSHOT_CANCELLED")
    expect(page.locator('tr[data-job="orders-2026"]')).to_be_visible()
    expect(page.locator('tr[data-job="inventory-sync"]')).to_have_count(0)


def test_complete_cdc_on_a_continuous_job_ends_as_cdc_completed(
    start_worker: Callable[..., WorkerProcess],
    start_runner: Callable[..., SyncctlProcess],
    console: Callable[[], str],
    client: SyncJobsClient,
    page: Page,
) -> None:
    start_worker()
    start_runner(**FAST_SNAPSHOT)
    client.create("crm-continuous", "continuous")
    url = console()

    page.goto(f"{url}/jobs/crm-continuous")
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
    expect(page.get_by_role("button", name="Complete CDC")).to_be_hidden()


def test_a_stop_that_the_worker_rejects_shows_its_reason(
    start_worker: Callable[..., WorkerProcess],
    start_runner: Callable[..., SyncctlProcess],
    console: Callable[[], str],
    client: SyncJobsClient,
    page: Page,
) -> None:
    start_worker()
    start_runner(**{**SLOW_SNAPSHOT, "stop_delay": 600})  # the engine never confirms in time
    client.create("billing", "snapshot")
    url = console()

    page.goto(f"{url}/jobs/billing")
    expect(page.locator("#job-status")).to_have_text("Snapshot running", timeout=30_000)
    page.get_by_role("button", name="Terminate").click()
    dialog = page.get_by_role("dialog", name="Terminate this job?")
    expect(dialog).to_be_visible()
    # While the operator reads the dialog, somebody else terminates the job.
    client.wait_for_outcome(client.terminate("billing"), timeout=30)
    expect(page.locator("#job-status")).to_have_text("Cancelling", timeout=30_000)
    dialog.get_by_role("button", name="Terminate").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Not stopped", timeout=30_000)
    expect(alert).to_contain_text("is already stopping")
    expect(page.locator("#timeline")).to_contain_text("terminate rejected (stop_in_progress)")


@pytest.mark.parametrize(("job_id", "problem"), [("bad%20id", "is not valid"), ("x" * 200, "is not valid")])
def test_a_stop_for_a_malformed_job_id_is_a_client_error_and_sends_nothing(
    kafka_bootstrap: str,
    topics: Topics,
    start_worker: Callable[..., WorkerProcess],
    console: Callable[[], str],
    job_id: str,
    problem: str,
) -> None:
    start_worker()
    url = console()
    request = urllib.request.Request(f"{url}/jobs/{job_id}/terminate", method="POST", data=b"")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
    assert problem in json.loads(refused.value.read())["error"]
    assert messages_in(kafka_bootstrap, topics.control) == 0, "the console sent a command for a malformed request"
