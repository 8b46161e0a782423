"""Messages to bytes for Kafka, the same JSON as `model_dump_json()`."""

from __future__ import annotations

from pydantic import BaseModel


def to_json(model: BaseModel) -> bytes:
    """`model.model_dump_json().encode()` without decoding the serializer's bytes to a str and
    encoding them again (the worker writes two documents per command)."""
    return model.__pydantic_serializer__.to_json(model)
