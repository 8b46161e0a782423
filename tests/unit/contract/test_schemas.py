"""The JSON Schemas in docs/schemas/ are the ones the models produce."""

from __future__ import annotations

from pathlib import Path

from syncctl.contract.schema import schema_documents

SCHEMAS = Path(__file__).resolve().parents[3] / "docs" / "schemas"


def test_committed_schemas_match_the_models() -> None:
    for name, text in schema_documents().items():
        committed = SCHEMAS / name
        assert committed.is_file(), f"{committed} is missing: run `syncctl schema`"
        assert committed.read_text() == text, f"{committed} is stale: run `syncctl schema`"


def test_the_control_message_schema_names_every_message_type() -> None:
    text = schema_documents()["control-message.schema.json"]
    for message_type in (
        "create", "terminate", "complete_cdc", "snapshot_started", "progress",
        "snapshot_completed", "stopped", "failed",
    ):  # fmt: skip
        assert f'"const": "{message_type}"' in text
