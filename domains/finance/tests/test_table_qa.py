"""table-qa: hand-written statement tables."""

from __future__ import annotations

import pytest

from kinject.records import Record
from kinject_finance.table_qa import (
    TableQAGenerator,
    find_tables,
    parse_cell_number,
    period_order,
    table_questions,
)

STATEMENT = """# Acme Corp — Annual Report 2029

Some prose.

## Income statement (USD million)

| line item | FY2029 | FY2028 |
|---|---|---|
| Revenue | 1,100.0 | 1,000.0 |
| Net loss | (20.5) | 10.0 |
| Gross margin | 40.0% | 38.0% |
| Note | n/a | — |

## Capital

| measure | 2029 | 2028 | minimum |
|:--|--:|--:|--:|
| CET1 ratio | 13.4% | 12.9% | 7.5% |
"""


def test_find_tables_with_title_and_heading() -> None:
    tables = find_tables(STATEMENT)
    assert len(tables) == 2
    first = tables[0]
    assert first.header == ["line item", "FY2029", "FY2028"]
    assert first.rows[0] == ["Revenue", "1,100.0", "1,000.0"]
    assert first.subject == "Acme Corp — Annual Report 2029, Income statement (USD million)"
    assert tables[1].heading == "Capital" and len(tables[1].rows) == 1


@pytest.mark.parametrize(
    ("cell", "value"),
    [("1,170.3", 1170.3), ("(20.5)", -20.5), ("$ 44.1", 44.1), ("13.4%", 13.4), ("-3", -3.0),
     ("n/a", None), ("—", None), ("FY2029", None)],
)  # fmt: skip
def test_parse_cell_number(cell: str, value: float | None) -> None:
    assert parse_cell_number(cell) == value


def test_period_order() -> None:
    assert period_order(["FY2029", "FY2028"]) == [1, 0]
    assert period_order(["31 Dec 2028", "31 Dec 2029"]) == [0, 1]
    assert period_order(["2029", "minimum"]) is None
    assert period_order(["2029", "2029"]) is None


def test_lookups_and_growth() -> None:
    qas = {(q.kind, q.row, q.columns): q for q in table_questions(find_tables(STATEMENT)[0])}
    revenue = qas[("lookup", "Revenue", ("FY2029",))]
    assert revenue.answer == "1,100.0" and revenue.value == 1100.0
    assert revenue.question.startswith("What was Revenue in FY2029 in Acme Corp")
    assert qas[("growth", "Revenue", ("FY2028", "FY2029"))].answer == "10.0%"
    # from a profit of 10.0 to a loss of 20.5 is a change of -305%
    assert qas[("growth", "Net loss", ("FY2028", "FY2029"))].answer == "-305.0%"
    # a change in a percentage is in points, so no growth question for margins
    assert ("growth", "Gross margin", ("FY2028", "FY2029")) not in qas
    assert not any(q.row == "Note" for q in qas.values())


def test_non_period_columns_are_looked_up_but_not_compared() -> None:
    qas = table_questions(find_tables(STATEMENT)[1])
    assert {q.columns for q in qas if q.kind == "lookup"} == {("2029",), ("2028",), ("minimum",)}
    assert [q.answer for q in qas if q.kind == "growth"] == []


def test_augment_yields_qa_records_with_lineage() -> None:
    source = Record(text=STATEMENT, source={"uri": "acme.md"})
    out = list(TableQAGenerator(growth=False).augment([source, Record(text="x", kind="qa")]))
    assert len(out) == 9
    first = out[0]
    assert first.kind == "qa" and first.lineage == ["table-qa"]
    assert first.meta["answer"] == "1,100.0" and first.meta["question"] in first.text
    assert first.source == {"uri": "acme.md", "table_line": 7}
    assert first.meta["table_qa"]["kind"] == "lookup"


def test_max_per_table_and_decimals() -> None:
    out = list(TableQAGenerator(max_per_table=2, decimals=2).augment([Record(text=STATEMENT)]))
    assert len(out) == 4  # at most two from each table
    growth = table_questions(find_tables(STATEMENT)[0], decimals=2)
    assert any(q.answer == "10.00%" for q in growth)


def test_text_without_tables_gives_nothing() -> None:
    assert list(TableQAGenerator().augment([Record(text="| not | a table")])) == []
