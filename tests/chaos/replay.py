"""What the topics must hold: the control topic replayed through the pure state machine."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from syncctl.contract import Invalid, JobRecord, parse_control_message
from syncctl.kafka.partitioning import partition_for
from syncctl.machine import Rules, apply

# Fields that carry the time a worker processed something: they differ between runs.
_CLOCK_FIELDS = {
    "occurred_at",
    "created_at",
    "updated_at",
    "status_changed_at",
    "requested_at",
    "deadline_at",
    "cdc_started_at",
    "last_report_at",
}


_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:\d\d)")


def timeless(value: Any) -> Any:
    """`value` without what depends on the worker's clock (fields, and times inside reasons)."""
    if isinstance(value, dict):
        return {k: timeless(v) for k, v in value.items() if k not in _CLOCK_FIELDS}
    if isinstance(value, str):
        return _TIMESTAMP.sub("<time>", value)
    if isinstance(value, list):
        return [timeless(v) for v in value]
    return value


def replay(
    records: list[tuple[int, bytes | None, bytes | None]], partition_count: int, rules: Rules
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, dict[str, Any]], int]:
    """Expected events per job, expected final records, and how many messages are dead letters.

    `records` are (partition, key, value) in control-partition order (any interleaving of
    partitions will do: jobs never share state). A valid message on another partition than its
    key's was forwarded by a worker: its copy on the right partition is the one replayed."""
    # Today, as for the workers: a scheduled complete_cdc's `at` is judged against it.
    now = datetime.now(UTC)
    state: dict[str, JobRecord | None] = {}
    events: dict[str, list[dict[str, Any]]] = defaultdict(list)
    dead = 0
    for partition, key, value in records:
        parsed = parse_control_message(key, value)
        if isinstance(parsed, Invalid):
            dead += 1
            continue
        if partition_for(parsed.job_id.encode(), partition_count) != partition:
            continue
        transition = apply(state.get(parsed.job_id), parsed, now, rules)
        state[parsed.job_id] = transition.record
        for event in transition.events:
            events[parsed.job_id].append(timeless(json.loads(event.model_dump_json())))
    finals = {
        job: timeless(json.loads(r.model_dump_json())) for job, r in state.items() if r is not None
    }
    return events, finals, dead
