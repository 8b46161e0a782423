"""The servers the Kafka Connect engine needs start here without Docker, as the project's own."""

from __future__ import annotations

import pytest
from tests.integration.harness import require_postgres

psycopg = pytest.importorskip("psycopg")
pymongo = pytest.importorskip("pymongo")


def test_postgres_serves_logical_decoding_to_a_password_user() -> None:
    require_postgres()
    from syncctl.local import LocalPostgres

    with LocalPostgres() as postgres:
        with psycopg.connect(postgres.dsn(), autocommit=True) as admin:
            assert admin.execute("SHOW wal_level").fetchone() == ("logical",)
            admin.execute("CREATE ROLE engine WITH LOGIN REPLICATION PASSWORD 'engine-secret'")
            admin.execute("CREATE DATABASE shop OWNER engine")
        with psycopg.connect(
            postgres.dsn("shop", "engine", "engine-secret"), autocommit=True
        ) as engine:
            engine.execute("CREATE TABLE orders (id int PRIMARY KEY)")
            engine.execute("CREATE PUBLICATION test_pub FOR TABLE orders")
            engine.execute("SELECT pg_create_logical_replication_slot('test_slot', 'pgoutput')")
            engine.execute("INSERT INTO orders VALUES (1)")
            changes = engine.execute(
                "SELECT count(*) FROM pg_logical_slot_peek_binary_changes("
                "'test_slot', NULL, NULL, 'proto_version', '1', 'publication_names', 'test_pub')"
            ).fetchone()
            assert changes is not None and changes[0] > 0
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(postgres.dsn("shop", "engine", "wrong"))
        data_dir = postgres.data_dir
    assert not data_dir.exists(), "a temporary server leaves its files behind"


def test_ferretdb_speaks_the_mongodb_wire_protocol() -> None:
    from syncctl.local import LocalFerretDB

    with LocalFerretDB() as ferretdb:
        client = pymongo.MongoClient(ferretdb.uri, serverSelectionTimeoutMS=10_000)
        orders = client["shop"]["orders"]
        orders.bulk_write(
            [
                pymongo.ReplaceOne({"_id": n}, {"_id": n, "total": n * 10}, upsert=True)
                for n in range(100)
            ]
        )
        orders.bulk_write(
            [pymongo.DeleteOne({"_id": 0}), pymongo.UpdateOne({"_id": 1}, {"$set": {"total": 7}})]
        )
        assert orders.count_documents({}) == 99
        assert orders.find_one({"_id": 1}) == {"_id": 1, "total": 7}
        client.drop_database("shop")
        assert "shop" not in client.list_database_names()
        client.close()


def test_ferretdb_replaces_hundreds_of_existing_documents_in_one_bulk_write() -> None:
    """What the MongoDB sink sends when a CDC batch updates many rows: FerretDB as published
    waits forever here (each replacement keeps a SQLite connection until the command ends)."""
    from syncctl.local import LocalFerretDB

    with LocalFerretDB() as ferretdb:
        client = pymongo.MongoClient(
            ferretdb.uri, serverSelectionTimeoutMS=10_000, socketTimeoutMS=30_000
        )
        customers = client["shop"]["customers"]
        customers.bulk_write(
            [
                pymongo.ReplaceOne({"_id": str(n)}, {"name": f"c{n}"}, upsert=True)
                for n in range(500)
            ]
        )
        customers.bulk_write(
            [
                pymongo.ReplaceOne({"_id": str(n)}, {"name": f"renamed {n}"}, upsert=True)
                for n in range(500)
            ]
        )
        assert customers.count_documents({}) == 500
        assert sorted(doc["name"] for doc in customers.find()) == sorted(
            f"renamed {n}" for n in range(500)
        )
        client.close()
