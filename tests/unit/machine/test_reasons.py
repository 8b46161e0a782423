"""Rejections that tell the user to start over suggest a job id they can actually use."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from syncctl.contract import Mode, Status
from syncctl.machine import apply
from syncctl.machine.reasons import next_job_id
from tests.unit.machine.journeys import T0, message, record_in

JOB_ID = re.compile(r"^[A-Za-z0-9-]{1,128}$")


@given(st.from_regex(JOB_ID, fullmatch=True))
def test_the_suggested_job_id_is_valid_and_new(job_id: str) -> None:
    suggestion = next_job_id(job_id)
    assert JOB_ID.match(suggestion) and suggestion != job_id


def test_suggestions_count_up() -> None:
    assert [next_job_id("orders"), next_job_id("orders-v2"), next_job_id("orders-v9")] == [
        "orders-v2",
        "orders-v3",
        "orders-v10",
    ]


def test_a_second_create_is_told_to_use_a_new_job_id_not_the_flag_it_just_sent() -> None:
    existing = record_in(Status.SNAPSHOT_RUNNING, Mode.SNAPSHOT)
    (rejection,) = apply(existing, message("create", mode=Mode.SNAPSHOT), T0).events
    assert f"choose another job id (e.g. {next_job_id(existing.job_id)})" in rejection.reason


def test_a_command_to_a_stopped_job_suggests_a_new_job_id() -> None:
    stopped = record_in(Status.SNAPSHOT_CANCELLED, Mode.SNAPSHOT)
    (rejection,) = apply(stopped, message("terminate"), T0).events
    assert (
        f"create a new job with a new job id (e.g. {next_job_id(stopped.job_id)})"
        in rejection.reason
    )
