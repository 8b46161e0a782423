"""docs/asyncapi.yaml (AsyncAPI 3.0), generated from the contract models so that it cannot drift.

The document describes the worker: it receives control messages and sends job records, events
and dead letters. Message payloads are the models' JSON Schemas; `syncctl schema` writes it.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel, TypeAdapter

from syncctl import __version__
from syncctl.contract import topics
from syncctl.contract.events import (
    CommandRejected,
    JobExpired,
    ScheduleChanged,
    StatusChanged,
    StopExtended,
)
from syncctl.contract.headers import FORWARDED_FROM_OFFSET, FORWARDED_FROM_PARTITION
from syncctl.contract.messages import MESSAGE_TYPES, OPERATOR_COMMAND_TYPES
from syncctl.contract.records import JobRecord
from syncctl.contract.signing import KEY_ID_HEADER, SIGNATURE_HEADER
from syncctl.contract.statuses import InvalidCode

_REF = "#/components/schemas/{model}"
_JOB_ID_KEY = {
    "type": "string",
    "description": "The job id (UTF-8). Partition by murmur2 as Kafka's Java producer does "
    "(librdkafka and kcat: partitioner=murmur2_random): "
    "a job's record lives on its key's partition, "
    "and a control message found elsewhere is forwarded there by the worker.",
}


def asyncapi_document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}

    def add(
        model: type[BaseModel], name: str, summary: str, headers: dict[str, Any] | None = None
    ) -> dict[str, str]:
        schema = TypeAdapter(model).json_schema(ref_template=_REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        message: dict[str, Any] = {
            "name": name,
            "title": model.__name__,
            "summary": summary,
            "contentType": "application/json",
            "payload": {"$ref": _REF.format(model=model.__name__)},
            "bindings": {"kafka": {"key": _JOB_ID_KEY, "bindingVersion": "0.5.0"}},
        }
        if headers:
            message["headers"] = headers
        messages[name] = message
        return {"$ref": f"#/components/messages/{name}"}

    signature_headers = {
        "type": "object",
        "description": "Signature headers: required on operator commands when the deployment "
        "requires signatures (docs/security.md); on every message with signing scope `all`.",
        "properties": {
            KEY_ID_HEADER: {"type": "string", "description": "Id of the signing key."},
            SIGNATURE_HEADER: {
                "type": "string",
                "pattern": "^[0-9a-f]{64}$",
                "description": "Hex HMAC-SHA256 over b'syncctl-signature-v1' + 4-byte big-endian "
                "key length + key + value.",
            },
        },
    }
    control_headers = {
        "type": "object",
        "properties": {
            **signature_headers["properties"],
            FORWARDED_FROM_PARTITION: {
                "type": "string",
                "pattern": "^[0-9]+$",
                "description": "Added when a worker forwards the message to its key's partition: "
                "the partition it was first read from.",
            },
            FORWARDED_FROM_OFFSET: {
                "type": "string",
                "pattern": "^[0-9]+$",
                "description": "Its offset there.",
            },
        },
        "description": signature_headers["description"],
    }
    control = {}
    for model in MESSAGE_TYPES:
        kind = model.model_fields["type"].default
        who = "operator command" if kind in OPERATOR_COMMAND_TYPES else "runner report"
        control[kind] = add(model, kind, f"{kind}: {who}.", control_headers)
    state = {
        "jobRecord": add(
            JobRecord, "jobRecord", "The job's current record; a null value deletes it."
        )
    }
    events = {
        "statusChanged": add(StatusChanged, "statusChanged", "A job's status changed."),
        "commandRejected": add(
            CommandRejected,
            "commandRejected",
            "An operator command was not allowed; `reason` says what to do instead.",
        ),
        "scheduleChanged": add(
            ScheduleChanged,
            "scheduleChanged",
            "A complete_cdc was scheduled (`at`), or its schedule removed (`at` null).",
        ),
        "stopExtended": add(
            StopExtended,
            "stopExtended",
            "A pending stop's drain made progress: its deadline moved to `deadline_at`.",
        ),
        "jobExpired": add(
            JobExpired,
            "jobExpired",
            "An ended job's record was removed after the retention period; its id is free.",
        ),
    }
    messages["deadLetter"] = {
        "name": "deadLetter",
        "title": "Dead letter",
        "summary": "A control message that could not be processed, copied unchanged.",
        "payload": {"description": "The original value, byte for byte (may be anything)."},
        "headers": {
            "type": "object",
            "properties": {
                "syncctl.error.code": {
                    "type": "string",
                    "enum": [code.value for code in InvalidCode],
                },
                "syncctl.error.message": {"type": "string"},
                "syncctl.source.topic": {"type": "string"},
                "syncctl.source.partition": {"type": "string", "pattern": "^[0-9]+$"},
                "syncctl.source.offset": {"type": "string", "pattern": "^[0-9]+$"},
            },
        },
    }
    channels = {
        "control": _channel(
            topics.CONTROL,
            "Commands from operators, reports from engines, keyed by job id "
            "and partitioned by murmur2 (partitioner=murmur2_random in librdkafka).",
            control,
        ),
        "state": _channel(
            topics.STATE, "Compacted changelog of job records (written by workers only).", state
        ),
        "events": _channel(
            topics.EVENTS,
            "Status changes and rejections; read with isolation.level=read_committed.",
            events,
        ),
        "deadLetters": _channel(
            topics.DEAD_LETTERS,
            "Control messages that could not be processed.",
            {"deadLetter": {"$ref": "#/components/messages/deadLetter"}},
        ),
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "syncctl",
            "version": __version__,
            "description": "Stops long-running data-sync jobs over Apache Kafka, exactly once. "
            "Generated from the contract models by `syncctl schema`; see docs/contract.md.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "`syncctl broker`",
            }
        },
        "channels": channels,
        "operations": {
            "receiveControl": _operation(
                "receive", "control", control, "The worker applies each message to its job."
            ),
            "sendState": _operation(
                "send", "state", state, "The worker writes the new record in the same transaction."
            ),
            "sendEvents": _operation(
                "send",
                "events",
                events,
                "The worker publishes the outcome in the same transaction.",
            ),
            "sendDeadLetters": _operation(
                "send",
                "deadLetters",
                {"deadLetter": {}},
                "Invalid input, with the reason in headers.",
            ),
        },
        "components": {"messages": messages, "schemas": dict(sorted(schemas.items()))},
    }


def _channel(address: str, description: str, messages: dict[str, Any]) -> dict[str, Any]:
    return {"address": address, "description": description, "messages": messages}


def _operation(action: str, channel: str, messages: dict[str, Any], summary: str) -> dict[str, Any]:
    return {
        "action": action,
        "summary": summary,
        "channel": {"$ref": f"#/channels/{channel}"},
        "messages": [{"$ref": f"#/channels/{channel}/messages/{name}"} for name in messages],
    }


def asyncapi_yaml() -> str:
    header = "# Generated by `syncctl schema` from src/syncctl/contract; do not edit by hand.\n"
    return header + yaml.safe_dump(
        asyncapi_document(), sort_keys=False, allow_unicode=True, width=100
    )
