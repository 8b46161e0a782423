"""Turn the raw bytes of a control-topic record into a message, or say exactly why not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ConfigDict, TypeAdapter, ValidationError

from syncctl.contract.messages import MAX_MESSAGE_BYTES, ControlMessage
from syncctl.contract.statuses import InvalidCode

# Only keys go through pydantic's string cache: a command's values (ids, times) are new each
# time, so caching them evicts and inserts for nothing (validation took 15-20 % longer with
# them cached, measured in bench-sized batches of unique commands).
_CONTROL_MESSAGE: TypeAdapter[Any] = TypeAdapter(
    ControlMessage, config=ConfigDict(cache_strings="keys")
)
_ERROR_CODES = {
    "missing": InvalidCode.MISSING_FIELD,
    "extra_forbidden": InvalidCode.UNKNOWN_FIELD,
    "union_tag_invalid": InvalidCode.UNKNOWN_TYPE,
    "union_tag_not_found": InvalidCode.MISSING_FIELD,
    "dict_type": InvalidCode.NOT_AN_OBJECT,
    "model_type": InvalidCode.NOT_AN_OBJECT,
}


@dataclass(frozen=True, slots=True)
class Invalid:
    """A control message that cannot be processed: it goes to the dead-letter topic."""

    code: InvalidCode
    message: str


def parse_control_message(key: bytes | None, value: bytes | None) -> ControlMessage | Invalid:
    """Validate a control-topic record against the contract (size, JSON, fields, key = job_id)."""
    if value is None:
        return Invalid(
            InvalidCode.MISSING_VALUE, "the message has no value; send a command as JSON"
        )
    if len(value) > MAX_MESSAGE_BYTES:
        return Invalid(
            InvalidCode.TOO_LARGE,
            f"the message is {len(value)} bytes; the limit is {MAX_MESSAGE_BYTES} bytes",
        )
    try:
        message = _CONTROL_MESSAGE.validate_json(value, strict=True)
    except ValidationError as error:
        return _describe(error, value)
    if key is None:
        return Invalid(
            InvalidCode.MISSING_KEY, f"the message has no key; use the job id {message.job_id!r}"
        )
    if key != message.job_id.encode():
        return Invalid(
            InvalidCode.KEY_MISMATCH,
            f"the key {key.decode(errors='replace')!r} differs from job_id {message.job_id!r}; "
            "key every message by its job id so that a job's messages stay in order",
        )
    return message


def _describe(error: ValidationError, value: bytes) -> Invalid:
    first = error.errors(include_url=False)[0]
    if first["type"] == "json_invalid":
        try:
            value.decode("utf-8")
        except UnicodeDecodeError as decode_error:
            return Invalid(InvalidCode.NOT_UTF8, f"the value is not UTF-8: {decode_error}")
        return Invalid(InvalidCode.INVALID_JSON, f"the value is not valid JSON: {first['msg']}")
    code = _ERROR_CODES.get(first["type"], InvalidCode.INVALID_FIELD)
    if code is InvalidCode.NOT_AN_OBJECT and len(first["loc"]) > 1:
        code = InvalidCode.INVALID_FIELD  # a field (e.g. stats) that should be an object is not
    if first["type"] == "union_tag_not_found":
        return Invalid(code, "field 'type' is missing; it names the command, e.g. \"terminate\"")
    # The first element of a location inside a tagged union is the tag itself.
    location = ".".join(str(part) for part in first["loc"][1:]) or "message"
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc'][1:]) or 'message'}: {e['msg']}"
        for e in error.errors(include_url=False)[:5]
    )
    if code in (InvalidCode.UNKNOWN_TYPE, InvalidCode.NOT_AN_OBJECT):
        return Invalid(code, first["msg"])
    return Invalid(code, f"field {location!r} is not valid: {problems}")
