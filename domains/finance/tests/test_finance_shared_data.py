"""table-qa on real financial-report tables (TAT-QA dev set), checked against TAT-QA's answers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from kinject_finance.table_qa import Table, TableQA, parse_cell_number, table_questions

TATQA = (
    Path(__file__).resolve().parents[3]
    / ".."
    / "shared"
    / "data"
    / "finance"
    / "tatqa_dataset_dev.json"
)

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(not TATQA.exists(), reason=f"shared data not found: {TATQA}"),
]


def to_table(rows: list[list[str]]) -> Table:
    """A TAT-QA table as a :class:`Table`: leading rows without figures become the header."""
    header_rows = 0
    for row in rows:
        if any(
            parse_cell_number(c) is not None and not re.fullmatch(r"\s*(19|20)\d{2}\s*", c)
            for c in row[1:]
        ):
            break
        header_rows += 1
    width = max(len(r) for r in rows)
    header = [
        " ".join(r[k].strip() for r in rows[:header_rows] if k < len(r) and r[k].strip())
        for k in range(width)
    ]
    return Table(header=header, rows=[r for r in rows[header_rows:] if r and r[0].strip()])


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+|\d{4}", text.lower()))


def best_match(question: str, qas: list[TableQA]) -> TableQA | None:
    """The lookup whose row label and column best cover the question's words."""
    words = _words(question)
    scored = []
    for qa in qas:
        if qa.kind != "lookup":
            continue
        column_hit = _words(qa.columns[0]) & words
        row_words = _words(qa.row)
        if not column_hit or not row_words:
            continue
        scored.append((len(row_words & words) / len(row_words), len(column_hit), qa))
    scored.sort(key=lambda s: (s[0], s[1]), reverse=True)
    return scored[0][2] if scored and scored[0][0] >= 0.5 else None


def _simple_lookups(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        q
        for q in doc["questions"]
        if q["answer_type"] == "span"
        and q["answer_from"] == "table"
        and not q["req_comparison"]
        and len(q["answer"]) == 1
        and parse_cell_number(str(q["answer"][0])) is not None
        # "In which year was X larger?" answers with a column label, not a cell
        and not re.fullmatch(r"(19|20)\d{2}", str(q["answer"][0]).strip())
    ]


def test_table_qa_answers_tatqa_lookups() -> None:
    docs = json.loads(TATQA.read_text(encoding="utf-8"))
    asked = matched = 0
    for doc in docs:
        qas = table_questions(to_table(doc["table"]["table"]))
        for question in _simple_lookups(doc):
            asked += 1
            qa = best_match(question["question"], qas)
            if qa is not None and qa.value == pytest.approx(
                parse_cell_number(str(question["answer"][0]))
            ):
                matched += 1
    rate = matched / asked
    print(f"table-qa vs TAT-QA simple table lookups: {matched}/{asked} = {rate:.1%}")
    assert asked >= 100
    assert rate >= 0.6


def test_table_qa_growth_matches_tatqa_change_ratios() -> None:
    """TAT-QA's 'percentage change' arithmetic questions, where both values sit in one row."""
    docs = json.loads(TATQA.read_text(encoding="utf-8"))
    checked = agreed = 0
    for doc in docs:
        growth = [
            q
            for q in table_questions(to_table(doc["table"]["table"]), decimals=2)
            if q.kind == "growth"
        ]
        for question in doc["questions"]:
            if (
                question["answer_type"] != "arithmetic"
                or "percentage change" not in question["question"]
            ):
                continue
            try:
                expected = float(question["answer"])
            except (TypeError, ValueError):
                continue
            candidates = [
                g for g in growth if _words(g.row) and _words(g.row) <= _words(question["question"])
            ]
            if len(candidates) != 1:
                continue
            checked += 1
            agreed += abs(candidates[0].value - expected) < 0.05
    print(f"table-qa growth vs TAT-QA percentage change: {agreed}/{checked}")
    assert checked >= 20
    assert agreed / checked >= 0.6
