"""An amount asked by its measure and period: "What was X in 2019?" (measures.py)."""

from __future__ import annotations

import re

import pytest
from conftest import qa_pairs, report, tatqa_documents

from kinject.context import RunContext
from kinject_plugins.augmenters.facts import split_sentences
from kinject_plugins.augmenters.measures import measure_pairs
from kinject_plugins.augmenters.questions import well_formed_question
from kinject_plugins.augmenters.statements import capitalised_inside


def ask(sentence: str) -> list[tuple[str, str]]:
    return [(p.question, p.answer) for p in measure_pairs(sentence, set())]


@pytest.mark.parametrize(
    ("sentence", "question", "answer"),
    [
        (
            "We recorded a warranty provision of $2.4 million in the third quarter of 2020, "
            "after a product recall.",
            "What was the warranty provision in the third quarter of 2020?",
            "$2.4 million",
        ),
        (
            "Net cash used in investing activities was €12.6 million for the year ended "
            "June 30, 2021 and consisted of capital expenditure.",
            "What was net cash used in investing activities for the year ended June 30, 2021?",
            "€12.6 million",
        ),
        (
            "As of March 31, 2022, the Group held a provision of £4.1 million against doubtful "
            "trade receivables.",
            "What was the provision against doubtful trade receivables as of March 31, 2022?",
            "£4.1 million",
        ),
        (
            "The balance of restricted cash held in escrow at 31 December 2020 is $0.9 million.",
            "What is the balance of restricted cash held in escrow at 31 December 2020?",
            "$0.9 million",
        ),
        (
            "Licence revenue increased to $48.2 million in fiscal 2021.",
            "What was licence revenue in fiscal 2021?",
            "$48.2 million",
        ),
        (
            "The effective tax rate was 21.4% for 2020.",
            "What was the effective tax rate for 2020?",
            "21.4%",
        ),
    ],
)
def test_an_amount_is_asked_by_its_measure_and_period(
    sentence: str, question: str, answer: str
) -> None:
    assert (question, answer) in ask(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        # several amounts, one per year: which is which is in "respectively"
        "Grants were $4 million, $3 million and $2 million in 2020, 2019 and 2018, respectively.",
        # the amount belongs to the change, not to the channel it is the object of
        "Sales rose because of an increase in sales to the retail channel of $8.1 million.",
        # a change names no measure
        "There was an increase of $5 million in 2020.",
        # a year the amount may belong to, and no period phrase saying so
        "Revenue was $9.3 million, and 2020 saw new products.",
        # a range of years is no period of the amount
        "We hold a tax credit carryforward of $7.5 million in amounts between 2021 and 2039.",
        # a pronoun names nothing
        "It was $3.2 million in 2020.",
        # a clause inside the measure
        "The Company expects to reclassify gains of $1 million into earnings in 2021.",
        # a number without a currency, percent or scale word is a count, not an amount
        "The total headcount was 1,620 in 2020.",
    ],
)
def test_sentences_without_a_measured_amount_ask_nothing(sentence: str) -> None:
    assert ask(sentence) == []


def test_qa_generate_frames_measure_questions_with_the_document(run_context: RunContext) -> None:
    record = report(
        "We recorded a warranty provision of $2.4 million in the third quarter of 2020. "
        "Northwind Traders Inc. sells garden tools in 12 countries."
    )
    asked = [m["question"] for m in qa_pairs(run_context, record) if m["value_kind"] == "measure"]
    assert asked and all(
        "Northwind Traders Inc. annual report" in q
        and q.endswith("What was the warranty provision in the third quarter of 2020?")
        for q in asked
    ), asked
    off = qa_pairs(run_context, record, measure_questions=False)
    assert not [m for m in off if m["value_kind"] == "measure"]


def test_held_out_tatqa_measures_are_grounded_and_well_formed() -> None:
    """On the held-out half of the TAT-QA dev file (written from the tune half's sentences): the
    rule fires (38 pairs over 17 of 140 extracts when this was written, tune 46 over 30), every
    answer is an amount of its sentence and every question well formed, with a period when its
    sentence names a year."""
    pairs = []
    for record, _ in tatqa_documents("held_out", 200):
        sentences = [s for para in record.text.split("\n\n") for s in split_sentences(para)]
        proper = capitalised_inside(sentences)
        pairs += [(s, p) for s in sentences for p in measure_pairs(s, proper)]
    assert len(pairs) >= 20, len(pairs)
    for sentence, pair in pairs:
        assert pair.answer in sentence and well_formed_question(pair.question), pair
        if re.search(r"(?<!\d)(?:19|20)\d\d(?!\d)", sentence) and "respectively" not in sentence:
            assert re.search(r"(?:19|20)\d\d|FY\s?\d\d", pair.question), pair
