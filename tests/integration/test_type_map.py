"""The type map (docs/engine-connect.md) up to the BSON the MongoDB sink writes: a row shaped as
Debezium sends it, through syncctl's RowToDocument and the sink's own converter, run in Java.

The end-to-end test (test_engine_connect.py) runs against FerretDB, which cannot store
Decimal128 or an array in an array; this one also covers the path a real MongoDB gets."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from syncctl.local.broker import find_java
from syncctl.local.connect import ensure_connect_jars

REPO = Path(__file__).resolve().parents[2]
DIGITS = "1234567890" * 5


@pytest.fixture(scope="module")
def classpath() -> str:
    lib, plugins = ensure_connect_jars(REPO / ".local" / "connect")
    jars = [
        *sorted(lib.glob("*.jar")),
        *sorted((plugins / "mongodb").glob("*-all.jar")),
        *sorted((plugins / "syncctl-transforms").glob("*.jar")),
    ]
    return ":".join(str(jar) for jar in jars)


def _document(classpath: str, decimals: str, nested_arrays: bool) -> dict[str, Any]:
    run = subprocess.run(
        [
            find_java(),
            "-cp",
            classpath,
            str(Path(__file__).parent / "java" / "TypeMap.java"),
            decimals,
            str(nested_arrays).lower(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def _date(iso: str) -> dict[str, Any]:
    import datetime

    moment = datetime.datetime.fromisoformat(iso)
    millis = int(moment.timestamp() * 1000)
    return {"$date": {"$numberLong": str(millis)}}


SAME_ON_BOTH = {
    "small": {"$numberInt": "-32768"},
    "big": {"$numberLong": "9007199254740993"},
    "born": _date("1969-07-20T00:00:00+00:00"),
    "forever": "infinity",
    "seen": _date("2026-12-04T10:15:30.123+00:00"),
    "seen_tz": _date("2026-12-04T04:45:30.987+00:00"),
    "alarm": "23:59:59.5",
    "blob": {"$binary": {"base64": "AP8=", "subType": "00"}},
    "ints": [{"$numberInt": "1"}, None, {"$numberInt": "3"}],
    "nothing": None,
    "long_free": f"0.{DIGITS}",  # beyond Decimal128's 34 digits: the exact text
    "nan": "NaN",  # as PostgreSQL spells it
    "plain_text": "1.50",  # a text column holding digits stays a string
}


def test_a_mongodb_destination_gets_decimal128_and_embedded_json_with_arrays_in_arrays(
    classpath: str,
) -> None:
    document = _document(classpath, "decimal128", True)
    assert document == {
        **SAME_ON_BOTH,
        "exact": {"$numberDecimal": "12345678901234567890123456.7890"},
        "free": {"$numberDecimal": "1.50"},
        "doc": {
            "a": [[{"$numberInt": "1"}], {"$numberInt": "2"}],
            "n": {"$numberDouble": "0.1"},  # a double is exactly this JSON number
            "big": {"$numberDecimal": "123456789012345678901"},  # beyond Int64
            "pi": {"$numberDecimal": "3.14159265358979323846264"},  # more than a double holds
        },
        "flat": {"tags": ["x", {"k": [{"$numberInt": "1"}]}]},
    }


def test_a_ferretdb_destination_gets_the_exact_text_where_it_lacks_the_bson_type(
    classpath: str,
) -> None:
    document = _document(classpath, "string", False)
    assert document == {
        **SAME_ON_BOTH,
        "exact": "12345678901234567890123456.7890",
        "free": "1.50",
        # An array directly in an array: the json value's own text.
        "doc": '{"a": [[1], 2], "n": 0.1, "big": 123456789012345678901, '
        '"pi": 3.14159265358979323846264}',
        "flat": {"tags": ["x", {"k": [{"$numberInt": "1"}]}]},
    }
