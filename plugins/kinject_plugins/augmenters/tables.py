"""Facts in Markdown tables: one (row label, column heading, value) per numeric cell.

Sentence rules see no facts in a table, yet on a real report most numbers are in tables
(``| Total sales | $1,496.5 | $1,202.9 |`` under ``| | 2019 | 2018 |``). A table is read as heading
rows (before the first row that has a label and a number; their cells name the columns, several
heading rows joined: "Years Ended September 30, 2019") and data rows (first non-empty cell with
letters is the row label). Heading rows again below data rows start a second block with its own
headings; a one-cell row without a value is a section for the rows under it (a year dates them, a
name tells apart a row label that repeats), and a question left with two values in one table is
dropped. Every numeric cell of a data row is a :class:`Cell`; augmenters state it as a sentence or
ask it as a question, through the same filters as any other text.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from kinject_plugins.augmenters.facts import CURRENCY_CODES
from kinject_plugins.augmenters.lexicon import alternation, words

_ROW = re.compile(r"^\s*\|(.*)\|\s*$")
_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_NUMERIC = re.compile(
    rf"^\(?[-–—]?\s*(?:[$€£¥]|(?:{CURRENCY_CODES}) "
    rf")?\s*\(?\d[\d,]*(?:\.\d+)?\)?\s*(?:%|[a-zA-Z]{{0,3}})?\)?$"
)
_YEARISH = re.compile(r"^(?:FY ?)?(?:19|20)\d\d$|^(?:19|20)\d\d[/-]\d\d$")
_HAS_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
#: "(in millions)", "($ in thousands)": what the numbers are counted in, not what they are
_UNIT_NOTE = re.compile(r"^\(.*\)$")
#: a heading part that only leads to the date under it: "Fiscal Years", "Years Ended
#: September 30,", "Outstanding as of December 31,"
_PERIOD_LEAD = re.compile(
    rf"^(?:(?:{alternation(words('tables', 'period_words'))})\b\s*)+$|[,:]$", re.IGNORECASE
)


@dataclass(frozen=True)
class Cell:
    """One value of a table: ``label`` (its row), ``column`` (its heading), ``value`` (as
    written).
    """

    label: str
    column: str
    value: str
    #: what the value is, when the column also names a period: "Net Sales" under "Fiscal Year
    #: 2017" (``column``)
    measure: str = ""


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


def _nearest(filled: list[tuple[int, str]], column: int) -> str:
    """The heading cell of a row nearest to ``column`` (the left one on a tie)."""
    return min(filled, key=lambda item: (abs(item[0] - column), item[0]))[1]


def column_headings(rows: list[list[str]], width: int) -> list[tuple[str, str]]:
    """(period, measure) of each column from the heading rows, top to bottom."""
    parts: list[list[str]] = [[] for _ in range(width)]
    for row in rows:
        filled = [(i, c) for i, c in enumerate(row) if i > 0 and c]
        for column in range(1, width):
            cell = row[column] or (_nearest(filled, column) if filled else "")
            if cell and not _UNIT_NOTE.match(cell) and cell not in parts[column][-1:]:
                parts[column].append(cell)
    out = []
    for found in parts:
        periods = [p for p in found if _HAS_YEAR.search(p)]
        measure = [p for p in found if not _HAS_YEAR.search(p) and not _PERIOD_LEAD.search(p)]
        out.append((periods[-1] if periods else "", " ".join(measure)))
    return out


def table_cells(text: str, max_label_words: int = 12) -> list[Cell]:
    """Every numeric cell of every table in ``text`` with its row label and column heading."""
    out: list[Cell] = []
    for rows in tables(text):
        width = max(len(r) for r in rows)
        heading_rows: list[list[str]] = []
        headings: list[tuple[str, str]] = []
        found: list[tuple[Cell, str]] = []
        section, after_section = "", False
        for n, row in enumerate(rows):
            row = row + [""] * (width - len(row))
            at, label = _label(row)
            numbers = [
                i
                for i, cell in enumerate(row)
                if i > at and is_number(cell) and not _YEARISH.match(cell)
            ]
            others = [c for c in row[1:] if c]
            if (
                headings
                and not numbers
                and (not row[0] or _UNIT_NOTE.match(row[0]))
                and (len(others) > 1 or any(_HAS_YEAR.search(c) for c in others))
            ):
                # the heading rows again, for a second block of the same rows ("| | Fiscal
                # 2018 | |", "| (In Millions) | Dec 30, 2017 | Acquisitions |")
                heading_rows, headings, section, after_section = [row], [], "", False
                continue
            # heading rows: the table's first row, and the rows under it without a value whose
            # first cell is empty, a unit note or a lead ("| At December 31: | 2019 | 2018 |"),
            # or whose other cells name a year ("| Issuance Date | 2019 | price |")
            if not headings and (
                n == 0
                or not numbers
                and (
                    not row[0]
                    or _UNIT_NOTE.match(row[0])
                    or row[0].endswith((":", ","))
                    or any(_HAS_YEAR.search(c) for c in others)
                )
            ):
                heading_rows.append(row)
                continue
            headings = headings or column_headings(heading_rows, width)
            one_cell = len(others) + bool(row[0]) == 1
            if not numbers and one_cell and (label or _YEARISH.match(row[0])):
                # a section row, one cell: the rows under it belong to it ("| RSUs | | |",
                # "| 2019 | | |", "| | Liabilities | |");
                # two in a row name one section ("| % Revenues by |", "| Geography: |")
                part = (label or row[0]).rstrip(":")
                section = f"{section} {part}" if after_section else part
                after_section = True
                continue
            after_section = False
            if not label or len(label.split()) > max_label_words:
                continue
            found.extend((c, section) for c in _row_cells(label, row, numbers, headings, width))
        out.extend(_in_sections(found))
    return out


def _key(cell: Cell) -> tuple[str, str, str]:
    return cell.label, cell.column, cell.measure


def _in_sections(found: list[tuple[Cell, str]]) -> list[Cell]:
    """The cells of one table, each told apart by its section where its row label repeats.

    A period section gives a column without a date its period ("Net sales" under "| 2019 | |"
    and column "First": the First of Net sales in 2019); another section, only for a row label
    that repeats under two sections, joins the label ("Granted (PSUs)"). A question that still
    has two values in the table is dropped: it has no one answer."""
    repeats = Counter(_key(cell) for cell, _ in found)
    cells = []
    for cell, section in found:
        if section and _HAS_YEAR.search(section) and not _HAS_YEAR.search(cell.column):
            measure = " ".join(p for p in (cell.measure, cell.column) if p)
            cell = Cell(cell.label, section, cell.value, measure)
        elif section and repeats[_key(cell)] > 1:
            cell = Cell(f"{cell.label} ({section})", cell.column, cell.value, cell.measure)
        cells.append(cell)
    values: dict[tuple[str, str, str], set[str]] = {}
    for cell in cells:
        values.setdefault(_key(cell), set()).add(cell.value)
    kept, seen = [], set()
    for cell in cells:
        if len(values[_key(cell)]) == 1 and _key(cell) not in seen:
            seen.add(_key(cell))
            kept.append(cell)
    return kept


def _row_cells(
    label: str, row: list[str], numbers: list[int], headings: list[tuple[str, str]], width: int
) -> list[Cell]:
    if width == 2:
        return [Cell(label, "", row[i]) for i in numbers]  # a two-column table: label and value
    shared = Counter(headings[i] for i in numbers)
    cells = []
    for i in numbers:
        period, measure = headings[i]
        # an amount and its percentage under one heading ("Change": $958,115 and 191%)
        if shared[headings[i]] > 1 and row[i].rstrip(")").endswith("%"):
            measure = f"{measure} percentage".strip()
        if period:
            cells.append(Cell(label, period, row[i], measure))
        elif measure:
            cells.append(Cell(label, measure, row[i]))
    return cells


def cell_question(cell: Cell) -> str:
    """``What was Total sales in 2019?`` (a period column), ``What is Total sales for Fixed
    Price?``,
    or ``What is the maximum daily dose?`` (a two-column table)."""
    if not cell.column:
        return f"What is {cell.label}?"
    if cell.measure:
        return f"What was the {cell.measure} of {cell.label} in {cell.column}?"
    if re.search(r"(?:19|20)\d\d", cell.column):
        return f"What was {cell.label} in {cell.column}?"
    return f"What is {cell.label} for {cell.column}?"


def cell_sentence(cell: Cell) -> str:
    """``Total sales was $1,496.5 in 2019.`` (``maximum daily dose: 100 mg.`` for a two-column
    table)
    """
    if not cell.column:
        return f"{cell.label}: {cell.value}."
    if cell.measure:
        return f"The {cell.measure} of {cell.label} was {cell.value} in {cell.column}."
    if re.search(r"(?:19|20)\d\d", cell.column):
        return f"{cell.label} was {cell.value} in {cell.column}."
    return f"{cell.label} for {cell.column} is {cell.value}."
