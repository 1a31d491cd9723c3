"""Hostile inputs for every source's parser: hypothesis writes the bytes, ingest's rule is checked.

The rule (what :func:`kinject.ingest_worker.parse` turns a read into): an input gives Records,
or is quarantined with a reason code through :class:`kinject.errors.InputError`, and a bad part
of it is reported with a reason; any other exception (a ``parse_error``) is a parser bug. The fast
profile runs in the suite; the long one (``KINJECT_FUZZ_EXAMPLES`` examples per target, 300 by
default) is in the slow tier, and ``bench/faults.py`` runs the same targets.
"""

from __future__ import annotations

import functools
import io
import json
import os
import sqlite3
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kinject.components import Source
from kinject.ingest_worker import parse
from kinject_plugins.sources.docx import DocxSource
from kinject_plugins.sources.html import HtmlSource
from kinject_plugins.sources.pdf import PdfSource
from kinject_plugins.sources.sql import SqlSource
from kinject_plugins.sources.structured import StructuredSource
from kinject_plugins.sources.text import TextSource

FAST_EXAMPLES = 12
LONG_EXAMPLES = int(os.environ.get("KINJECT_FUZZ_EXAMPLES", "300"))

#: what a made-up document is made of: markup, separators, odd characters and plain words
PIECES = [
    "<",
    ">",
    "</",
    "/>",
    "&",
    "&amp;",
    "&#0;",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    '"',
    "'",
    ",",
    ";",
    "\t",
    "\n",
    "\r\n",
    "#",
    "##",
    "|",
    "---",
    "{",
    "}",
    "[",
    "]",
    ":",
    "\\",
    "\x00",
    "\x1b",
    "\ufeff",
    "\u202e",
    "\ud7ff",
    "法",
    "é",
    "text",
    "body",
    "html",
    "p",
    "h1",
    "table",
    "tr",
    "td",
    "row",
    "script",
    "style",
    "The court hears appeals",
    " ",
    "0",
    "-1",
    "1e309",
    "null",
    "true",
]
markup = st.lists(st.sampled_from(PIECES) | st.text(max_size=8), max_size=60).map("".join)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["text", "kind", "question", "answer", "id", "meta", "x"])
            | st.text(max_size=5),
            inner,
            max_size=4,
        )
    ),
    max_leaves=20,
)


def tolerated(outcome: Any) -> str:
    """Check one read against the rule; return what happened (``records`` or the reason)."""
    assert not outcome.fatal, outcome.fatal
    assert outcome.reason != "parse_error", outcome.detail
    assert not outcome.reason or outcome.detail, f"{outcome.reason} without a detail"
    for issue in outcome.issues:
        assert issue.reason and issue.detail, issue
    for record in outcome.records:
        assert isinstance(record["text"], str) and record["source"]["uri"], record
    if not outcome.records and not outcome.reason:
        assert outcome.issues, (
            "no Records, no reason and no issue: the input vanished without a word"
        )
        return outcome.issues[0].reason
    return outcome.reason or "records"


def file_target(source: Callable[[], Source], suffix: str) -> Callable[[bytes], str]:
    """A target that writes its input to a file with ``suffix`` and reads it with ``source``."""
    folder = Path(tempfile.mkdtemp(prefix="kinject-fuzz-"))
    reader = source()

    def check(data: bytes) -> str:
        path = folder / f"input{suffix}"
        path.write_bytes(data)
        return tolerated(parse(0, reader, str(path)))

    return check


@st.composite
def mutated(draw: st.DrawFn, base: bytes) -> bytes:
    """``base`` with a few bytes changed, inserted, deleted or the tail cut."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(max_size=64))
        else:
            del data[at : at + draw(st.integers(1, 512))]
    return bytes(data)


def small_pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in ("Tenants give 45 days notice.", "The court hears appeals within 21 days."):
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def docx_with(body: str | bytes) -> bytes:
    """A real .docx package whose document part is ``body`` (any text, not only XML)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(small_docx())) as original,
        zipfile.ZipFile(out, "w") as package,
    ):
        for item in original.infolist():
            package.writestr(
                item, body if item.filename == "word/document.xml" else original.read(item)
            )
    return out.getvalue()


def docx_part() -> bytes:
    with zipfile.ZipFile(io.BytesIO(small_docx())) as package:
        return package.read("word/document.xml")


def sql_target() -> tuple[st.SearchStrategy[Any], Callable[[Any], str]]:
    """Rows of any SQLite values, read through a table and through a template of any text."""
    folder = Path(tempfile.mkdtemp(prefix="kinject-fuzz-sql-"))
    cell = (
        st.none()
        | st.text(max_size=30)
        | st.integers(-(2**63), 2**63 - 1)
        | st.floats()
        | st.binary(max_size=30)
    )
    rows = st.lists(st.tuples(cell, cell), max_size=8)
    template = st.none() | st.lists(
        st.sampled_from(
            [
                "{a}",
                "{b}",
                "{",
                "}",
                "{0}",
                "{a.x}",
                "{a[0]}",
                "{c}",
                "{a!r}",
                "{a:>4}",
                "{b:%}",
                " ",
                "x",
            ]
        ),
        max_size=5,
    ).map("".join)

    def check(example: tuple[list[tuple[Any, Any]], str | None]) -> str:
        values, text = example
        db = folder / "fuzz.db"
        db.unlink(missing_ok=True)
        with sqlite3.connect(db) as conn:
            conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a, b)")
            conn.executemany("INSERT INTO t (a, b) VALUES (?, ?)", values)
        conn.close()
        return tolerated(parse(0, SqlSource(template=text), f"sql+sqlite:///{db}?table=t"))

    return st.tuples(rows, template), check


@functools.cache
def small_docx() -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Notice", level=1)
    document.add_paragraph("Tenants give 45 days notice.")
    document.add_table(rows=1, cols=2).rows[0].cells[0].text = "Term"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@functools.cache
def targets() -> dict[str, tuple[st.SearchStrategy[Any], Callable[[Any], str]]]:
    """Every source's parser: the strategy of its inputs and the check of one input."""
    any_text = (markup | st.text()).map(lambda s: s.encode("utf-8", "surrogatepass"))
    encoded = st.one_of(any_text, st.binary(max_size=300))
    json_docs = json_values.map(lambda v: json.dumps(v, allow_nan=True).encode())
    jsonl_docs = st.lists(json_values.map(json.dumps) | markup, max_size=6).map(
        lambda ls: "\n".join(ls).encode()
    )
    values = st.one_of(markup, markup.map(escape))  # raw markup breaks the XML; escaped, it is text
    xml_rows = st.lists(
        st.tuples(st.sampled_from(["text", "body", "title", "x"]), values), max_size=5
    )
    xml_docs = xml_rows.map(
        lambda rows: (
            "<rows>" + "".join(f"<row><{t}>{v}</{t}></row>" for t, v in rows) + "</rows>"
        ).encode("utf-8", "surrogatepass")
    )
    return {
        "text (.md, .txt)": (encoded, file_target(TextSource, ".md")),
        "structured JSON": (st.one_of(json_docs, encoded), file_target(StructuredSource, ".json")),
        "structured JSONL": (
            st.one_of(jsonl_docs, encoded),
            file_target(StructuredSource, ".jsonl"),
        ),
        "structured CSV": (encoded, file_target(StructuredSource, ".csv")),
        "structured XML": (st.one_of(xml_docs, encoded), file_target(StructuredSource, ".xml")),
        "HTML": (encoded, file_target(HtmlSource, ".html")),
        "DOCX": (
            st.one_of(
                mutated(small_docx()),
                markup.map(docx_with),
                mutated(docx_part()).map(docx_with),
                st.binary(max_size=200),
            ),
            file_target(DocxSource, ".docx"),
        ),
        "PDF bytes": (
            st.one_of(mutated(small_pdf()), st.binary(max_size=200)),
            file_target(lambda: PdfSource(ocr=False), ".pdf"),
        ),
        "SQL rows": sql_target(),
    }


def fuzz(name: str, examples: int, seen: dict[str, int] | None = None) -> dict[str, int]:
    """Run one target for ``examples`` inputs; returns how often each outcome happened."""
    strategy, check = targets()[name] if name in targets() else recipe_targets()[name]
    counts: dict[str, int] = seen if seen is not None else {}

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(example: Any) -> None:
        outcome = check(example)
        counts[outcome] = counts.get(outcome, 0) + 1

    run()
    return counts


def recipe_targets() -> dict[str, tuple[st.SearchStrategy[Any], Callable[[Any], str]]]:
    from test_fuzz_recipe import recipe_target

    return {"recipe loader": recipe_target()}


SOURCE_TARGETS = list(targets())


@pytest.mark.parametrize("name", SOURCE_TARGETS)
def test_hostile_inputs_are_records_or_quarantined(name: str) -> None:
    assert sum(fuzz(name, FAST_EXAMPLES).values()) >= 1


@pytest.mark.long
@pytest.mark.parametrize("name", SOURCE_TARGETS)
def test_hostile_inputs_long(name: str) -> None:
    assert sum(fuzz(name, LONG_EXAMPLES).values()) >= 1
