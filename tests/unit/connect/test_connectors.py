"""What the engine asks Kafka Connect for is valid for PostgreSQL and Kafka, for any job."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncctl.connect.connectors import (
    REQUIRED_PLUGINS,
    JobNames,
    missing_plugins,
    sink_config,
    source_config,
)
from syncctl.contract import JobSpec, Mode
from syncctl.errors import ConfigError
from syncctl.settings import DestinationConnection, SourceConnection

job_ids = st.from_regex(r"[A-Za-z0-9-]{1,128}", fullmatch=True)
SPEC = JobSpec(
    source="shop",
    tables=("public.orders", "sales.order_items"),
    destination="archive",
    database="shop",
)
SOURCE = SourceConnection(database="shop", user="engine", password="secret")
DESTINATION = DestinationConnection(uri="mongodb://127.0.0.1:27017/")
KEY_STRING = DestinationConnection(uri="mongodb://127.0.0.1:27017/", document_id="key_string")
KEYS = {"public.orders": ("order_id",), "sales.order_items": ("id",)}


@given(job_ids, job_ids)
def test_every_job_gets_its_own_valid_slot_and_topic_names(first: str, second: str) -> None:
    names = JobNames(first)
    assert re.fullmatch(r"[a-z0-9_]{1,63}", names.slot), names.slot
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,249}", names.table_topic("public.orders"))
    if first != second:
        assert names.slot != JobNames(second).slot


def test_tables_are_matched_exactly_not_as_regular_expressions() -> None:
    include = source_config("j", Mode.CONTINUOUS, SPEC, SOURCE)["table.include.list"].split(",")
    assert [re.fullmatch(pattern, "public.orders") is not None for pattern in include] == [
        True,
        False,
    ]
    assert re.fullmatch(include[0], "publicXorders") is None


def test_a_snapshot_job_reads_once_and_a_continuous_one_streams_after() -> None:
    assert source_config("j", Mode.SNAPSHOT, SPEC, SOURCE)["snapshot.mode"] == "initial_only"
    assert source_config("j", Mode.CONTINUOUS, SPEC, SOURCE)["snapshot.mode"] == "initial"


def test_the_sink_reads_each_tables_topic_into_a_collection_named_after_the_table() -> None:
    config = sink_config("j", SPEC, DESTINATION, KEYS)
    assert config["topics"].split(",") == ["syncctl.j.public.orders", "syncctl.j.sales.order_items"]
    assert config["topic.override.syncctl.j.public.orders.collection"] == "orders"
    assert config["topic.override.syncctl.j.sales.order_items.collection"] == "order_items"
    assert config["database"] == "shop"


def test_key_document_ids_are_the_rows_key_document() -> None:
    config = sink_config("j", SPEC, DESTINATION, KEYS)
    assert "change.data.capture.handler" not in config  # its updates replace whole documents
    assert config["transforms"] == "unwrap,dropUnavailable,toDocument,keyToId"
    assert config["transforms.keyToId.type"].endswith("HoistField$Key")
    assert config["transforms.keyToId.field"] == "_id"
    assert config["document.id.strategy"].endswith(".ProvidedInKeyStrategy")


def test_key_string_ids_are_made_by_syncctls_transform_for_any_key() -> None:
    composite = {**KEYS, "public.orders": ("tenant", "order_id")}
    config = sink_config("j", SPEC, KEY_STRING, composite)
    assert config["transforms"] == "unwrap,dropUnavailable,toDocument,keyToId"
    assert config["transforms.keyToId.type"] == "io.syncctl.connect.KeyToStringId"
    assert config["document.id.strategy"].endswith(".ProvidedInKeyStrategy")


@pytest.mark.parametrize("destination", [DESTINATION, KEY_STRING])
def test_unchanged_toasted_values_are_dropped_and_rows_written_with_set(
    destination: DestinationConnection,
) -> None:
    """Debezium's placeholder (unique to the job) is what the sink's transform drops, after the
    row is unwrapped; $set then leaves the stored value as it is."""
    source = source_config("j", Mode.CONTINUOUS, SPEC, SOURCE)
    sink = sink_config("j", SPEC, destination, KEYS)
    assert sink["transforms.dropUnavailable.type"] == "io.syncctl.connect.DropUnavailableValues"
    assert sink["transforms.dropUnavailable.placeholder"] == source["unavailable.value.placeholder"]
    assert source["unavailable.value.placeholder"] != JobNames("k").placeholder
    assert sink["transforms"].split(",")[:2] == ["unwrap", "dropUnavailable"]
    assert sink["writemodel.strategy"].endswith(".UpdateOneDefaultStrategy")
    assert sink["delete.on.null.values"] == "true"


@pytest.mark.parametrize("destination", [DESTINATION, KEY_STRING])
def test_a_table_without_a_primary_key_is_refused_with_what_to_do(
    destination: DestinationConnection,
) -> None:
    with pytest.raises(ConfigError) as refused:
        sink_config("j", SPEC, destination, {**KEYS, "public.orders": ()})
    assert "public.orders has no primary key" in str(refused.value)
    assert "Add a primary key" in str(refused.value)


def test_values_get_the_type_maps_bson_types_and_ferretdb_its_exact_text_fallbacks() -> None:
    mongodb = sink_config("j", SPEC, DESTINATION, KEYS)
    ferretdb = sink_config("j", SPEC, KEY_STRING.model_copy(update={"server": "ferretdb"}), KEYS)
    source = source_config("j", Mode.CONTINUOUS, SPEC, SOURCE)
    # Exact numbers (NaN too) reach the transform as text, marked as numeric.
    assert source["decimal.handling.mode"] == "string"
    assert re.fullmatch(source["datatype.propagate.source.type"], "shop.NUMERIC")
    for config in (mongodb, ferretdb):
        assert config["transforms.toDocument.type"] == "io.syncctl.connect.RowToDocument"
        # After the placeholder is dropped (it needs the row's schema), before the key is _id.
        order = config["transforms"].split(",")
        assert order.index("dropUnavailable") < order.index("toDocument") < order.index("keyToId")
    assert (
        mongodb["transforms.toDocument.decimals"],
        ferretdb["transforms.toDocument.decimals"],
    ) == (
        "decimal128",
        "string",
    )
    assert mongodb["transforms.toDocument.nested.arrays"] == "true"
    assert ferretdb["transforms.toDocument.nested.arrays"] == "false"


def test_every_plugin_a_job_names_beyond_connects_own_is_checked_at_the_engines_start() -> None:
    configs = [
        source_config("j", mode, SPEC, SOURCE) for mode in (Mode.SNAPSHOT, Mode.CONTINUOUS)
    ] + [
        sink_config("j", SPEC, destination, KEYS)
        for destination in (DESTINATION, KEY_STRING.model_copy(update={"server": "ferretdb"}))
    ]
    named = {
        value
        for config in configs
        for key, value in config.items()
        if key == "connector.class" or re.fullmatch(r"transforms\.\w+\.type", key)
    }
    assert {name for name in named if not name.startswith("org.apache.kafka.")} <= set(
        REQUIRED_PLUGINS
    )


def test_a_connect_without_syncctls_transforms_is_told_which_jar_it_lacks() -> None:
    assert missing_plugins(set(REQUIRED_PLUGINS)) is None
    without_ours = {name for name in REQUIRED_PLUGINS if not name.startswith("io.syncctl.")}
    lacking = missing_plugins(without_ours)
    assert lacking is not None
    assert "io.syncctl.connect.DropUnavailableValues (from syncctl-connect-transforms.jar)" in (
        lacking
    )
    assert "Debezium" not in lacking
