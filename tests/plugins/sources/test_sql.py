"""The SQL source against a real SQLite file: templates, URIs, and wrong URLs quarantined."""

from __future__ import annotations

from source_files import make_sqlite, read_outcome

from kinject_plugins.sources.sql import SqlSource


def test_table_rows_through_a_template(tmp_path):
    db = make_sqlite(tmp_path / "notes.db")
    source = SqlSource(template="{title}: {body}", key_column="id")
    outcome = read_outcome(source, f"sql+sqlite:///{db}?table=notes")
    texts = [r["text"] for r in outcome.records]
    assert texts == [
        "Notice period: Tenants give 45 days notice.",
        "Appeals: Appeals are heard within 21 days.",
        "Empty:",
    ]
    first = outcome.records[0]
    assert first["source"] == {
        "uri": f"sql+sqlite:///{db}?table=notes",
        "table": "notes",
        "row": 1,
        "key": "1",
    }
    assert first["meta"] == {"id": 1, "author": "clerk"}


def test_default_template_and_query_uri(tmp_path):
    db = make_sqlite(tmp_path / "notes.db")
    query = "SELECT%20title,%20body%20FROM%20notes%20WHERE%20body%20!=%20''%20ORDER%20BY%20id"
    records = read_outcome(SqlSource(), f"sql+sqlite:///{db}?query={query}").records
    assert [r["text"] for r in records] == [
        "title: Notice period\nbody: Tenants give 45 days notice.",
        "title: Appeals\nbody: Appeals are heard within 21 days.",
    ]


def test_sql_scheme_uses_the_configured_url(tmp_path):
    db = make_sqlite(tmp_path / "notes.db")
    source = SqlSource(url=f"sqlite:///{db}", template="{body}", meta_columns=["author"])
    outcome = read_outcome(source, "sql://notes")
    assert len(outcome.records) == 2
    assert [i.reason for i in outcome.issues] == ["missing_text"]  # row 3 has an empty body
    assert outcome.records[0]["meta"] == {"author": "clerk"}


def test_wrong_urls_and_names_have_reasons(tmp_path):
    db = make_sqlite(tmp_path / "notes.db")
    cases = {
        f"sql+sqlite:///{tmp_path}/missing.db?table=notes": "database_not_found",
        f"sql+sqlite:///{db}?table=nope": "no_such_table",
        f"sql+sqlite:///{db}": "bad_url",
        "sql+nosuchdb://host/db?table=t": "bad_url",
        "sql+://?table=t": "bad_url",
        f"sql+sqlite:///{db}?query=SELECT%20*%20FROM%20nope": "query_failed",
        f"sql+sqlite:///{db}?table=notes&template={{missing}}": "bad_template",
        f"sql+sqlite:///{db}?query=SELECT%20*%20FROM%20notes%20WHERE%200": "empty_document",
        "sql://notes": "bad_url",  # no sources.sql.url
    }
    for uri, reason in cases.items():
        outcome = read_outcome(SqlSource(), uri)
        assert outcome.reason == reason, (uri, outcome)
        assert not outcome.fatal


def test_passwords_never_reach_records_or_messages(tmp_path):
    outcome = read_outcome(SqlSource(), "sql+postgresql://user:hunter2@127.0.0.1:1/db?table=t")
    assert outcome.reason or outcome.fatal
    assert "hunter2" not in repr(outcome)
    assert (
        SqlSource.matches("sql+sqlite:///x.db")
        and SqlSource.matches("sql://t")
        and not SqlSource.matches("x.sql")
    )
