"""Local servers the Kafka Connect engine needs, started by the project itself (no Docker):
PostgreSQL as the source database, FerretDB as the MongoDB-wire destination."""

from syncctl.servers.ferretdb import LocalFerretDB, ensure_ferretdb
from syncctl.servers.postgres import LocalPostgres

__all__ = ["LocalFerretDB", "LocalPostgres", "ensure_ferretdb"]
