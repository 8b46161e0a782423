"""What the engine asks Kafka Connect for, per job: pure functions of the job and the settings.

Every name a job leaves behind (connectors, replication slot, publication, topics) is derived
from its id, so that a restarted engine finds and removes them without having to remember.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from syncctl.contract import JobSpec, Mode
from syncctl.errors import ConfigError
from syncctl.settings import DestinationConnection, SourceConnection

# syncctl's own transform (config/connect/transforms): see _rows_written_with_set.
DROP_UNAVAILABLE_VALUES = "io.syncctl.connect.DropUnavailableValues"
KEY_TO_STRING_ID = "io.syncctl.connect.KeyToStringId"
ROW_TO_DOCUMENT = "io.syncctl.connect.RowToDocument"
# Every plugin a job's connectors name, and where a Connect cluster of one's own gets it.
REQUIRED_PLUGINS = {
    "io.debezium.connector.postgresql.PostgresConnector": "Debezium's PostgreSQL connector",
    "io.debezium.transforms.ExtractNewRecordState": "Debezium's PostgreSQL connector",
    "com.mongodb.kafka.connect.MongoSinkConnector": "the MongoDB Kafka connector",
    DROP_UNAVAILABLE_VALUES: "syncctl-connect-transforms.jar",
    KEY_TO_STRING_ID: "syncctl-connect-transforms.jar",
    ROW_TO_DOCUMENT: "syncctl-connect-transforms.jar",
}
_JSON = "org.apache.kafka.connect.json.JsonConverter"
_TRANSFORMS = "org.apache.kafka.connect.transforms"
_SINK = "com.mongodb.kafka.connect.sink"


@dataclass(frozen=True)
class JobNames:
    """Names of everything the engine creates for one job."""

    job_id: str

    @property
    def source(self) -> str:
        return f"syncctl-{self.job_id}-source"

    @property
    def sink(self) -> str:
        return f"syncctl-{self.job_id}-sink"

    @property
    def slot(self) -> str:
        """PostgreSQL replication slot: [a-z0-9_], 63 at most, unique per job id."""
        readable = re.sub(r"[^a-z0-9]", "_", self.job_id.lower())[:40]
        return f"syncctl_{readable}_{hashlib.sha1(self.job_id.encode()).hexdigest()[:8]}"

    @property
    def publication(self) -> str:
        return self.slot

    @property
    def topic_prefix(self) -> str:
        return f"syncctl.{self.job_id}"

    @property
    def notifications_topic(self) -> str:
        return f"syncctl.{self.job_id}.notifications"

    @property
    def heartbeat_topic(self) -> str:
        return f"__debezium-heartbeat.{self.topic_prefix}"

    def table_topic(self, table: str) -> str:
        """Debezium's topic for `schema.table`: <prefix>.<schema>.<table>."""
        return f"{self.topic_prefix}.{table}"

    @property
    def placeholder(self) -> str:
        """What Debezium puts for an unchanged TOASTed value: unique per job, so that no real
        value can be mistaken for it (and dropped)."""
        return f"__syncctl_unavailable_{hashlib.sha1(self.job_id.encode()).hexdigest()[:16]}"

    @property
    def sink_group(self) -> str:
        """The consumer group Kafka Connect gives the sink connector."""
        return f"connect-{self.sink}"


def source_config(
    job_id: str, mode: Mode, spec: JobSpec, source: SourceConnection
) -> dict[str, Any]:
    names = JobNames(job_id)
    return {
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "tasks.max": "1",
        "database.hostname": source.host,
        "database.port": str(source.port),
        "database.user": source.user,
        # A config provider reference when one is set: then the password is not stored in Connect.
        "database.password": source.connect_password or source.password.get_secret_value(),
        "database.dbname": source.database,
        "plugin.name": "pgoutput",
        "slot.name": names.slot,
        "publication.name": names.publication,
        "publication.autocreate.mode": "filtered",
        # A regular expression over schema.table: dots matched literally, whole names only.
        "table.include.list": ",".join(re.escape(table) for table in spec.tables),
        "topic.prefix": names.topic_prefix,
        # continuous: snapshot, then stream changes; snapshot: one consistent copy, then stop.
        "snapshot.mode": "initial" if mode is Mode.CONTINUOUS else "initial_only",
        "notification.enabled.channels": "sink",
        "notification.sink.topic.name": names.notifications_topic,
        "tombstones.on.delete": "false",
        # An UPDATE that leaves a TOASTed value unchanged carries this instead of the value; the
        # sink drops such fields and writes with $set, so the stored value stays.
        "unavailable.value.placeholder": names.placeholder,
        # Exact numbers as PostgreSQL's text (NaN included), marked with their column type so
        # that RowToDocument makes them Decimal128 (or keeps the exact text).
        "decimal.handling.mode": "string",
        "datatype.propagate.source.type": r"(?i)(.*\.)?(numeric|decimal)",
        # Moves the slot's confirmed position even when the job's tables do not change: a drain
        # waits for that position to pass the source's WAL position at the request.
        "heartbeat.interval.ms": "1000",
        # One partition per table keeps each row's changes in order for the sink.
        "topic.creation.default.partitions": "1",
        "topic.creation.default.replication.factor": "-1",
        "key.converter": _JSON,
        "value.converter": _JSON,
        "key.converter.schemas.enable": "true",
        "value.converter.schemas.enable": "true",
    }


def sink_config(
    job_id: str,
    spec: JobSpec,
    destination: DestinationConnection,
    primary_keys: Mapping[str, tuple[str, ...]],
) -> dict[str, Any]:
    """The MongoDB sink. Every table needs a primary key (`primary_keys`: each table's key
    columns): a document's _id is its row's key."""
    keyless = [table for table in spec.tables if not primary_keys.get(table)]
    if keyless:
        raise ConfigError(
            f"{', '.join(keyless)} {'has' if len(keyless) == 1 else 'have'} no primary key: each "
            "document's _id is its row's key, without which updates and deletes cannot find it. "
            "Add a primary key, or leave the table out of the spec"
        )
    names = JobNames(job_id)
    topics = [names.table_topic(table) for table in spec.tables]
    config: dict[str, Any] = {
        "connector.class": "com.mongodb.kafka.connect.MongoSinkConnector",
        "tasks.max": "1",
        "topics": ",".join(topics),
        "connection.uri": destination.connect_uri or destination.uri.get_secret_value(),
        "database": spec.database,
        "key.converter": _JSON,
        "value.converter": _JSON,
        "key.converter.schemas.enable": "true",
        "value.converter.schemas.enable": "true",
        # A record the sink cannot write fails the job instead of being skipped in silence.
        "errors.tolerance": "none",
        # Bigger bulk writes while a backlog drains (Connect's default is 500 records a poll).
        "consumer.override.max.poll.records": "2000",
    }
    keys = _KEY_STRING_IDS if destination.document_id == "key_string" else _KEY_DOCUMENT_IDS
    config.update(_rows_written_with_set(names, keys, destination.server))
    for table, topic in zip(spec.tables, topics, strict=True):
        config[f"topic.override.{topic}.collection"] = table.split(".", 1)[1]
    return config


# The row's key document ({"id": 7}, or every column of a composite key) as _id.
_KEY_DOCUMENT_IDS = {
    "transforms.keyToId.type": f"{_TRANSFORMS}.HoistField$Key",
    "transforms.keyToId.field": "_id",
}
# The key as a string _id, which FerretDB finds by index: "7", or for a composite key its
# values as a JSON array, '["acme",7]' (syncctl's KeyToStringId transform).
_KEY_STRING_IDS = {"transforms.keyToId.type": KEY_TO_STRING_ID}


def _rows_written_with_set(names: JobNames, keys: dict[str, str], server: str) -> dict[str, str]:
    """Rows unwrapped from Debezium's envelope (a delete becomes a tombstone, which deletes by
    _id), unchanged TOASTed values taken out, values made the BSON types of the documented type
    map (docs/engine-connect.md), the key made _id by `keys`' transforms, and each row written
    with $set (upsert): a field left out keeps what the destination holds."""
    key_transforms = [name.split(".")[1] for name in keys if name.endswith(".type")]
    return {
        "transforms": ",".join(["unwrap", "dropUnavailable", "toDocument", *key_transforms]),
        "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
        "transforms.dropUnavailable.type": DROP_UNAVAILABLE_VALUES,
        "transforms.dropUnavailable.placeholder": names.placeholder,
        "transforms.toDocument.type": ROW_TO_DOCUMENT,
        # FerretDB cannot store Decimal128 or an array in an array: their exact text instead.
        "transforms.toDocument.decimals": "string" if server == "ferretdb" else "decimal128",
        "transforms.toDocument.nested.arrays": str(server != "ferretdb").lower(),
        **keys,
        "document.id.strategy": f"{_SINK}.processor.id.strategy.ProvidedInKeyStrategy",
        "writemodel.strategy": f"{_SINK}.writemodel.strategy.UpdateOneDefaultStrategy",
        "delete.on.null.values": "true",
    }


def missing_plugins(installed: set[str]) -> str | None:
    """What a Connect cluster with the plugin classes `installed` lacks to run syncctl's jobs
    (and where each comes from), or None when it has all of them."""
    missing = sorted(name for name in REQUIRED_PLUGINS if name not in installed)
    if not missing:
        return None
    return ", ".join(f"{name} (from {REQUIRED_PLUGINS[name]})" for name in missing)
