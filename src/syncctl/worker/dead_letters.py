"""Headers of a dead-lettered control message: why it could not be processed, and where it was."""

from __future__ import annotations

from confluent_kafka import Message

from syncctl.contract import Invalid


def dead_letter_headers(message: Message, invalid: Invalid) -> list[tuple[str, bytes]]:
    original = list(message.headers() or [])
    return [
        *original,
        ("syncctl.error.code", invalid.code.value.encode()),
        ("syncctl.error.message", invalid.message.encode()),
        ("syncctl.source.topic", message.topic().encode()),
        ("syncctl.source.partition", str(message.partition()).encode()),
        ("syncctl.source.offset", str(message.offset()).encode()),
    ]
