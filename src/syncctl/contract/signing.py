"""HMAC-SHA256 signatures on control messages: who may stop a migration.

A signed message carries two headers: `syncctl.signature.key-id` (the key's id, UTF-8) and
`syncctl.signature` (lowercase hex HMAC-SHA256). The signed bytes are

    b"syncctl-signature-v1" + len(key).to_bytes(4, "big") + key + value

(key = the Kafka record key, the job id's UTF-8 bytes; value = the record value, byte for
byte). The length prefix keeps (key, value) pairs from running into each other. The secret is
the UTF-8 bytes of the configured key string.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence

SIGNATURE_HEADER = "syncctl.signature"
KEY_ID_HEADER = "syncctl.signature.key-id"
_DOMAIN = b"syncctl-signature-v1"


def signature(secret: str, key: bytes | None, value: bytes) -> str:
    key = key or b""
    signed = _DOMAIN + len(key).to_bytes(4, "big") + key + value
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_headers(
    key_id: str, secret: str, key: bytes | None, value: bytes
) -> list[tuple[str, bytes]]:
    return [
        (KEY_ID_HEADER, key_id.encode()),
        (SIGNATURE_HEADER, signature(secret, key, value).encode()),
    ]


def signature_problem(
    secrets: Mapping[str, str],
    headers: Sequence[tuple[str, bytes | None]] | None,
    key: bytes | None,
    value: bytes,
) -> str | None:
    """None when the message is signed by one of `secrets` (key id -> secret); else why not."""
    found = {name: content for name, content in headers or [] if content is not None}
    if SIGNATURE_HEADER not in found or KEY_ID_HEADER not in found:
        return (
            f"the command is not signed, and this deployment requires signatures: send it with "
            f"the {KEY_ID_HEADER} and {SIGNATURE_HEADER} headers (the CLI and client do when "
            "signing.key_id is set)"
        )
    key_id = found[KEY_ID_HEADER].decode(errors="replace")
    secret = secrets.get(key_id)
    if secret is None:
        return f"the command is signed with key id {key_id!r}, which the workers do not know"
    expected = signature(secret, key, value).encode()
    if not hmac.compare_digest(expected, found[SIGNATURE_HEADER].strip().lower()):
        return (
            f"the signature does not match the message for key id {key_id!r}: "
            "it was altered or signed with another key"
        )
    return None
