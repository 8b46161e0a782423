"""Listing a fleet (`syncctl jobs`, `SyncJobsClient.list_jobs`): the one pass over the state
topic that ranks and filters jobs, fed versions as the topic holds them, without a broker."""

from __future__ import annotations

import types
import typing
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from syncctl.contract import JobRecord, Mode, Stages, StageState, Status
from syncctl.listing import SCANNED_FIELDS, FleetIndex, JobPage, JobStream, newest_first
from syncctl.selection import Selector

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def record(job_id: str, status: Status = Status.NOT_STARTED, **fields: object) -> JobRecord:
    values: dict[str, object] = {
        "mode": Mode.SNAPSHOT,
        "created_at": NOW - timedelta(days=1),
        "updated_at": NOW,
        "status_changed_at": NOW,
        **fields,
    }
    return JobRecord(job_id=job_id, status=status, **values)  # type: ignore[arg-type]


class Topic:
    """Versions in the order a partition holds them; offsets count up from 0."""

    def __init__(self) -> None:
        self.offset = 0

    def feed(self, index: FleetIndex, job_id: str, value: JobRecord | bytes | None) -> int:
        raw = value.model_dump_json().encode() if isinstance(value, JobRecord) else value
        index.add(job_id.encode(), raw, 0, self.offset)
        self.offset += 1
        return self.offset - 1


def ids(index: FleetIndex, limit: int | None = None) -> list[str]:
    return [entry[1].decode() for entry in index.ranked(limit)]


def test_only_the_latest_version_of_a_job_is_filtered_and_ranked() -> None:
    index, topic = FleetIndex([Selector.parse(["status=CDC_RUNNING"])]), Topic()
    topic.feed(index, "was-running", record("was-running", Status.CDC_RUNNING, mode="continuous"))
    topic.feed(index, "runs-now", record("runs-now", Status.NOT_STARTED))
    topic.feed(index, "was-running", record("was-running", Status.CDC_COMPLETED))
    latest = topic.feed(index, "runs-now", record("runs-now", Status.CDC_RUNNING))

    assert ids(index) == ["runs-now"]
    assert index.total_matching == 1
    (entry,) = index.ranked(None)
    assert (entry[2], entry[3]) == (0, latest), "the position of the version that matched"


def test_a_tombstone_removes_the_job_and_a_later_version_brings_it_back() -> None:
    index, topic = FleetIndex(), Topic()
    topic.feed(index, "gone", record("gone"))
    topic.feed(index, "kept", record("kept"))
    topic.feed(index, "gone", None)
    assert ids(index) == ["kept"]

    topic.feed(index, "gone", record("gone", updated_at=NOW + timedelta(1)))
    assert sorted(ids(index)) == ["gone", "kept"]


def test_newest_status_change_first_then_last_update_and_ties_by_job_id() -> None:
    index, topic = FleetIndex(), Topic()
    # Progress moved b's updated_at on, but its status last changed long ago.
    topic.feed(index, "b", record("b", status_changed_at=NOW - timedelta(hours=2)))
    topic.feed(index, "c", record("c", status_changed_at=NOW - timedelta(minutes=1)))
    topic.feed(index, "a", record("a", status_changed_at=NOW - timedelta(minutes=1)))
    topic.feed(index, "d", record("d", status_changed_at=None, updated_at=NOW))
    topic.feed(index, "e", record("e", status_changed_at=NOW - timedelta(microseconds=1)))

    assert ids(index) == ["d", "e", "a", "c", "b"]
    assert ids(index, 3) == ["d", "e", "a"]
    # The same order as a list of validated records sorted by newest_first.
    records = [record(job_id) for job_id in "xyz"]
    assert [r.job_id for r in newest_first(records)] == ["x", "y", "z"]


def test_the_limit_keeps_the_newest_and_the_count_says_how_many_more_match() -> None:
    index, topic = FleetIndex([Selector.parse(["prefix=orders-"])]), Topic()
    for n in range(10):
        job_id = f"orders-{n}"
        topic.feed(index, job_id, record(job_id, status_changed_at=NOW + timedelta(seconds=n)))
        topic.feed(index, f"other-{n}", record(f"other-{n}"))

    assert ids(index, 3) == ["orders-9", "orders-8", "orders-7"]
    assert index.total_matching == 10
    stream = JobStream([None, None, None], index.total_matching, index.unreadable)
    assert stream.more == 7


def test_selectors_combine_by_and() -> None:
    options = Selector(statuses=frozenset({Status.PAUSED, Status.CDC_RUNNING}))
    terms = Selector.parse(["mode=continuous", "source=shop"])
    index, topic = FleetIndex([options, terms]), Topic()
    spec = {"source": "shop", "tables": ["public.t"], "destination": "d", "database": "x"}
    topic.feed(index, "yes", record("yes", Status.PAUSED, mode="continuous", spec=spec))
    topic.feed(index, "no-spec", record("no-spec", Status.PAUSED, mode="continuous"))
    topic.feed(index, "snapshot", record("snapshot", Status.PAUSED, spec=spec))
    topic.feed(index, "failed", record("failed", Status.FAILED, mode="continuous", spec=spec))
    assert ids(index) == ["yes"]


def test_a_version_that_is_not_a_readable_record_is_counted_and_left_out_until_replaced() -> None:
    index, topic = FleetIndex(), Topic()
    topic.feed(index, "fine", record("fine"))
    topic.feed(index, "garbage", b"\x00not json")
    topic.feed(index, "naive", record("naive").model_dump_json().replace("Z", "").encode())
    topic.feed(index, "fine", b'{"job_id": "fine"}')  # no time: its status cannot be known
    assert ids(index) == [] and index.unreadable == 3

    topic.feed(index, "garbage", record("garbage"))
    topic.feed(index, "naive", None)
    assert ids(index) == ["garbage"] and index.unreadable == 1


def test_escaped_text_and_another_writers_spacing_are_read_as_json_says() -> None:
    index, topic = FleetIndex([Selector.parse(["status=PAUSED"])]), Topic()
    # Text that looks like a field inside a string cannot fool the scan: its quotes are escaped.
    sneaky = record(
        "sneaky", Status.NOT_STARTED, created_by='x","status":"PAUSED', reason='"status":"PAUSED"'
    )
    topic.feed(index, "sneaky", sneaky)
    spaced = b'{"job_id": "spaced", "mode": "snapshot", "status" : "PAUSED", '
    spaced += b'"created_at": "2026-12-01T00:00:00Z", "updated_at": "2026-12-05T12:00:00+00:00"}'
    topic.feed(index, "spaced", spaced)
    escaped = (
        record("escaped", Status.PAUSED)
        .model_dump_json()
        .replace('"status":"PAUSED"', '"status":"\\u0050AUSED"')
    )
    topic.feed(index, "escaped", escaped.encode())
    assert sorted(ids(index)) == ["escaped", "spaced"]


def test_no_object_nested_in_a_record_has_a_field_the_listing_finds_by_name() -> None:
    """`_Version` finds these fields in a record's text by `"name":`: that is only sound while
    the name is used once, at the top level, and no field holds a free-form object."""

    def nested_models(model: type[BaseModel]) -> set[type[BaseModel]]:
        found: set[type[BaseModel]] = set()
        for field in model.model_fields.values():
            pending = [field.annotation]
            while pending:
                kind = pending.pop()
                assert typing.get_origin(kind) is not dict, f"{model.__name__} has a dict field"
                if isinstance(kind, type) and issubclass(kind, BaseModel):
                    found |= {kind, *nested_models(kind)}
                pending.extend(typing.get_args(kind))
                if isinstance(kind, types.UnionType):
                    pending.extend(kind.__args__)
        return found

    nested = nested_models(JobRecord)
    assert nested, "the walk found no nested model: it is broken"
    for model in nested:
        assert not set(SCANNED_FIELDS) & set(model.model_fields), model.__name__
    assert set(SCANNED_FIELDS) <= set(JobRecord.model_fields)


_WORDS = st.sampled_from(["shop", "crm", "alice", "bob", 'q"uote', "back\\slash", "é"])


@st.composite
def records(draw: st.DrawFn) -> JobRecord:
    cdc = draw(st.sampled_from(list(StageState)))
    spec = draw(st.none() | _WORDS.filter(lambda w: w.isalpha() and w.isascii()))
    return JobRecord(
        job_id=draw(st.sampled_from(["orders-1", "orders-2", "crm-1"])),
        mode=draw(st.sampled_from(list(Mode))),
        status=draw(st.sampled_from(list(Status))),
        stages=Stages(cdc=cdc),
        spec=None
        if spec is None
        else {"source": spec, "tables": ["public.t"], "destination": "d", "database": "x"},
        created_at=NOW,
        created_by=draw(st.none() | _WORDS),
        last_requested_by=draw(st.none() | _WORDS),
        reason=draw(st.none() | st.text(max_size=20)),
        updated_at=NOW,
        status_changed_at=draw(st.none() | st.just(NOW)),
    )


@st.composite
def selectors(draw: st.DrawFn) -> Selector:
    terms = draw(
        st.lists(
            st.sampled_from(
                [
                    "status=CDC_RUNNING,PAUSED",
                    "status=NOT_STARTED",
                    "mode=continuous",
                    "stage=cdc",
                    "prefix=orders-",
                    "source=shop",
                    "asked_by=alice",
                    'asked_by=q"uote',
                ]
            ),
            min_size=1,
            max_size=3,
        )
    )
    return Selector.parse(terms)


@settings(max_examples=300, deadline=None)
@given(records(), selectors())
def test_a_job_is_listed_exactly_when_its_validated_record_matches(
    job: JobRecord, selector: Selector
) -> None:
    index = FleetIndex([selector])
    index.add(job.job_id.encode(), job.model_dump_json().encode(), 0, 0)
    assert index.total_matching == int(selector.matches(job))
    assert index.unreadable == 0


def test_a_stream_validates_each_record_only_when_reached_and_lets_its_bytes_go() -> None:
    values: list[bytes | None] = [
        record("a").model_dump_json().encode(),
        b'{"job_id": "b"}',  # passed the cheap read, fails validation
        record("c").model_dump_json().encode(),
    ]
    stream = JobStream(values, total_matching=5, unreadable=1)
    seen = iter(stream)
    assert next(seen).job_id == "a"
    assert values[0] is None and values[2] is not None
    assert [r.job_id for r in seen] == ["c"]
    assert (stream.unreadable, stream.more) == (2, 2)


def test_a_page_is_the_stream_held_as_a_list() -> None:
    stream = JobStream([record("a").model_dump_json().encode()], 3, 0)
    page = JobPage.of(stream)
    assert [r.job_id for r in page.records] == ["a"]
    assert (page.total_matching, page.more, page.unreadable) == (3, 2, 0)


@pytest.mark.parametrize("keep", [False, True])
def test_job_ids_come_in_job_id_order_whatever_the_ranking(keep: bool) -> None:
    index, topic = FleetIndex(keep_values=keep), Topic()
    for job_id in ("b", "c", "a"):
        topic.feed(index, job_id, record(job_id))
    assert index.job_ids() == ["a", "b", "c"]
    assert all((entry[4] is not None) is keep for entry in index.ranked(None))


@given(
    st.lists(
        st.tuples(st.sampled_from("abcdefgh"), st.integers(0, 50), st.booleans()),
        min_size=1,
        max_size=60,
    ),
    st.integers(1, 4),
)
@settings(max_examples=200, deadline=None)
def test_the_newest_versions_are_kept_and_are_the_bytes_at_their_position(
    versions: list[tuple[str, int, bool]], limit: int
) -> None:
    """Whatever bytes the pass kept for a listed job are exactly what the topic holds at that
    job's position, never another version of it (what is not kept is read again by offset)."""
    index, topic = FleetIndex(keep_newest=2 * limit), Topic()
    written: dict[int, bytes] = {}
    for job_id, minutes, running in versions:
        status = Status.SNAPSHOT_RUNNING if running else Status.PAUSED
        value = record(job_id, status, status_changed_at=NOW + timedelta(minutes=minutes))
        raw = value.model_dump_json().encode()
        written[topic.feed(index, job_id, raw)] = raw
    chosen = index.ranked(limit)
    kept = [index.kept_value(entry[2], entry[3]) for entry in chosen]
    for entry, value in zip(chosen, kept, strict=True):
        assert value is None or value == written[entry[3]]


def test_jobs_written_once_are_all_found_in_the_pass() -> None:
    """The usual fleet: most jobs ended long ago and were not written since; the newest 50 need
    no second read."""
    index, topic = FleetIndex(keep_newest=100), Topic()
    written = {}
    for n in range(1_000):
        when = NOW - timedelta(minutes=(n * 7919) % 1_000)  # not in the order written
        raw = record(f"job-{n:04d}", status_changed_at=when).model_dump_json().encode()
        written[topic.feed(index, f"job-{n:04d}", raw)] = raw
    chosen = index.ranked(50)
    assert [index.kept_value(0, entry[3]) for entry in chosen] == [written[e[3]] for e in chosen]


def test_without_keep_newest_no_bytes_are_held() -> None:
    index, topic = FleetIndex(), Topic()
    at = topic.feed(index, "a", record("a"))
    assert index.kept_value(0, at) is None
