"""Databases through SQLAlchemy: a table or a query, one Record per row via a text template.

Corpus URIs:

- ``sql+<SQLAlchemy URL>``: ``sql+sqlite:///shop.db?table=products``,
  ``sql+postgresql://user@host/db?query=SELECT%20title,body%20FROM%20notes``;
- ``sql://<table>``: a table of the database in ``sources.sql.url``; ``sql://`` alone reads
  ``sources.sql.table`` or ``sources.sql.query``.

``table``, ``query`` and ``template`` given in the URI win over the source options; the other
query parameters go to the database driver. Passwords never reach Records or the quarantine.

Nothing is ever written to a source database: a query must be one ``SELECT`` (or ``WITH ...
SELECT``) statement, checked before it runs (reason ``query_not_read_only``), and connections are
opened read-only where the backend allows it (a ``mode=ro`` SQLite file, a read-only session on
PostgreSQL and MySQL) and never committed.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, urlencode

from pydantic import BaseModel, ConfigDict, Field

from kinject.components import Source
from kinject.errors import InputError, MissingDependencyError
from kinject.records import Record
from kinject_plugins.sources.dependencies import require_module
from kinject_plugins.sources.sql_guard import read_only_problem, read_only_session

__all__ = ["SqlOptions", "SqlSource", "read_only_problem"]

_OWN_PARAMS = ("table", "query", "template")
_SCALARS = (str, int, float, bool)


class SqlOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: the database of ``sql://`` URIs (any SQLAlchemy URL)
    url: str | None = None
    table: str | None = None
    #: a SELECT statement (instead of a table)
    query: str | None = None
    #: Python format string over the row's columns, e.g. ``"{title}\n\n{body}"``;
    #: default: one ``column: value`` line per non-empty column
    template: str | None = None
    #: columns kept in meta; None keeps every column the template does not use
    meta_columns: list[str] | None = None
    #: a column identifying the row; kept as ``source['key']``
    key_column: str | None = None
    #: rows fetched per round trip
    batch_size: int = Field(default=1000, gt=0)


class SqlSource(Source):
    """Rows of a database table or query."""

    name = "sql"
    description = "rows of a table or query in any SQLAlchemy database, through a text template"
    schemes: ClassVar[tuple[str, ...]] = ("sql",)
    Options = SqlOptions
    opts: SqlOptions

    @classmethod
    def matches(cls, uri: str) -> bool:
        scheme = uri.split("://", 1)[0].lower() if "://" in uri else ""
        return scheme == "sql" or scheme.startswith("sql+")

    def read(self, uri: str) -> Iterator[Record]:
        sqlalchemy = require_module("sqlalchemy", "SQLAlchemy", "sql", "databases")
        url, params = self._target(uri)
        shown = _hide_password(sqlalchemy, url, params)
        table, query = (
            params.get("table") or self.opts.table,
            params.get("query") or self.opts.query,
        )
        if bool(table) == bool(query):
            raise InputError(
                "bad_url", "give exactly one of table= or query= (in the URI or sources.sql)", shown
            )
        problem = read_only_problem(query) if query else ""
        if problem:
            raise InputError(
                "query_not_read_only", f"only one SELECT query is run: {problem}", shown
            )
        engine = self._engine(sqlalchemy, url, shown)
        template = params.get("template") or self.opts.template
        try:
            with engine.connect() as conn:
                rows = self._rows(sqlalchemy, conn, table, query, shown)
                yield from self._records(rows, template, shown, table or "query")
        except sqlalchemy.exc.SQLAlchemyError as exc:
            reason = (
                "connection_failed"
                if isinstance(exc, sqlalchemy.exc.InterfaceError)
                else "query_failed"
            )
            raise InputError(reason, _first_line(exc), shown) from None
        finally:
            engine.dispose()

    def _target(self, uri: str) -> tuple[str, dict[str, str]]:
        """The SQLAlchemy URL (kinject's own parameters removed) and those parameters."""
        scheme, rest = uri.split("://", 1)
        if scheme.lower() == "sql":
            if not self.opts.url:
                raise InputError(
                    "bad_url", "sql:// URIs need sources.sql.url (the database URL)", uri
                )
            table, _, query_string = rest.partition("?")
            params = dict(parse_qsl(query_string))
            if table:
                params["table"] = table
            return self.opts.url, params
        location, _, query_string = rest.partition("?")
        pairs = parse_qsl(query_string, keep_blank_values=True)
        own = {k: v for k, v in pairs if k in _OWN_PARAMS}
        driver = urlencode([(k, v) for k, v in pairs if k not in _OWN_PARAMS])
        url = f"{scheme.split('+', 1)[1]}://{location}"
        return (f"{url}?{driver}" if driver else url), own

    def _engine(self, sqlalchemy: Any, url: str, shown: str) -> Any:
        try:
            parsed = sqlalchemy.engine.make_url(url)
        except sqlalchemy.exc.ArgumentError as exc:
            raise InputError("bad_url", f"not a database URL: {exc}", shown) from None
        # SQLite would silently create an empty database at a mistyped path
        on_disk = parsed.get_backend_name() == "sqlite" and parsed.database not in (
            None,
            "",
            ":memory:",
        )
        if on_disk and not Path(parsed.database).is_file():
            raise InputError("database_not_found", f"no SQLite file at {parsed.database}", shown)
        if on_disk:
            # SQLite's own read-only mode: the file is opened without write access
            location = "file:" + quote(str(Path(parsed.database).resolve()))
            parsed = parsed.set(database=location).update_query_dict({"mode": "ro", "uri": "true"})
        try:
            engine = sqlalchemy.create_engine(parsed)
            sqlalchemy.event.listen(engine, "connect", read_only_session(parsed.get_backend_name()))
            return engine
        except sqlalchemy.exc.NoSuchModuleError:
            raise InputError(
                "bad_url", f"unknown database kind '{parsed.drivername}'", shown
            ) from None
        except ImportError as exc:
            driver = exc.name or parsed.drivername
            raise MissingDependencyError(driver, what=f"{parsed.drivername} databases") from None

    def _rows(
        self, sqlalchemy: Any, conn: Any, table: str | None, query: str | None, shown: str
    ) -> Any:
        if query:
            statement = sqlalchemy.text(query)
        else:
            try:
                reflected = sqlalchemy.Table(table, sqlalchemy.MetaData(), autoload_with=conn)
            except sqlalchemy.exc.NoSuchTableError:
                names = ", ".join(sqlalchemy.inspect(conn).get_table_names()) or "none"
                raise InputError(
                    "no_such_table", f"no table '{table}' (tables: {names})", shown
                ) from None
            # a stable row order makes Record ids and row numbers stable across runs
            statement = sqlalchemy.select(reflected).order_by(*reflected.primary_key.columns)
        result = conn.execution_options(
            stream_results=True, yield_per=self.opts.batch_size
        ).execute(statement)
        return result.mappings()

    def _records(
        self, rows: Any, template: str | None, shown: str, origin: str
    ) -> Iterator[Record]:
        used = _template_fields(template, shown) if template else set()
        produced = 0
        for number, row in enumerate(rows, start=1):
            values = {k: ("" if v is None else v) for k, v in row.items()}
            text = self._render(template, values, shown).strip()
            if not text:
                where = f"{shown}#row={number}"
                self.report_issue("missing_text", "the row renders to empty text", where)
                continue
            source: dict[str, Any] = {"uri": shown, "table": origin, "row": number}
            if self.opts.key_column and self.opts.key_column in values:
                source["key"] = str(values[self.opts.key_column])
            produced += 1
            yield Record(
                text=text, source=source, meta=self._meta(values, used), lineage=[self.name]
            )
        if not produced:
            raise InputError(
                "empty_document", "the table or query returned no rows with text", shown
            )

    def _render(self, template: str | None, values: dict[str, Any], shown: str) -> str:
        if template is None:
            return "\n".join(f"{k}: {v}" for k, v in values.items() if str(v).strip())
        try:
            return template.format_map(values)
        except KeyError as exc:
            columns = ", ".join(values)
            raise InputError(
                "bad_template", f"the template uses {{{exc.args[0]}}}; columns: {columns}", shown
            ) from None
        # a format spec that does not fit the value: {price:%} on text
        except (ValueError, TypeError) as exc:
            raise InputError(
                "bad_template", f"the template cannot format this row: {exc}", shown
            ) from None

    def _meta(self, values: dict[str, Any], used: set[str]) -> dict[str, Any]:
        if self.opts.meta_columns is not None:
            return {c: _plain(values[c]) for c in self.opts.meta_columns if c in values}
        if not used:  # the default template already holds every column
            return {}
        return {k: _plain(v) for k, v in values.items() if k not in used and v != ""}


def _template_fields(template: str, shown: str) -> set[str]:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise InputError("bad_template", f"invalid template: {exc}", shown) from None
    # a field names a column, nothing else: no {0}, {}, {col.attr} or {col[key]}
    odd = sorted(n for n in names if not n or n.isdigit() or "." in n or "[" in n)
    if odd:
        raise InputError(
            "bad_template", f"template fields must be column names, not {{{odd[0]}}}", shown
        )
    return names


def _plain(value: Any) -> Any:
    return value if isinstance(value, _SCALARS) else str(value)


def _hide_password(sqlalchemy: Any, url: str, params: dict[str, str]) -> str:
    """The URI as Records and quarantine show it: scheme kept, password masked."""
    try:
        base = sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        base = url.split("@", 1)[-1] if "@" in url else url
    extra = urlencode({k: v for k, v in params.items() if k == "table"})
    return f"sql+{base}" + (("&" if "?" in base else "?") + extra if extra else "")


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
