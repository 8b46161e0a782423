"""JSON Schemas of the contract models, as committed under docs/schemas/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from syncctl.contract.events import Event
from syncctl.contract.messages import ControlMessage
from syncctl.contract.records import JobRecord

SCHEMAS: dict[str, Any] = {
    "control-message": ControlMessage,
    "job-record": JobRecord,
    "event": Event,
}


def schema_documents() -> dict[str, str]:
    """File name → JSON text, one schema per model."""
    return {
        f"{name}.schema.json": json.dumps(
            TypeAdapter(model).json_schema(), indent=2, sort_keys=True
        )
        + "\n"
        for name, model in SCHEMAS.items()
    }


def write_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in schema_documents().items():
        path = directory / name
        path.write_text(text)
        written.append(path)
    return written
