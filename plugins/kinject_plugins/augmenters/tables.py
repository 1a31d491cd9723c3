"""Facts in Markdown tables: one (row label, column heading, value) per numeric cell.

Sentence rules see no facts in a table, yet on a real report most numbers are in tables
(``| Total sales | $1,496.5 | $1,202.9 |`` under ``| | 2019 | 2018 |``). A table is read as heading
rows (before the first row that has a label and a number; their cells name the columns, several
heading rows joined: "Years Ended September 30, 2019") and data rows (first non-empty cell with
letters is the row label). Every numeric cell of a data row is a :class:`Cell`; augmenters state it
as a sentence or ask it as a question, through the same filters as any other text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kinject_plugins.augmenters.facts import CURRENCY_CODES

_ROW = re.compile(r"^\s*\|(.*)\|\s*$")
_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_NUMERIC = re.compile(
    rf"^\(?[-–—]?\s*(?:[$€£¥]|(?:{CURRENCY_CODES}) "
    rf")?\s*\(?\d[\d,]*(?:\.\d+)?\)?\s*(?:%|[a-zA-Z]{{0,3}})?\)?$"
)
_YEARISH = re.compile(r"^(?:FY ?)?(?:19|20)\d\d$|^(?:19|20)\d\d[/-]\d\d$")


@dataclass(frozen=True)
class Cell:
    """One value of a table: ``label`` (its row), ``column`` (its heading), ``value`` (as
    written).
    """

    label: str
    column: str
    value: str


def _cells(line: str) -> list[str]:
    match = _ROW.match(line)
    return [" ".join(c.split()) for c in match.group(1).split("|")] if match else []


def is_number(cell: str) -> bool:
    return bool(cell) and bool(_NUMERIC.match(cell))


def tables(text: str) -> list[list[list[str]]]:
    """The Markdown tables of ``text``: lists of rows of cells (separator lines dropped)."""
    out: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in text.splitlines():
        if _ROW.match(line):
            if not _RULE.match(line):
                current.append(_cells(line))
            continue
        if current:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


def _label(row: list[str]) -> tuple[int, str]:
    for i, cell in enumerate(row):
        if cell and re.search(r"[A-Za-z]{2}", cell) and not is_number(cell):
            return i, cell.rstrip(":")
    return -1, ""


def table_cells(text: str, max_label_words: int = 12) -> list[Cell]:
    """Every numeric cell of every table in ``text`` with its row label and column heading."""
    out: list[Cell] = []
    for rows in tables(text):
        width = max(len(r) for r in rows)
        headings = [""] * width
        in_body = False
        for n, row in enumerate(rows):
            row = row + [""] * (width - len(row))
            at, label = _label(row)
            numbers = [
                i
                for i, cell in enumerate(row)
                if i > at and is_number(cell) and not _YEARISH.match(cell)
            ]
            # heading rows: the table's first row, rows right under it with an empty first cell,
            # and a row of periods ("| At December 31: | 2019 | 2018 |")
            periods = [c for c in row[1:] if c]
            if not in_body and (
                n == 0
                or not row[0]
                and not numbers
                or periods
                and all(_YEARISH.match(c) for c in periods)
            ):
                # a heading row: its cells name the columns (a lower heading row wins:
                # "2019" under "Years Ended September 30,")
                for i, cell in enumerate(row):
                    if cell and i > 0:  # the first column holds row labels, not a heading
                        headings[i] = cell
                continue
            in_body = True
            if not label or len(label.split()) > max_label_words:
                continue
            for i in numbers:
                if width == 2:
                    out.append(Cell(label, "", row[i]))  # a two-column table: label and value
                elif headings[i]:
                    out.append(Cell(label, headings[i], row[i]))
    return out


def cell_question(cell: Cell) -> str:
    """``What was Total sales in 2019?`` (a period column), ``What is Total sales for Fixed
    Price?``,
    or ``What is the maximum daily dose?`` (a two-column table)."""
    if not cell.column:
        return f"What is {cell.label}?"
    if re.search(r"(?:19|20)\d\d", cell.column):
        return f"What was {cell.label} in {cell.column}?"
    return f"What is {cell.label} for {cell.column}?"


def cell_sentence(cell: Cell) -> str:
    """``Total sales was $1,496.5 in 2019.`` (``maximum daily dose: 100 mg.`` for a two-column
    table)
    """
    if not cell.column:
        return f"{cell.label}: {cell.value}."
    if re.search(r"(?:19|20)\d\d", cell.column):
        return f"{cell.label} was {cell.value} in {cell.column}."
    return f"{cell.label} for {cell.column} is {cell.value}."
