"""The ``table-qa`` augmenter: question-answer pairs from the tables of financial statements.

A financial statement states most of its facts in tables, and a small model learns a table
poorly from the raw pipes and dashes. For every markdown table in a document this augmenter
writes one QA record per numeric cell (``What was Revenue in FY2029 in Velmont Robotics's
consolidated income statement (USD million)?`` -> ``2,840.6``) and, where the columns are
periods, the change between the two latest ones (``By what percentage did Revenue change from
FY2028 to FY2029?`` -> ``17.3%``). The question names the table by the document title and the
heading above it, so the same row label in two tables never gives the same question.

Each record has kind ``qa`` with ``meta["question"]``/``meta["answer"]`` and, for checking,
``meta["table_qa"]`` (the row, column(s), value and whether it is a lookup or a derived value).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from kinject.components import Augmenter
from kinject.records import Record

_ROW = re.compile(r"^\s*\|(.+)\|\s*$")
_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_HEADING = re.compile(r"^\s*(#{1,6})\s+(.+?)\s*#*\s*$")
_CELL_NUMBER = re.compile(
    r"^\s*(?P<neg>[(-]|−)?\s*(?:[$€£¥]|US\$|USD|EUR|GBP|CNY|RMB)?\s*"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s*(?P<pct>%)?\s*\)?\s*$"
)
_EXTRACT = re.compile(r"\s*\((?:extract|excerpt|摘要)\)", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(19|20)\d{2}(?!\d)")


@dataclass
class Table:
    """A markdown table: column labels, rows of cells, and what it is about."""

    header: list[str]
    rows: list[list[str]]
    title: str = ""
    heading: str = ""
    line: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        """How questions name the table: ``<document title>, <heading>``."""
        parts = [p for p in (self.title, self.heading) if p]
        return ", ".join(dict.fromkeys(parts))


def parse_cell_number(cell: str) -> float | None:
    """The numeric value of a table cell (``1,170.3``, ``(12.5)``, ``$ 44.1``, ``13.4%``)."""
    match = _CELL_NUMBER.match(cell.replace("\u2212", "-"))
    if not match:
        return None
    value = float(match.group("num").replace(",", ""))
    return -value if match.group("neg") else value


def _cells(line: str) -> list[str]:
    match = _ROW.match(line)
    return [c.strip() for c in match.group(1).split("|")] if match else []


def find_tables(text: str) -> list[Table]:
    """Every markdown table in ``text`` with the document title and nearest heading above it."""
    lines = text.splitlines()
    tables: list[Table] = []
    title = heading = ""
    i = 0
    while i < len(lines):
        head = _HEADING.match(lines[i])
        if head:
            level, words = len(head.group(1)), head.group(2)
            title = _EXTRACT.sub("", words).strip() if level == 1 and not title else title
            heading = words if level > 1 else heading
        elif _cells(lines[i]) and i + 1 < len(lines) and _SEPARATOR.match(lines[i + 1]):
            header = _cells(lines[i])
            j = i + 2
            rows: list[list[str]] = []
            while j < len(lines) and _cells(lines[j]):
                rows.append(_cells(lines[j]))
                j += 1
            tables.append(Table(header, rows, title=title, heading=heading, line=i + 1))
            i = j
            continue
        i += 1
    return tables


def period_order(labels: Sequence[str]) -> list[int] | None:
    """Column indexes sorted oldest to newest when every label names a distinct year."""
    years = []
    for label in labels:
        found = _YEAR.findall(label)
        match = _YEAR.search(label)
        if len(found) != 1 or match is None:
            return None
        years.append(int(match.group(0)))
    if len(set(years)) != len(years):
        return None
    return sorted(range(len(labels)), key=lambda k: years[k])


@dataclass(frozen=True)
class TableQA:
    """One generated question with its answer and how it was derived."""

    question: str
    answer: str
    kind: str
    row: str
    columns: tuple[str, ...]
    value: float


def table_questions(table: Table, growth: bool = True, decimals: int = 1) -> list[TableQA]:
    """Lookups for every numeric cell, plus growth between the two latest period columns."""
    qas: list[TableQA] = []
    subject = f" in {table.subject}" if table.subject else ""
    columns = table.header[1:]
    for row in table.rows:
        label = row[0] if row else ""
        if not label:
            continue
        for col, cell in zip(columns, row[1:], strict=False):
            value = parse_cell_number(cell)
            if value is None or not col:
                continue
            question = f"What was {label} in {col}{subject}?"
            qas.append(TableQA(question, cell, "lookup", label, (col,), value))
        if growth:
            qas += _growth(table, label, row, subject, decimals)
    return qas


def _growth(table: Table, label: str, row: list[str], subject: str, decimals: int) -> list[TableQA]:
    columns = table.header[1:]
    values = [parse_cell_number(c) for c in row[1 : len(columns) + 1]]
    # only period columns take part ("NFSC minimum" next to two years is not a period)
    usable = [
        k for k, v in enumerate(values) if v is not None and len(_YEAR.findall(columns[k])) == 1
    ]
    order = period_order([columns[k] for k in usable])
    if order is None or len(order) < 2:
        return []
    old_k, new_k = usable[order[-2]], usable[order[-1]]
    old, new = values[old_k], values[new_k]
    if old is None or new is None or old == 0 or "%" in row[new_k + 1]:
        return []  # a change in a percentage is in points, not per cent
    change = (new - old) / abs(old) * 100
    answer = f"{change:.{decimals}f}%"
    question = (
        f"By what percentage did {label} change from {columns[old_k]} to {columns[new_k]}{subject}?"
    )
    return [TableQA(question, answer, "growth", label, (columns[old_k], columns[new_k]), change)]


class TableQAGenerator(Augmenter):
    """Make ``qa`` records from the markdown tables of financial statements."""

    name: ClassVar[str] = "table-qa"
    description: ClassVar[str] = "QA pairs from statement tables: cell lookups and growth %"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        growth: bool = Field(True, description="also ask for the change between the latest periods")
        decimals: int = Field(1, ge=0, le=4, description="decimals of derived percentages")
        max_per_table: int = Field(60, ge=1, description="at most this many questions per table")

    opts: Options

    def augment(self, records: Sequence[Record]) -> Iterator[Record]:
        for record in records:
            if record.kind != "document":
                continue
            for table in find_tables(record.text):
                qas = table_questions(table, self.opts.growth, self.opts.decimals)
                for qa in qas[: self.opts.max_per_table]:
                    yield self._record(record, table, qa)

    def _record(self, record: Record, table: Table, qa: TableQA) -> Record:
        meta = {
            "question": qa.question,
            "answer": qa.answer,
            "table_qa": {
                "kind": qa.kind,
                "row": qa.row,
                "columns": list(qa.columns),
                "value": round(qa.value, 6),
                "table_line": table.line,
            },  # fmt: skip
        }
        source = {**record.source, "table_line": table.line}
        text = f"{qa.question}\n{qa.answer}"
        return record.derive(text, self.name, kind="qa", meta=meta, source=source)
