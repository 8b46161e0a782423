"""The engine's reads of the source survive a PostgreSQL restart that cuts their connection."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from syncctl import waiting
from syncctl.connect import databases
from syncctl.connect.databases import SourceDatabase
from syncctl.settings import SourceConnection
from tests.unit.connect.fakes import Clock

CUT = "terminating connection due to administrator command"


class _Connection:
    def __init__(self, answers: list[Any]) -> None:
        self._answers = answers

    def __enter__(self) -> _Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def execute(self, query: str, params: Any = ()) -> _Connection:
        answer = self._answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        self._row = answer
        return self

    def fetchone(self) -> Any:
        return self._row


@pytest.fixture
def source(monkeypatch: pytest.MonkeyPatch) -> tuple[SourceDatabase, list[Any], list[int]]:
    monkeypatch.setattr(waiting, "time", Clock())
    answers: list[Any] = []
    connections: list[int] = []

    def connect(dsn: str, autocommit: bool) -> _Connection:
        connections.append(1)
        return _Connection(answers)

    monkeypatch.setattr(databases.psycopg, "connect", connect)
    database = SourceDatabase(SourceConnection(database="shop", user="engine", password="s3cret"))
    return database, answers, connections


def test_a_read_cut_by_a_restart_is_made_again_on_a_new_connection(
    source: tuple[SourceDatabase, list[Any], list[int]],
) -> None:
    database, answers, connections = source
    answers += [psycopg.OperationalError(CUT), ("0/16B3748",)]
    assert database.current_lsn() == "0/16B3748"
    assert len(connections) == 2
    answers += [psycopg.OperationalError(CUT), (4096, 8192)]
    assert database.slot_positions("syncctl_orders") == (4096, 8192)


def test_any_other_error_is_not_asked_again(
    source: tuple[SourceDatabase, list[Any], list[int]],
) -> None:
    database, answers, connections = source
    answers += [psycopg.OperationalError("permission denied for function pg_current_wal_lsn")]
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        database.current_lsn()
    assert len(connections) == 1
