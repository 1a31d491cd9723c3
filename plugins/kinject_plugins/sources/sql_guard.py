"""What keeps the SQL source from writing: a query check before it runs, read-only sessions.

:func:`read_only_problem` accepts one ``SELECT`` or ``WITH ... SELECT`` statement and nothing
else. It reads the text the way the database would (comments, quoted strings and names, dollar
quotes), under every quoting convention at once (backslash escapes or not), so a string that ends
early in one dialect cannot hide a second statement from the check.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

#: words that make a SELECT write (``WITH x AS (DELETE ...)``, ``SELECT ... INTO``) or lock rows
_WRITES = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "UPSERT", "INTO"})
_QUERIES = ("SELECT", "WITH")
_WORD = re.compile(r"[A-Za-z_][\w$]*")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_]\w*)?\$")

#: statements that make a whole session read-only, per SQLAlchemy backend name
_READ_ONLY_SESSION = {
    "sqlite": "PRAGMA query_only = ON",
    "postgresql": "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
    "mysql": "SET SESSION TRANSACTION READ ONLY",
    "mariadb": "SET SESSION TRANSACTION READ ONLY",
}


def read_only_problem(query: str) -> str:
    """Why ``query`` is not a single read-only query; ``""`` when it is one."""
    for backslash_escapes, dollar_quotes in ((False, False), (False, True), (True, False)):
        problem = _problem(query, backslash_escapes, dollar_quotes)
        if problem:
            return problem
    return ""


def read_only_session(backend: str) -> Callable[[Any, Any], None]:
    """A SQLAlchemy ``connect`` listener that makes each new connection read-only, if it can."""
    statement = _READ_ONLY_SESSION.get(backend)

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        if statement is None:
            return
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(statement)
        finally:
            cursor.close()
        dbapi_connection.commit()  # PostgreSQL undoes a SET whose transaction is rolled back

    return on_connect


def _problem(query: str, backslash_escapes: bool, dollar_quotes: bool) -> str:
    try:
        words, statements = _scan(query, backslash_escapes, dollar_quotes)
    except ValueError as exc:
        return str(exc)
    if statements > 1:
        return "give one statement (no ';' between statements)"
    if not words:
        return "the query is empty"
    if words[0] not in _QUERIES:
        return f"a {words[0]} statement is not a SELECT query"
    writing = next((w for w in words if w in _WRITES), "")
    return f"{writing} is not allowed in a read-only query" if writing else ""


def _scan(query: str, backslash_escapes: bool, dollar_quotes: bool) -> tuple[list[str], int]:
    """The query's unquoted words (upper case) and how many statements it holds."""
    words: list[str] = []
    statements, content, i = 0, False, 0
    while i < len(query):
        char, pair = query[i], query[i : i + 2]
        if pair == "--":
            end = query.find("\n", i)
            i = len(query) if end < 0 else end
        elif pair == "/*":
            i = _skip_block_comment(query, i)
        elif char in "'\"`":
            i, content = _skip_quoted(query, i, backslash_escapes and char == "'"), True
        elif dollar_quotes and (tag := _DOLLAR_TAG.match(query, i)):
            end = query.find(tag.group(), tag.end())
            if end < 0:
                raise ValueError("an unterminated $-quoted string")
            i, content = end + len(tag.group()), True
        elif char == ";":
            statements, content, i = statements + content, False, i + 1
        elif word := _WORD.match(query, i):
            words.append(word.group().upper())
            i, content = word.end(), True
        else:
            content = content or not char.isspace()
            i += 1
    return words, statements + content


def _skip_block_comment(query: str, start: int) -> int:
    """The index after a ``/* */`` comment (PostgreSQL nests them)."""
    depth, i = 0, start
    while i < len(query):
        pair = query[i : i + 2]
        if pair == "/*":
            depth, i = depth + 1, i + 2
        elif pair == "*/":
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i
        else:
            i += 1
    raise ValueError("an unterminated /* comment")


def _skip_quoted(query: str, start: int, backslash_escapes: bool) -> int:
    """The index after a quoted string or name; a doubled quote stays inside it."""
    quote, i = query[start], start + 1
    while i < len(query):
        if backslash_escapes and query[i] == "\\":
            i += 2
        elif query[i] == quote:
            if query[i + 1 : i + 2] != quote:
                return i + 1
            i += 2
        else:
            i += 1
    raise ValueError(f"an unterminated {quote}-quoted string or name")
