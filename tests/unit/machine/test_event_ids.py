"""Event ids are the contract's UUIDv5 of (job, command, kind): consumers deduplicate on them."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from syncctl.machine.core import _EVENT_NAMESPACE, _event_id


@given(job_id=st.text(), command_id=st.none() | st.text(), kind=st.text())
def test_an_event_id_is_the_uuid5_of_job_command_and_kind(
    job_id: str, command_id: str | None, kind: str
) -> None:
    expected = str(uuid.uuid5(_EVENT_NAMESPACE, f"{job_id}\x00{command_id}\x00{kind}"))
    assert _event_id(job_id, command_id, kind) == expected
