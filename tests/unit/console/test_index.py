"""History's index: its order, pages that stay put while jobs change, filters, counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from syncctl.console.index import Entry, JobIndex, decode_cursor, encode_cursor, matches
from syncctl.contract import JobRecord, JobSpec, Mode, Stages, StageState, Status
from syncctl.contract.serialization import to_json
from syncctl.selection import Selector
from tests.unit.console.fleet import EVENTS, STATE, FedFeed, messages

T0 = datetime(2026, 12, 1, tzinfo=UTC)
STAGES = {
    Status.CDC_RUNNING: Stages(snapshot=StageState.COMPLETED, cdc=StageState.RUNNING),
    Status.CDC_COMPLETED: Stages(snapshot=StageState.COMPLETED, cdc=StageState.COMPLETED),
}


def record(
    job_id: str,
    minute: int,
    status: Status = Status.SNAPSHOT_RUNNING,
    mode: Mode = Mode.CONTINUOUS,
    by: str | None = "alice",
    source: str = "shop",
) -> JobRecord:
    at = T0 + timedelta(minutes=minute)
    return JobRecord(
        job_id=job_id,
        mode=mode,
        status=status,
        stages=STAGES.get(status, Stages(snapshot=StageState.RUNNING)),
        spec=JobSpec(source=source, tables=("public.t",), destination="d", database="db"),
        created_at=T0,
        created_by="root",
        updated_at=at,
        status_changed_at=at,
        last_requested_by=by,
    )


def put(index: JobIndex, job: JobRecord) -> None:
    index.put(Entry(job, to_json(job)))


def ids(page: object) -> list[str]:
    return [entry.job_id for entry in page.entries]  # type: ignore[attr-defined]


def test_newest_change_first_and_ties_by_job_id() -> None:
    index = JobIndex()
    for job_id, minute in (("b", 5), ("a", 5), ("c", 9), ("d", 1)):
        put(index, record(job_id, minute))
    assert ids(index.page()) == ["c", "a", "b", "d"]


def test_next_and_previous_pages_stay_put_when_a_job_changes_between_loads() -> None:
    index = JobIndex()
    for number in range(10):
        put(index, record(f"job-{number}", number))  # job-9 is the newest
    first = index.page(limit=4)
    assert ids(first) == ["job-9", "job-8", "job-7", "job-6"]
    assert (first.start, first.total, first.has_newer, first.has_older) == (0, 10, False, True)
    # While the user reads page 1, job-2 (on page 3) and job-8 (on page 1) change status.
    put(index, record("job-2", 100, Status.PAUSED))
    put(index, record("job-8", 101, Status.PAUSED))
    second = index.page(after=decode_cursor(first.last_cursor or ""), limit=4)
    assert ids(second) == ["job-5", "job-4", "job-3", "job-1"]  # nothing repeated or skipped
    back = index.page(before=decode_cursor(second.first_cursor or ""), limit=4)
    # The four just newer than job-5: job-8 and job-2 moved to the top, job-9 stays above job-7.
    assert ids(back) == ["job-2", "job-9", "job-7", "job-6"]
    assert back.start == 1 and back.has_newer  # job-8 is newer still
    assert second.start == 5


def test_a_previous_page_short_of_rows_is_the_first_page() -> None:
    index = JobIndex()
    for number in range(5):
        put(index, record(f"job-{number}", number))
    page = index.page(before=(index.get("job-3").key), limit=3)  # type: ignore[union-attr]
    assert ids(page) == ["job-4", "job-3", "job-2"] and page.start == 0


def test_filters_prefix_and_counts() -> None:
    index = JobIndex()
    put(index, record("orders-1", 1, Status.CDC_RUNNING, by="bob"))
    put(index, record("orders-2", 2, Status.PAUSED))
    put(index, record("orders-10", 3, Status.CDC_RUNNING, mode=Mode.CONTINUOUS))
    put(index, record("invoices-1", 4, Status.CDC_RUNNING, source="erp"))
    put(index, record("order-x", 5, Status.CDC_RUNNING))

    def query(*terms: str) -> tuple[list[str], int]:
        page = index.page(Selector.parse(terms))
        return ids(page), page.total

    assert query("prefix=orders-") == (["orders-10", "orders-2", "orders-1"], 3)
    assert query("prefix=orders-1") == (["orders-10", "orders-1"], 2)
    assert query("status=CDC_RUNNING,PAUSED", "prefix=orders-") == (
        ["orders-10", "orders-2", "orders-1"],
        3,
    )
    assert query("status=CDC_RUNNING", "asked_by=bob") == (["orders-1"], 1)
    assert query("source=erp") == (["invoices-1"], 1)
    assert query("stage=cdc", "mode=continuous", "prefix=order") == (
        ["order-x", "orders-10", "orders-1"],
        3,
    )
    assert query("status=FAILED") == ([], 0)
    assert index.count(Selector.parse(["status=CDC_RUNNING"])) == 4


def test_a_removed_job_leaves_every_index() -> None:
    index = JobIndex()
    put(index, record("orders-1", 1, Status.CDC_RUNNING))
    put(index, record("orders-2", 2, Status.CDC_RUNNING))
    index.remove("orders-2")
    assert ids(index.page()) == ["orders-1"] and len(index) == 1
    assert index.page(Selector.parse(["prefix=orders-2"])).total == 0
    assert index.page(Selector.parse(["status=CDC_RUNNING"])).total == 1
    assert index.values("asked_by") == ["alice"]


def test_a_cursor_is_opaque_and_a_forged_one_is_refused() -> None:
    key = (-1_764_547_200_000_000, "orders-1")
    assert decode_cursor(encode_cursor(key)) == key
    for forged in ("", "!!!", "bm90LWEtY3Vyc29y", "YWJjfm9yZGVycw"):  # "not-a-cursor", "abc~orders"
        assert decode_cursor(forged) is None, forged


JOB_IDS = st.sampled_from([f"{p}-{n}" for p in ("orders", "order", "inv") for n in range(8)])
CHANGES = st.lists(
    st.tuples(
        JOB_IDS,
        st.integers(0, 20),  # minute
        st.sampled_from([Status.SNAPSHOT_RUNNING, Status.CDC_RUNNING, Status.PAUSED]),
        st.sampled_from([Mode.SNAPSHOT, Mode.CONTINUOUS]),
        st.sampled_from(["alice", "bob", None]),
        st.booleans(),  # removed instead
    ),
    max_size=60,
)
SELECTORS = st.lists(
    st.sampled_from(
        [
            "status=CDC_RUNNING",
            "status=PAUSED,SNAPSHOT_RUNNING",
            "mode=snapshot",
            "stage=cdc",
            "asked_by=bob",
            "prefix=orders-",
            "prefix=order",
            "prefix=inv-3",
            "source=shop",
        ]
    ),
    max_size=3,
    unique=True,
)


@settings(max_examples=150, deadline=None)
@given(changes=CHANGES, terms=SELECTORS, limit=st.integers(1, 7))
def test_pages_walk_exactly_the_matching_jobs_in_order(
    changes: list[tuple[str, int, Status, Mode, str | None, bool]], terms: list[str], limit: int
) -> None:
    """Whatever happened to the fleet, paging Older from the first page visits each job the
    selector matches once, newest change first, and Newer from the last page goes back; the
    count and positions agree."""
    index = JobIndex()
    latest: dict[str, JobRecord] = {}
    for job_id, minute, status, mode, by, removed in changes:
        if removed:
            index.remove(job_id)
            latest.pop(job_id, None)
        else:
            latest[job_id] = record(job_id, minute, status, mode, by)
            put(index, latest[job_id])
    selector = Selector.parse(terms) if terms else None
    wanted = sorted(
        (job for job in latest.values() if selector is None or selector.matches(job)),
        key=lambda job: (-(job.status_changed_at or job.updated_at).timestamp(), job.job_id),
    )
    for job in latest.values():
        assert matches(selector, index.get(job.job_id)) == (  # type: ignore[arg-type]
            selector is None or selector.matches(job)
        )
    seen: list[str] = []
    page = index.page(selector, limit=limit)
    pages = [page]
    while True:
        assert page.total == len(wanted) and page.start == len(seen)
        seen += ids(page)
        if not page.has_older:
            break
        page = index.page(selector, after=decode_cursor(page.last_cursor or ""), limit=limit)
        pages.append(page)
    assert seen == [job.job_id for job in wanted]
    for newer, older in zip(pages[-2::-1], pages[:0:-1], strict=True):
        back = index.page(selector, before=decode_cursor(older.first_cursor or ""), limit=limit)
        assert ids(back) == ids(newer)


def test_the_feed_keeps_the_last_record_of_each_job_and_a_tombstone_removes_it() -> None:
    feed = FedFeed()
    feed.take_all(messages(300))
    assert feed.count() == 300
    page, records = feed.page(limit=10)
    newest = records[0]
    assert newest.job_id == page.entries[0].job_id
    assert (
        feed.timeline(newest.job_id)[0]["text"]
        == "Created → Not started (by " + (newest.created_by or "") + ")"
    )
    feed.take(STATE, newest.job_id.encode(), None)
    assert feed.record(newest.job_id) is None and feed.count() == 299
    assert feed.timeline(newest.job_id) == []
    assert feed.page(Selector.parse([f"prefix={newest.job_id}"]))[0].total == 0


def test_an_ended_jobs_record_is_kept_compressed_and_reads_back_the_same() -> None:
    ended = record("orders-1", 1, Status.CDC_COMPLETED)
    raw = to_json(ended)
    entry = Entry(ended, raw)
    assert len(entry.raw) < len(raw) / 2
    assert entry.record() == ended


def test_a_record_or_event_of_another_contract_is_skipped() -> None:
    feed = FedFeed()
    feed.take(STATE, b"orders-1", b'{"job_id": "orders-1", "status": "WHATEVER"}')
    feed.take(EVENTS, b"orders-1", b'{"type": "something_new", "job_id": "orders-1"}')
    feed.take(STATE, b"orders-2", to_json(record("orders-2", 1)))
    assert feed.count() == 1
