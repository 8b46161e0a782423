"""Signed commands: only the holder of a configured key can produce a message the workers accept."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from syncctl.contract.signing import (
    KEY_ID_HEADER,
    SIGNATURE_HEADER,
    signature_headers,
    signature_problem,
)
from syncctl.settings import SigningSettings

SECRETS = {"ops-new": "n" * 32, "ops-old": "o" * 32}


@given(
    key=st.binary(max_size=64),
    value=st.binary(max_size=512),
    key_id=st.sampled_from(sorted(SECRETS)),
)
def test_a_message_signed_with_any_configured_key_verifies(
    key: bytes, value: bytes, key_id: str
) -> None:
    headers = signature_headers(key_id, SECRETS[key_id], key, value)
    assert signature_problem(SECRETS, headers, key, value) is None


@given(
    key=st.binary(min_size=1, max_size=64),
    value=st.binary(min_size=1, max_size=512),
    data=st.data(),
)
def test_changing_any_byte_of_key_or_value_breaks_the_signature(
    key: bytes, value: bytes, data: st.DataObject
) -> None:
    headers = signature_headers("ops-new", SECRETS["ops-new"], key, value)
    which = data.draw(st.sampled_from(["key", "value"]))
    original = key if which == "key" else value
    index = data.draw(st.integers(0, len(original) - 1))
    changed = original[:index] + bytes([original[index] ^ 1]) + original[index + 1 :]
    key, value = (changed, value) if which == "key" else (key, changed)
    assert "does not match" in (signature_problem(SECRETS, headers, key, value) or "")


def test_key_and_value_cannot_trade_bytes() -> None:
    headers = signature_headers("ops-new", SECRETS["ops-new"], b"job-1", b"{}")
    assert "does not match" in (signature_problem(SECRETS, headers, b"job-", b"1{}") or "")


def test_unsigned_unknown_key_and_foreign_secret_are_each_explained() -> None:
    assert "not signed" in (signature_problem(SECRETS, [], b"job-1", b"{}") or "")
    forged = signature_headers("ops-retired", "r" * 32, b"job-1", b"{}")
    assert "do not know" in (signature_problem(SECRETS, forged, b"job-1", b"{}") or "")
    wrong_secret = signature_headers("ops-new", "x" * 32, b"job-1", b"{}")
    assert "does not match" in (signature_problem(SECRETS, wrong_secret, b"job-1", b"{}") or "")
    assert {name for name, _ in forged} == {KEY_ID_HEADER, SIGNATURE_HEADER}


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        ({"key_id": "missing", "keys": {"a": "a" * 16}}, "not one of signing.keys"),
        ({"required": True}, "at least one key"),
        ({"keys": {"short": "too-short"}}, "at least 16 characters"),
    ],
)
def test_unusable_signing_settings_are_refused_with_the_reason(
    settings: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        SigningSettings.model_validate(settings)


def test_signing_keys_never_show_in_the_settings_repr() -> None:
    settings = SigningSettings(key_id="ops-new", keys=SECRETS)  # type: ignore[arg-type]
    assert SECRETS["ops-new"] not in repr(settings) and SECRETS["ops-new"] not in str(
        settings.model_dump()
    )
