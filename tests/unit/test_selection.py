"""Which jobs a bulk command selects."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from syncctl.contract import JobRecord, JobSpec, Mode, Stages, StageState, Status
from syncctl.errors import InvalidCommand
from syncctl.selection import Selector

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def job(
    job_id: str,
    status: Status,
    mode: Mode = Mode.CONTINUOUS,
    source: str | None = None,
    by: str = "alice",
) -> JobRecord:
    spec = (
        JobSpec(source=source, tables=("public.t",), destination="d", database="db")
        if source
        else None
    )
    return JobRecord(
        job_id=job_id,
        mode=mode,
        status=status,
        spec=spec,
        created_at=NOW,
        updated_at=NOW,
        created_by=by,
        # The jobs in CDC (a paused one too) have finished their snapshot.
        stages=Stages(snapshot=StageState.COMPLETED, cdc=StageState.RUNNING)
        if status in (Status.CDC_RUNNING, Status.PAUSED)
        else Stages(),
    )


JOBS = [
    job("shop-orders", Status.CDC_RUNNING, source="shop"),
    job("shop-items", Status.PAUSED, source="shop"),
    job("crm-people", Status.CDC_RUNNING, source="crm", by="bob"),
    job("archive", Status.SNAPSHOT_RUNNING, mode=Mode.SNAPSHOT),
]


@pytest.mark.parametrize(
    ("terms", "selected"),
    [
        (["source=shop"], ["shop-orders", "shop-items"]),
        (["status=cdc_running,PAUSED"], ["shop-orders", "shop-items", "crm-people"]),
        (["status=CDC_RUNNING", "source=shop"], ["shop-orders"]),
        (["prefix=crm-"], ["crm-people"]),
        (["mode=snapshot"], ["archive"]),
        (["source=nowhere"], []),
        (["stage=SNAPSHOT"], ["archive"]),
        (["stage=cdc", "asked_by=bob"], ["crm-people"]),
        (["asked_by=alice", "mode=continuous"], ["shop-orders", "shop-items"]),
    ],
)
def test_every_term_must_hold_and_statuses_are_alternatives(
    terms: list[str], selected: list[str]
) -> None:
    selector = Selector.parse(terms)
    assert [record.job_id for record in JOBS if selector.matches(record)] == selected


@pytest.mark.parametrize(
    ("terms", "problem"),
    [
        ([], "never means every job"),
        (["owner=alice"], "NAME one of status, mode, stage, prefix, source, asked_by"),
        (["stage=drain"], "selector:"),
        (["status"], "NAME=VALUE"),
        (["status=RUNNING"], "selector:"),
        (["mode=hourly"], "selector:"),
    ],
)
def test_a_selector_that_means_nothing_or_everything_is_refused(
    terms: list[str], problem: str
) -> None:
    with pytest.raises(InvalidCommand, match=problem):
        Selector.parse(terms)


@pytest.mark.parametrize(
    "terms",
    [["status=PAUSED,CDC_RUNNING", "prefix=shop-"], ["stage=cdc", "asked_by=bob", "source=crm"]],
)
def test_a_selectors_terms_give_the_same_selector_back(terms: list[str]) -> None:
    selector = Selector.parse(terms)
    assert Selector.parse(selector.terms()) == selector
