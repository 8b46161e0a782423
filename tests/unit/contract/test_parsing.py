"""What a producer of control messages is told when a message breaks the contract."""

from __future__ import annotations

import json

import pytest

from syncctl.contract import (
    MAX_MESSAGE_BYTES,
    CompleteCdc,
    Create,
    Invalid,
    InvalidCode,
    Mode,
    Progress,
    parse_control_message,
)

BASE = {"command_id": "c-1", "job_id": "job-1", "issued_at": "2026-11-26T10:00:00+01:00"}


def encode(**fields: object) -> bytes:
    return json.dumps({**BASE, **fields}).encode()


def test_a_valid_create_parses_with_its_defaults() -> None:
    message = parse_control_message(b"job-1", encode(type="create", mode="continuous"))
    assert isinstance(message, Create)
    assert (message.mode, message.drop_destination, message.requested_by) == (
        Mode.CONTINUOUS,
        False,
        None,
    )


def test_progress_keeps_only_the_stats_it_reports() -> None:
    message = parse_control_message(b"job-1", encode(type="progress", stats={"rows_migrated": 7}))
    assert isinstance(message, Progress)
    assert message.stats.model_dump(exclude_none=True) == {"rows_migrated": 7}


@pytest.mark.parametrize(
    ("key", "value", "code", "says"),
    [
        (b"job-1", None, InvalidCode.MISSING_VALUE, "no value"),
        (b"job-1", b"x" * (MAX_MESSAGE_BYTES + 1), InvalidCode.TOO_LARGE, "limit is 65536 bytes"),
        (b"job-1", b"\xff", InvalidCode.NOT_UTF8, "not UTF-8"),
        (b"job-1", b"{", InvalidCode.INVALID_JSON, "not valid JSON"),
        (b"job-1", b"42", InvalidCode.NOT_AN_OBJECT, "object"),
        (b"job-1", encode(type="delete"), InvalidCode.UNKNOWN_TYPE, "'delete'"),
        (b"job-1", encode(), InvalidCode.MISSING_FIELD, "'type' is missing"),
        (b"job-1", encode(type="create"), InvalidCode.MISSING_FIELD, "mode"),
        (b"job-1", encode(type="terminate", extra=1), InvalidCode.UNKNOWN_FIELD, "extra"),
        (b"job 1", encode(type="terminate", job_id="job 1"), InvalidCode.INVALID_FIELD, "job_id"),
        (b"j", encode(type="terminate", job_id="j" * 129), InvalidCode.INVALID_FIELD, "job_id"),
        (
            b"job-1",
            encode(type="terminate", command_id=""),
            InvalidCode.INVALID_FIELD,
            "command_id",
        ),
        (
            b"job-1",
            encode(type="terminate", issued_at="2026-11-26T10:00:00"),
            InvalidCode.INVALID_FIELD,
            "timezone",
        ),
        (
            b"job-1",
            encode(type="progress", stats={"rows_migrated": -1}),
            InvalidCode.INVALID_FIELD,
            "stats.rows_migrated",
        ),
        (
            b"job-1",
            encode(type="progress", stats={"rows_migrated": "5"}),
            InvalidCode.INVALID_FIELD,
            "integer",
        ),
        (
            b"job-1",
            encode(type="create", mode="snapshot", drop_destination="yes"),
            InvalidCode.INVALID_FIELD,
            "boolean",
        ),
        (None, encode(type="terminate"), InvalidCode.MISSING_KEY, "job id 'job-1'"),
        (b"job-2", encode(type="terminate"), InvalidCode.KEY_MISMATCH, "differs from job_id"),
    ],
)
def test_each_broken_rule_is_named_with_a_reason(
    key: bytes | None, value: bytes | None, code: InvalidCode, says: str
) -> None:
    result = parse_control_message(key, value)
    assert isinstance(result, Invalid)
    assert result.code is code
    assert says in result.message


def padded_to(size: int) -> bytes:
    value = encode(type="complete_cdc")
    return value[:-1] + b" " * (size - len(value)) + b"}"


def test_a_message_of_exactly_64_kib_is_accepted_and_one_byte_more_is_not() -> None:
    assert isinstance(parse_control_message(b"job-1", padded_to(MAX_MESSAGE_BYTES)), CompleteCdc)
    too_large = parse_control_message(b"job-1", padded_to(MAX_MESSAGE_BYTES + 1))
    assert isinstance(too_large, Invalid) and too_large.code is InvalidCode.TOO_LARGE
