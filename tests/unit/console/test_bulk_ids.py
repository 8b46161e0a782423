"""A bulk request names jobs by the contract's job-id rule; anything else is refused whole."""

from __future__ import annotations

from typing import Any

import pytest

from syncctl.console.actions import MAX_BULK_JOBS, bulk_job_ids
from syncctl.errors import InvalidCommand


def test_duplicates_are_dropped_and_the_order_kept() -> None:
    assert bulk_job_ids({"job_ids": ["b-2", "a-1", "b-2", "b-2"]}) == ["b-2", "a-1"]


@pytest.mark.parametrize(
    ("entries", "named"),
    [
        ([None, False], "null, false"),
        (["orders-1", 7], "7"),
        (["orders 1"], '"orders 1"'),
        ([""], '""'),
        (["x" * 129], '"xxxx'),
        ([["nested"]], '["nested"]'),
        ([{"job_id": "a"}], '{"job_id": "a"}'),
    ],
)
def test_anything_that_is_not_a_job_id_is_named_in_the_refusal(
    entries: list[Any], named: str
) -> None:
    with pytest.raises(InvalidCommand, match="nothing was sent") as refused:
        bulk_job_ids({"job_ids": entries})
    assert f"not job ids: {named}" in str(refused.value)


@pytest.mark.parametrize("body", [None, [], {}, {"job_ids": []}, {"job_ids": "a-1"}, "a-1"])
def test_a_body_without_a_list_of_ids_is_refused(body: Any) -> None:
    with pytest.raises(InvalidCommand, match="job_ids"):
        bulk_job_ids(body)


def test_too_many_distinct_jobs_are_refused_but_repeats_do_not_count() -> None:
    assert len(bulk_job_ids({"job_ids": ["a-1"] * (MAX_BULK_JOBS + 5)})) == 1
    with pytest.raises(InvalidCommand, match=f"at most {MAX_BULK_JOBS}"):
        bulk_job_ids({"job_ids": [f"job-{n}" for n in range(MAX_BULK_JOBS + 1)]})
