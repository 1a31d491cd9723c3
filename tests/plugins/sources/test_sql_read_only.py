"""The SQL source never writes to a source database: statements other than one query are refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

import pytest
from source_files import make_sqlite, read_outcome

from kinject_plugins.sources.sql import SqlSource, read_only_problem
from kinject_plugins.sources.sql_guard import read_only_session


def _state(db: Path) -> tuple[bytes, int, list[tuple[object, ...]]]:
    rows = sqlite3.connect(db).execute("SELECT * FROM notes ORDER BY id").fetchall()
    return db.read_bytes(), db.stat().st_mtime_ns, rows


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM notes",
        "SELECT * FROM notes; DELETE FROM notes",
        "WITH gone AS (DELETE FROM notes RETURNING *) SELECT * FROM gone",
        "/* SELECT */ UPDATE notes SET body = ''",
        "DROP TABLE notes",
        "PRAGMA journal_mode = DELETE",
    ],
)
def test_a_writing_statement_is_refused_before_it_runs(tmp_path, query):
    db = make_sqlite(tmp_path / "notes.db")
    before = _state(db)
    outcome = read_outcome(SqlSource(), f"sql+sqlite:///{db}?query={quote(query)}")
    assert outcome.reason == "query_not_read_only", outcome
    assert _state(db) == before  # same rows, same bytes, same modification time


def test_a_select_still_reads_and_leaves_the_file_alone(tmp_path):
    db = make_sqlite(tmp_path / "notes.db")
    before = _state(db)
    query = (
        "WITH t AS (SELECT title FROM notes) -- titles only\nSELECT title FROM t ORDER BY title;"
    )
    outcome = read_outcome(SqlSource(), f"sql+sqlite:///{db}?query={quote(query)}")
    assert [r["text"] for r in outcome.records] == [
        "title: Appeals",
        "title: Empty",
        "title: Notice period",
    ]
    assert _state(db) == before


def test_the_connection_itself_is_read_only(tmp_path):
    """A write that slipped past the query check would still fail: the file is opened read-only."""
    db = make_sqlite(tmp_path / "notes.db")
    source = SqlSource()
    url, _ = source._target(f"sql+sqlite:///{db}?table=notes")
    import sqlalchemy

    engine = source._engine(sqlalchemy, url, "shown")
    with engine.connect() as conn, pytest.raises(sqlalchemy.exc.OperationalError, match="readonly"):
        conn.exec_driver_sql("DELETE FROM notes")
    engine.dispose()
    assert len(_state(db)[2]) == 3


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("SELECT 1", ""),
        ("select 'a;b' as x -- DELETE", ""),
        ('SELECT "update" FROM t', ""),
        ("(SELECT 1) UNION (SELECT 2)", ""),
        ("SELECT * INTO copy FROM t", "INTO"),
        ("SELECT 1; SELECT 2", "one statement"),
        ("ATTACH DATABASE 'x.db' AS x", "ATTACH"),
        ("WITH x AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM x", "INSERT"),
        ("SELECT * FROM t FOR UPDATE", "UPDATE"),
        ("", "empty"),
        ("SELECT 'unterminated", "unterminated"),
    ],
)
def test_read_only_problem(query, problem):
    found = read_only_problem(query)
    assert (problem in found) if problem else found == "", found


class _RecordingConnection:
    """A DBAPI connection that records what is run on it and whether it was committed."""

    def __init__(self) -> None:
        self.executed: list[str] = []
        self.commits = 0

    def cursor(self) -> _RecordingConnection:
        return self

    def execute(self, statement: str) -> None:
        self.executed.append(statement)

    def close(self) -> None:
        pass

    def commit(self) -> None:
        self.commits += 1


@pytest.mark.parametrize(
    ("backend", "statement"),
    [
        ("postgresql", "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"),
        ("mysql", "SET SESSION TRANSACTION READ ONLY"),
        ("sqlite", "PRAGMA query_only = ON"),
        ("mssql", None),
    ],
)
def test_sessions_are_made_read_only_per_backend(backend, statement):
    connection = _RecordingConnection()
    read_only_session(backend)(connection, None)
    assert connection.executed == ([statement] if statement else [])
    assert connection.commits == (1 if statement else 0)  # a rolled-back SET would not last
