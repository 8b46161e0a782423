"""Fuzzing `parse_control_message`: whatever a producer puts on the control topic, the worker
gets either a message it can apply or a dead-letter code with a sentence for the sender.

Never an exception: an exception while parsing would stop the worker on that record, and a
worker that restarts rereads the same record, so one bad message would block its partition.
"""

from __future__ import annotations

import json
import re
import string
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from syncctl.contract import (
    MAX_MESSAGE_BYTES,
    CompleteCdc,
    Create,
    Failed,
    Invalid,
    InvalidCode,
    Progress,
    SnapshotCompleted,
    SnapshotStarted,
    Stopped,
    Terminate,
    parse_control_message,
)

MODELS = {
    "create": Create,
    "terminate": Terminate,
    "complete_cdc": CompleteCdc,
    "snapshot_started": SnapshotStarted,
    "progress": Progress,
    "snapshot_completed": SnapshotCompleted,
    "stopped": Stopped,
    "failed": Failed,
}
TYPES = sorted(MODELS)
COMMON_REQUIRED = ("command_id", "job_id", "issued_at")
EXTRA_REQUIRED = {"create": ("mode",), "progress": ("stats",), "failed": ("error",)}
EXTRA_OPTIONAL = {"create": ("drop_destination", "spec"), "stopped": ("temp_data_cleaned",)}
FIELD_NAMES = sorted({name for model in MODELS.values() for name in model.model_fields})
STAT_NAMES = ("tables_total", "tables_done", "rows_migrated", "events_seen")
JOB_ID = re.compile(r"[A-Za-z0-9-]{1,128}")
ISSUED_AT = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
TERMINATE = {
    "command_id": "c-1",
    "type": "terminate",
    "job_id": "job-1",
    "issued_at": "2026-11-26T10:00:00Z",
}

# Fast enough for the unit suite, many inputs still (a few seconds per test on a loaded machine).
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- strategies ----------------------------------------------------------------------------------
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)

job_ids = st.text(string.ascii_letters + string.digits + "-", min_size=1, max_size=128)
command_ids = st.text(min_size=1, max_size=128)  # "1-128 chars", any characters
keys = st.none() | st.binary(max_size=40) | job_ids.map(str.encode)


@st.composite
def timestamps(draw: st.DrawFn) -> tuple[str, datetime]:
    """An RFC 3339 timestamp with a time zone, and the instant it names."""
    naive = draw(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
    digits = draw(st.none() | st.text("0123456789", min_size=1, max_size=9))
    naive = naive.replace(microsecond=int((digits or "0").ljust(6, "0")[:6]))
    if draw(st.booleans()):
        offset, zone = timedelta(0), draw(st.sampled_from(["Z", "z", "+00:00", "-00:00"]))
    else:
        minutes = draw(st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59))
        sign, whole = ("-" if minutes < 0 else "+"), abs(minutes)
        offset, zone = timedelta(minutes=minutes), f"{sign}{whole // 60:02d}:{whole % 60:02d}"
    separator = draw(st.sampled_from(["T", "t"]))
    text = naive.replace(microsecond=0).isoformat(sep=separator)
    if digits is not None:
        text += "." + digits
    return text + zone, naive.replace(tzinfo=timezone(offset))


def stats_objects() -> st.SearchStrategy[dict[str, int]]:
    return st.dictionaries(st.sampled_from(STAT_NAMES), st.integers(min_value=0))


names = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,63}", fullmatch=True)
identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,62}", fullmatch=True)


@st.composite
def job_specs(draw: st.DrawFn) -> dict[str, Any]:
    """A `spec` object as the contract allows it."""
    tables = draw(
        st.lists(st.tuples(identifiers, identifiers).map(".".join), min_size=1, max_size=5)
    )
    database = draw(st.from_regex(r"[A-Za-z0-9_-]{1,63}", fullmatch=True))
    return {
        "source": draw(names),
        "tables": tables,
        "destination": draw(names),
        "database": database,
    }


@st.composite
def valid_messages(
    draw: st.DrawFn, types: st.SearchStrategy[str] = st.sampled_from(TYPES)
) -> tuple[dict[str, Any], datetime]:
    """A control message valid per docs/contract.md (as a JSON object), and its issued_at."""
    kind = draw(types)
    stamp, instant = draw(timestamps())
    message: dict[str, Any] = {
        "command_id": draw(command_ids),
        "type": kind,
        "job_id": draw(job_ids),
        "issued_at": stamp,
    }
    optional: dict[str, Any] = {"requested_by": draw(st.none() | st.text(max_size=256))}
    if kind == "create":
        message["mode"] = draw(st.sampled_from(["snapshot", "continuous"]))
        optional["drop_destination"] = draw(st.booleans())
        optional["spec"] = draw(st.none() | job_specs())
    elif kind == "progress":
        message["stats"] = draw(stats_objects())
    elif kind == "stopped":
        optional["temp_data_cleaned"] = draw(st.none() | st.booleans())
    elif kind == "failed":
        message["error"] = draw(st.text(max_size=8192))
    for name, value in optional.items():
        if draw(st.booleans()):
            message[name] = value
    order = draw(st.permutations(list(message)))
    return {name: message[name] for name in order}, instant


def encode(value: Any, ascii_only: bool) -> bytes:
    return json.dumps(value, ensure_ascii=ascii_only).encode()


# -- the property every input must have ----------------------------------------------------------
def assert_parsed_or_explained(key: bytes | None, value: bytes | None) -> object:
    result = parse_control_message(key, value)
    if isinstance(result, Invalid):
        assert result.code in set(InvalidCode)
        assert isinstance(result.message, str) and result.message.strip(), result
        # The worker puts the message in a UTF-8 header of the dead letter.
        result.message.encode("utf-8")
    else:
        assert type(result) in MODELS.values(), result
        assert key is not None and result.job_id.encode() == key, (key, result)
    return result


@FUZZ
@given(key=keys, value=st.none() | st.binary(max_size=300))
@example(key=None, value=None)
@example(key=b"job-1", value=b"\xff\xfe{")
@example(key=b"\xff", value=json.dumps(TERMINATE).encode())
def test_any_bytes_give_a_message_or_a_dead_letter_code(
    key: bytes | None, value: bytes | None
) -> None:
    assert_parsed_or_explained(key, value)


@FUZZ
@given(key=keys, value=json_values, ascii_only=st.booleans())
def test_any_json_value_gives_a_message_or_a_dead_letter_code(
    key: bytes | None, value: Any, ascii_only: bool
) -> None:
    result = assert_parsed_or_explained(key, encode(value, ascii_only))
    if not isinstance(value, dict):
        assert isinstance(result, Invalid) and result.code is InvalidCode.NOT_AN_OBJECT


# Random JSON, and values that are right for some field, so that deeper checks are reached too.
field_values = (
    json_values
    | st.sampled_from(TYPES)
    | job_ids
    | timestamps().map(lambda t: t[0])
    | stats_objects()
)


@FUZZ
@given(
    fields=st.dictionaries(
        st.sampled_from([*FIELD_NAMES, "extra", "Type"]), field_values, max_size=9
    ),
    type_=st.none() | st.sampled_from(TYPES) | json_scalars,
    key=keys,
    ascii_only=st.booleans(),
)
def test_objects_of_the_contracts_fields_with_random_values_give_a_message_or_the_right_code(
    fields: dict[str, Any], type_: Any, key: bytes | None, ascii_only: bool
) -> None:
    if type_ is not None:
        fields["type"] = type_
    result = assert_parsed_or_explained(key, encode(fields, ascii_only))
    if "type" not in fields:
        assert isinstance(result, Invalid) and result.code is InvalidCode.MISSING_FIELD
    elif fields["type"] not in TYPES:
        assert isinstance(result, Invalid) and result.code is InvalidCode.UNKNOWN_TYPE
    elif not isinstance(result, Invalid):
        assert result.type == fields["type"]


@FUZZ
@given(
    key=keys,
    value=st.one_of(valid_messages().map(lambda m: m[0]), json_values),
    cut=st.integers(min_value=0),
)
def test_truncated_or_corrupted_json_gives_a_message_or_a_dead_letter_code(
    key: bytes | None, value: Any, cut: int
) -> None:
    raw = encode(value, ascii_only=False)
    cut %= len(raw) + 1
    assert_parsed_or_explained(key, raw[:cut])
    assert_parsed_or_explained(key, raw[:cut] + b"\x00" + raw[cut:])


# -- messages that follow the contract -----------------------------------------------------------
@FUZZ
@given(generated=valid_messages(), ascii_only=st.booleans())
def test_every_message_the_contract_allows_parses_to_its_type_with_its_values(
    generated: tuple[dict[str, Any], datetime], ascii_only: bool
) -> None:
    fields, issued_at = generated
    raw = encode(fields, ascii_only)
    result = parse_control_message(fields["job_id"].encode(), raw)
    if len(raw) > MAX_MESSAGE_BYTES:  # only reachable with a long `error`, escaped
        assert isinstance(result, Invalid) and result.code is InvalidCode.TOO_LARGE
        return
    assert not isinstance(result, Invalid), (result, fields)
    assert type(result) is MODELS[fields["type"]]
    assert (result.command_id, result.job_id, result.requested_by) == (
        fields["command_id"],
        fields["job_id"],
        fields.get("requested_by"),
    )
    assert result.issued_at == issued_at and result.issued_at.utcoffset() == issued_at.utcoffset()
    match result:
        case Create():
            assert result.mode.value == fields["mode"]
            assert result.drop_destination == fields.get("drop_destination", False)
            spec = fields.get("spec")
            assert (result.spec.model_dump(mode="json") if result.spec else None) == (
                {**spec, "tables": list(spec["tables"])} if spec else None
            )
        case Progress():
            assert result.stats.model_dump(exclude_none=True) == fields["stats"]
        case Stopped():
            assert result.temp_data_cleaned == fields.get("temp_data_cleaned")
        case Failed():
            assert result.error == fields["error"]


@FUZZ
@given(generated=valid_messages(), key=st.none() | st.binary(max_size=130))
def test_a_valid_message_under_another_key_is_refused_for_its_key(
    generated: tuple[dict[str, Any], datetime], key: bytes | None
) -> None:
    fields = dict(generated[0])
    result = assert_parsed_or_explained(key, encode(fields, ascii_only=True))
    if key is None:
        assert isinstance(result, Invalid) and result.code is InvalidCode.MISSING_KEY
    elif key != fields["job_id"].encode():
        assert isinstance(result, Invalid) and result.code is InvalidCode.KEY_MISMATCH
    else:
        assert not isinstance(result, Invalid)


# -- one broken rule, named ----------------------------------------------------------------------
@FUZZ
@given(generated=valid_messages(), data=st.data())
def test_a_valid_message_missing_one_required_field_is_refused_naming_it(
    generated: tuple[dict[str, Any], datetime], data: st.DataObject
) -> None:
    fields = dict(generated[0])
    missing = data.draw(
        st.sampled_from([*COMMON_REQUIRED, *EXTRA_REQUIRED.get(fields["type"], ())])
    )
    del fields[missing]
    result = parse_control_message(b"job-1", encode(fields, ascii_only=True))
    assert isinstance(result, Invalid) and result.code is InvalidCode.MISSING_FIELD, result
    assert missing in result.message


@FUZZ
@given(generated=valid_messages(), extra=st.text(min_size=1, max_size=20), value=json_values)
def test_a_valid_message_with_a_field_its_type_does_not_have_is_refused_naming_it(
    generated: tuple[dict[str, Any], datetime], extra: str, value: Any
) -> None:
    fields = dict(generated[0])
    model = MODELS[fields["type"]]
    if extra in model.model_fields:
        return  # not an unknown field
    fields[extra] = value
    key = fields["job_id"].encode()
    result = parse_control_message(key, encode(fields, ascii_only=True))
    assert isinstance(result, Invalid) and result.code is InvalidCode.UNKNOWN_FIELD, result
    assert repr(extra)[1:-1] in result.message or extra in result.message


# A JSON value of a type that each field never accepts (strict: no "5" for 5, no 1 for true).
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
small_lists = st.lists(json_scalars, max_size=2)
not_a_string = (
    st.none()
    | st.booleans()
    | st.integers()
    | finite_floats
    | small_lists
    | st.dictionaries(st.text(max_size=3), json_scalars, max_size=2)
)
not_a_bool = st.none() | st.integers() | st.text(max_size=5) | small_lists
# (null is allowed for a stat: it means "not reported")
not_a_count = (
    st.booleans() | st.integers(max_value=-1) | finite_floats | st.text(max_size=5) | small_lists
)
WRONG = {
    "command_id": not_a_string,
    "job_id": not_a_string,
    "issued_at": not_a_string,
    "requested_by": not_a_string.filter(lambda v: v is not None),
    "mode": not_a_string
    | st.text(max_size=12).filter(lambda v: v not in ("snapshot", "continuous")),
    "drop_destination": not_a_bool,
    "temp_data_cleaned": not_a_bool.filter(lambda v: v is not None),
    "error": not_a_string,
    "stats": not_a_string.filter(lambda v: not isinstance(v, dict)),
    # null is allowed (no spec); a table name without its schema is not.
    "spec": not_a_string.filter(lambda v: v is not None and not isinstance(v, dict))
    | st.just(
        {"source": "shop", "tables": ["orders"], "destination": "archive", "database": "shop"}
    ),
}


@FUZZ
@given(generated=valid_messages(), data=st.data())
def test_a_valid_message_with_one_field_of_the_wrong_type_is_refused_naming_it(
    generated: tuple[dict[str, Any], datetime], data: st.DataObject
) -> None:
    fields = dict(generated[0])
    kind = fields["type"]
    candidates = [
        *COMMON_REQUIRED,
        "requested_by",
        *EXTRA_REQUIRED.get(kind, ()),
        *EXTRA_OPTIONAL.get(kind, ()),
    ]
    if kind == "progress":
        candidates += [f"stats.{name}" for name in STAT_NAMES]
    broken = data.draw(st.sampled_from(candidates))
    if broken.startswith("stats."):
        fields["stats"] = {**fields["stats"], broken.split(".")[1]: data.draw(not_a_count)}
    else:
        fields[broken] = data.draw(WRONG[broken])
    key = fields["job_id"].encode() if isinstance(fields["job_id"], str) else b"job-1"
    result = parse_control_message(key, encode(fields, ascii_only=True))
    assert isinstance(result, Invalid) and result.code is InvalidCode.INVALID_FIELD, (
        broken,
        result,
    )
    # The field, or the part of it that is wrong (spec.tables.0).
    assert f"'{broken}" in result.message or f"{broken}:" in result.message, result


# Found by this file: `"stats": null` used to be dead-lettered as not_an_object ("Input should
# be an object") without naming the field (fixed in parsing.py by bddb1a3).
@FUZZ
@given(
    generated=valid_messages(st.just("progress")),
    stats=not_a_string.filter(lambda v: not isinstance(v, dict)),
)
@example(generated=({**TERMINATE, "type": "progress"}, ISSUED_AT), stats=None)
def test_progress_whose_stats_is_not_an_object_is_refused_as_an_invalid_stats_field(
    generated: tuple[dict[str, Any], datetime], stats: Any
) -> None:
    fields = dict(generated[0])
    fields["stats"] = stats
    result = parse_control_message(fields["job_id"].encode(), encode(fields, ascii_only=True))
    assert isinstance(result, Invalid)
    assert result.code is InvalidCode.INVALID_FIELD, result
    assert "stats" in result.message


@FUZZ
@given(generated=valid_messages(), job_id=st.text(max_size=140))
@example(generated=(TERMINATE, ISSUED_AT), job_id="job-1\n")
@example(generated=(TERMINATE, ISSUED_AT), job_id="j" * 129)
def test_job_id_is_accepted_exactly_when_it_matches_the_contract_pattern(
    generated: tuple[dict[str, Any], datetime], job_id: str
) -> None:
    fields = dict(generated[0])
    fields["job_id"] = job_id
    key = job_id.encode("utf-8", errors="surrogatepass")
    result = parse_control_message(key, encode(fields, ascii_only=True))
    if JOB_ID.fullmatch(job_id):
        assert not isinstance(result, Invalid) and result.job_id == job_id
    else:
        assert isinstance(result, Invalid) and result.code is InvalidCode.INVALID_FIELD, result
        assert "job_id" in result.message


@FUZZ
@given(
    generated=valid_messages(),
    field=st.sampled_from(["command_id", "requested_by", "error"]),
    length=st.integers(min_value=0, max_value=9000),
    char=st.characters(exclude_categories=("Cs",)),
)
@example(generated=(TERMINATE, ISSUED_AT), field="command_id", length=129, char="é")
def test_string_lengths_are_counted_in_characters_at_the_contract_limits(
    generated: tuple[dict[str, Any], datetime], field: str, length: int, char: str
) -> None:
    fields = dict(generated[0])
    if field == "error" and fields["type"] != "failed":
        field = "command_id"
    limits = {"command_id": (1, 128), "requested_by": (0, 256), "error": (0, 8192)}
    low, high = limits[field]
    length = length if field == "error" else length % (high + 20)
    fields[field] = char * length
    result = parse_control_message(fields["job_id"].encode(), encode(fields, ascii_only=False))
    assert len(encode(fields, ascii_only=False)) <= MAX_MESSAGE_BYTES
    if low <= length <= high:
        assert not isinstance(result, Invalid), result
        assert getattr(result, field) == char * length
    else:
        assert isinstance(result, Invalid) and result.code is InvalidCode.INVALID_FIELD, result
        assert field in result.message


# -- atheris (optional: only when it is installed; it is not a dependency) -----------------------
ATHERIS_HARNESS = r"""
import sys
import atheris

from syncctl.contract import Invalid, InvalidCode
from syncctl.contract import parsing
from syncctl.contract.messages import MESSAGE_TYPES

# Coverage feedback from syncctl's own parsing code only: instrumenting every import (pydantic,
# confluent_kafka, asyncio...) takes far longer than the fuzzing, and pydantic's core is Rust.
parsing._describe = atheris.instrument_func(parsing._describe)
parse_control_message = atheris.instrument_func(parsing.parse_control_message)

@atheris.instrument_func
def one_input(data):
    # byte 0: bit 0 = no key, bit 1 = no value; byte 1: key length; then the key, then the value
    flags, length = (data[0], data[1]) if len(data) >= 2 else (0, 0)
    key = None if flags & 1 else data[2 : 2 + length]
    value = None if flags & 2 else data[2 + length :]
    result = parse_control_message(key, value)
    # One branch per outcome, so that the fuzzer keeps an input for each one it reaches (pydantic's
    # Rust core gives it no coverage to tell them apart).
    match getattr(result, "code", getattr(result, "type", None)):
        case "too_large" | "missing_key" | "missing_value" | "not_utf8" | "invalid_json": pass
        case "not_an_object": pass
        case "unknown_type": pass
        case "missing_field": pass
        case "invalid_field": pass
        case "unknown_field": pass
        case "key_mismatch": pass
        case "create" | "terminate" | "complete_cdc": pass
        case "snapshot_started" | "snapshot_completed": pass
        case "progress": pass
        case "stopped" | "failed": pass
    if isinstance(result, Invalid):
        assert result.code in set(InvalidCode), result
        assert isinstance(result.message, str) and result.message.strip(), result
        result.message.encode("utf-8")
    else:
        assert type(result) in MESSAGE_TYPES, result
        assert key == result.job_id.encode(), (key, result)

atheris.Setup(sys.argv, one_input)
atheris.Fuzz()
"""


def seed(key: bytes, value: dict[str, Any]) -> bytes:
    return bytes([0, len(key)]) + key + json.dumps(value).encode()


BASE_SEED = {"command_id": "c-1", "job_id": "job-1", "issued_at": "2026-11-26T10:00:00+01:00"}
SEEDS = [
    seed(b"job-1", {**BASE_SEED, "type": "create", "mode": "snapshot", "drop_destination": True}),
    seed(
        b"job-1", {**BASE_SEED, "type": "progress", "stats": {"rows_migrated": 7, "tables_done": 1}}
    ),
    seed(b"job-1", {**BASE_SEED, "type": "failed", "error": "boom", "requested_by": "runner"}),
    seed(b"job-1", {**BASE_SEED, "type": "stopped", "temp_data_cleaned": True}),
    seed(b"job-1", {**BASE_SEED, "type": "terminate"}),
]
TOKENS = [
    *(f'"{name}"' for name in [*FIELD_NAMES, *TYPES, *STAT_NAMES, "snapshot", "continuous"]),
    "null",
    "true",
    "false",
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "-1",
    "1e400",
    "Z",
    "+23:59",
    "\\u0000",
]


def test_atheris_finds_no_input_that_makes_parsing_raise(tmp_path: Path) -> None:
    pytest.importorskip("atheris")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for number, value in enumerate(SEEDS):
        (corpus / f"seed-{number}").write_bytes(value)
    tokens = tmp_path / "json.dict"
    tokens.write_text("".join(json.dumps(token) + "\n" for token in TOKENS))
    script = tmp_path / "fuzz_parsing.py"
    script.write_text(ATHERIS_HARNESS)
    # libFuzzer exits the process when it is done, so it runs in a child; a crash is exit != 0.
    done = subprocess.run(
        [
            sys.executable,
            str(script),
            "-runs=20000",
            "-seed=1",
            "-max_len=600",
            f"-dict={tokens}",
            str(corpus),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "Done 20000 runs" in done.stderr, done.stderr[-2000:]
