"""What the engine does to the databases themselves, which Kafka Connect cannot: drop a job's
replication slot and publication on the source, drop a destination database before a job that
asks for it, and read the source's WAL position for a drain."""

from __future__ import annotations

import re

import psycopg
import pymongo

from syncctl.errors import ServerError
from syncctl.settings import DestinationConnection, SourceConnection
from syncctl.waiting import Patience, RetryPolicy, retry, wait_until

_RESTARTING = re.compile(
    r"Connection refused|starting up|shutting down|terminating connection|server closed"
)
# A PostgreSQL restart (an operator's fast restart, a failover) lasts seconds.
_WHILE_RESTARTING = RetryPolicy(
    retry_on=lambda error: (
        isinstance(error, psycopg.OperationalError) and _RESTARTING.search(str(error)) is not None
    ),
    timeout=60.0,
    pause=0.5,
)
# A slot is in use until its connector's task has let go of it (a stop takes a moment).
_WHILE_SLOT_IN_USE = RetryPolicy(
    retry_on=lambda error: isinstance(error, psycopg.errors.ObjectInUse), pause=0.2
)
_SLOT_LOOK_SECONDS = 0.2


def wal_position(lsn: str) -> int:
    """A PostgreSQL LSN ("16/B374D848") as WAL bytes from the start."""
    high, low = lsn.split("/")
    return (int(high, 16) << 32) + int(low, 16)


class SourceDatabase:
    def __init__(self, connection: SourceConnection) -> None:
        self._dsn = psycopg.conninfo.make_conninfo(
            host=connection.host,
            port=connection.port,
            dbname=connection.database,
            user=connection.user,
            password=connection.password.get_secret_value(),
            connect_timeout=10,
        )

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        """A connection; a server that is restarting (refusing, starting or shutting down) is
        waited for, a refusal of the credentials is not."""
        return retry(lambda: psycopg.connect(self._dsn, autocommit=True), _WHILE_RESTARTING)

    def missing_tables(self, tables: tuple[str, ...]) -> list[str]:
        """The `schema.table` names the source does not have (connecting fails clearly first)."""
        try:
            with self._connect() as db:
                rows = db.execute(
                    "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                    "WHERE table_schema || '.' || table_name = ANY(%s)",
                    (list(tables),),
                ).fetchall()
        except psycopg.OperationalError as error:
            raise ServerError(
                f"cannot connect to the source database: {str(error).strip().splitlines()[-1]}"
            ) from None
        found = {row[0] for row in rows}
        return [table for table in tables if table not in found]

    def primary_keys(self, tables: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
        """Each table's primary key columns, in key order; () for a table without one."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT n.nspname || '.' || c.relname, "
                "       array_agg(a.attname::text "
                "ORDER BY array_position(i.indkey::int2[], a.attnum)) "
                "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indisprimary AND n.nspname || '.' || c.relname = ANY(%s) GROUP BY 1",
                (list(tables),),
            ).fetchall()
        found = {table: tuple(columns) for table, columns in rows}
        return {table: found.get(table, ()) for table in tables}

    def _one_row(self, query: str, params: tuple[object, ...] = ()) -> tuple[object, ...] | None:
        """One row of a read, asked again on a new connection when a restart cut the first
        ("terminating connection due to administrator command")."""

        def read() -> tuple[object, ...] | None:
            with self._connect() as db:
                return db.execute(query, params).fetchone()

        return retry(read, _WHILE_RESTARTING)

    def current_lsn(self) -> str:
        row = self._one_row("SELECT pg_current_wal_lsn()::text")
        assert row is not None
        return str(row[0])

    def slot_positions(self, slot: str) -> tuple[int, int]:
        """(how far the slot's connector confirmed changes as in Kafka, how far its walsender
        has read the WAL), in WAL bytes; -1 for what is not there. The second moves while a big
        transaction is decoded, long before any of it is confirmed."""
        row = self._one_row(
            "SELECT (s.confirmed_flush_lsn - '0/0'::pg_lsn)::bigint, "
            "       (r.sent_lsn - '0/0'::pg_lsn)::bigint "
            "FROM pg_replication_slots s "
            "LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid "
            "WHERE s.slot_name = %s",
            (slot,),
        )
        if row is None:
            return -1, -1
        return (-1 if row[0] is None else int(row[0])), (-1 if row[1] is None else int(row[1]))

    def changes_pending(self, slot: str, publication: str, lsn: str, timeout: float = 15.0) -> int:
        """Changes of the publication's tables that the slot holds up to `lsn` and its consumer
        has not confirmed. Only on an inactive slot (its connector stopped), which it waits for.
        A connection a restart cut is made again (peeking changes nothing)."""
        return retry(
            lambda: self._changes_pending(slot, publication, lsn, timeout), _WHILE_RESTARTING
        )

    def _changes_pending(self, slot: str, publication: str, lsn: str, timeout: float) -> int:
        with self._connect() as db:

            def peek() -> int:
                row = db.execute(
                    # pgoutput messages: I(nsert), U(pdate), D(elete), T(runcate) are changes.
                    "SELECT count(*) FROM pg_logical_slot_peek_binary_changes("
                    "%s, %s::pg_lsn, NULL, "
                    "'proto_version', '1', 'publication_names', %s) "
                    "WHERE get_byte(data, 0) IN (73, 85, 68, 84)",
                    (slot, lsn, publication),
                ).fetchone()
                return int(row[0]) if row else 0

            try:
                return retry(peek, _WHILE_SLOT_IN_USE.within(timeout))
            except psycopg.errors.ObjectInUse:
                raise ServerError(
                    f"replication slot {slot} is still in use after {timeout:.0f} s"
                ) from None

    def drop_slot_and_publication(self, slot: str, publication: str, timeout: float = 30.0) -> None:
        """Drop both; a slot still held by a stopping connector is retried until it is released.

        A slot left behind makes PostgreSQL keep WAL for it forever. A connection a restart cut
        is made again (both drops are idempotent)."""
        retry(
            lambda: self._drop_slot_and_publication(slot, publication, timeout), _WHILE_RESTARTING
        )

    def _drop_slot_and_publication(self, slot: str, publication: str, timeout: float) -> None:
        with self._connect() as db:
            db.execute(f'DROP PUBLICATION IF EXISTS "{publication}"')

            def dropped() -> bool:
                row = db.execute(
                    "SELECT active FROM pg_replication_slots WHERE slot_name = %s", (slot,)
                ).fetchone()
                if row is None:
                    return True
                if row[0]:
                    return False
                try:
                    db.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
                except psycopg.errors.ObjectInUse:
                    return False  # taken again between the two statements
                return True

            if not wait_until(dropped, Patience(timeout, _SLOT_LOOK_SECONDS)):
                raise ServerError(f"replication slot {slot} is still in use after {timeout:.0f} s")


class DestinationDatabase:
    """The engine's side of one MongoDB-wire destination."""

    def __init__(self, connection: DestinationConnection) -> None:
        self.connection = connection

    def drop(self, database: str) -> None:
        with self._client() as client:
            client.drop_database(database)

    def documents_in(self, database: str, collections: list[str]) -> int:
        """How many documents the destination holds in `collections` of `database`."""
        with self._client() as client:
            return sum(client[database][name].count_documents({}) for name in collections)

    def is_ferretdb(self) -> bool:
        """Whether the destination answers as FerretDB, which cannot store some BSON values
        (Decimal128 closes the connection; an array in an array is refused)."""
        with self._client() as client:
            return "ferretdbVersion" in client.admin.command("buildInfo")

    def _client(self) -> pymongo.MongoClient[dict[str, object]]:
        return pymongo.MongoClient(
            self.connection.uri.get_secret_value(), serverSelectionTimeoutMS=10_000
        )
