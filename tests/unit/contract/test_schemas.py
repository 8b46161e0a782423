"""The JSON Schemas in docs/schemas/ are the ones the models produce."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import TypeAdapter

from syncctl.contract.asyncapi import asyncapi_yaml
from syncctl.contract.messages import MESSAGE_TYPES, OPERATOR_COMMAND_TYPES
from syncctl.contract.schema import schema_documents

REPO = Path(__file__).resolve().parents[3]
SCHEMAS = REPO / "docs" / "schemas"


def test_committed_schemas_match_the_models() -> None:
    for name, text in schema_documents().items():
        committed = SCHEMAS / name
        assert committed.is_file(), f"{committed} is missing: run `syncctl schema`"
        assert committed.read_text() == text, f"{committed} is stale: run `syncctl schema`"


def test_the_control_message_schema_names_every_message_type() -> None:
    text = schema_documents()["control-message.schema.json"]
    for message_type in (
        "create",
        "terminate",
        "complete_cdc",
        "snapshot_started",
        "progress",
        "snapshot_completed",
        "stopped",
        "failed",
    ):
        assert f'"const": "{message_type}"' in text


ASYNCAPI = SCHEMAS.parent / "asyncapi.yaml"


def test_the_committed_asyncapi_document_is_the_one_the_models_produce() -> None:
    assert ASYNCAPI.is_file(), f"{ASYNCAPI} is missing: run `syncctl schema`"
    assert ASYNCAPI.read_text() == asyncapi_yaml(), f"{ASYNCAPI} is stale: run `syncctl schema`"


def test_the_asyncapi_document_describes_every_topic_and_message_and_every_reference_resolves() -> (
    None
):
    document = yaml.safe_load(ASYNCAPI.read_text())
    assert document["asyncapi"] == "3.0.0"
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {
        "syncjobs.control",
        "syncjobs.state",
        "syncjobs.events",
        "syncjobs.control.dlq",
    }
    control = document["channels"]["control"]["messages"]
    assert set(control) == {model.model_fields["type"].default for model in MESSAGE_TYPES}
    for model in MESSAGE_TYPES:
        # The payload is the model's own schema, not a hand-written copy.
        schema = TypeAdapter(model).json_schema(ref_template="#/components/schemas/{model}")
        schema.pop("$defs", None)
        assert document["components"]["schemas"][model.__name__] == schema

    def refs(node: object) -> list[str]:
        if isinstance(node, dict):
            return [v for k, v in node.items() if k == "$ref"] + [
                r for v in node.values() for r in refs(v)
            ]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    for ref in refs(document):
        target: object = document
        for part in ref.removeprefix("#/").split("/"):
            assert isinstance(target, dict) and part in target, f"unresolved {ref}"
            target = target[part]


@pytest.mark.parametrize("doc", ["docs/security.md", "docs/contract.md"])
def test_the_docs_name_every_command_that_must_be_signed(doc: str) -> None:
    """A reader deciding what to sign learns it from these sentences: they list what the worker
    checks (OPERATOR_COMMAND_TYPES), no fewer."""
    text = " ".join((REPO / doc).read_text().split())
    sentence = re.search(r"operator commands? \(`create`[^)]*\)", text)
    assert sentence, f"{doc} no longer lists the signed commands"
    named = set(re.findall(r"`([a-z_]+)`", sentence.group(0)))
    assert named >= OPERATOR_COMMAND_TYPES, sorted(OPERATOR_COMMAND_TYPES - named)
