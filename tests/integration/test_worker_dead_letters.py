"""Bad input lands in the dead-letter topic with its reason, and the worker goes on."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.integration.harness import (
    ControlProducer,
    EventReader,
    TopicReader,
    Topics,
    WorkerProcess,
)

VALID = {
    "command_id": "c-1",
    "type": "create",
    "job_id": "job-a",
    "issued_at": "2026-11-26T10:00:00Z",
    "mode": "snapshot",
}


def valid(**changes: object) -> bytes:
    return json.dumps({**VALID, **changes}).encode()


BAD_INPUTS: list[tuple[str, bytes | None, bytes | None]] = [
    ("invalid_json", b"job-a", b'{"command_id": "c-1", '),
    ("not_utf8", b"job-a", b'{"job_id": "\xff\xfe"}'),
    ("not_an_object", b"job-a", b'["terminate"]'),
    ("unknown_type", b"job-a", valid(type="delete")),
    (
        "missing_field",
        b"job-a",
        json.dumps({k: v for k, v in VALID.items() if k != "issued_at"}).encode(),
    ),
    ("invalid_field", b"job a", valid(job_id="job a")),
    ("invalid_field", b"job-a", valid(issued_at="yesterday")),
    ("unknown_field", b"job-a", valid(drop_destinaton=True)),
    ("key_mismatch", b"job-b", valid()),
    ("missing_key", None, valid()),
    ("missing_value", b"job-a", None),
    ("too_large", b"job-a", valid(requested_by="x" * 70_000)),
]


def test_each_kind_of_bad_input_is_dead_lettered_unchanged_with_headers_and_the_next_command_runs(
    kafka_bootstrap: str,
    topics: Topics,
    start_worker: Callable[..., WorkerProcess],
    control: ControlProducer,
    events: EventReader,
) -> None:
    start_worker()
    for _, key, value in BAD_INPUTS:
        control.send_raw(key, value, partition=0)
    control.flush()
    # Then a valid command behind them on the same partition.
    create = "after-the-bad-ones"
    control.send_raw(b"job-a", valid(command_id=create), partition=0)
    control.flush()

    events.wait_for_command(create)
    assert [e["status"] for e in events.for_command(create)] == ["NOT_STARTED"]

    dlq = TopicReader(kafka_bootstrap, topics.dlq)
    dlq.read_until(lambda: len(dlq.records) >= len(BAD_INPUTS), 30, "dead letters")
    # The dead-letter topic has several partitions; the source offset gives the sending order.
    dead = sorted(dlq.records, key=lambda record: int(dict(record[2])["syncctl.source.offset"]))
    for (code, key, value), (dead_key, dead_value, headers) in zip(BAD_INPUTS, dead, strict=True):
        assert (dead_key, dead_value) == (key, value), code
        header = {name: raw.decode() for name, raw in headers}
        assert header["syncctl.error.code"] == code
        assert header["syncctl.error.message"]
        assert header["syncctl.source.topic"] == topics.control
        assert header["syncctl.source.partition"] == "0"
        assert int(header["syncctl.source.offset"]) >= 0
    assert len({dict(h)["syncctl.source.offset"] for _, _, h in dead}) == len(BAD_INPUTS)
    dlq.close()
