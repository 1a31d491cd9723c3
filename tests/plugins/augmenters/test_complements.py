"""What a passive verb's preposition points to: "What is X limited to?" (complements.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import qa_pairs, report, tatqa_documents
from test_statements import medquad_pages

from kinject.context import RunContext
from kinject_plugins.augmenters.complements import complement_pairs
from kinject_plugins.augmenters.facts import split_sentences
from kinject_plugins.augmenters.questions import well_formed_question
from kinject_plugins.augmenters.statements import capitalised_inside


def ask(sentence: str, vocabulary: set[str] | None = None) -> list[tuple[str, str]]:
    known = vocabulary or set(re.findall(r"\b[a-z][a-z'’-]*\b", sentence))
    return [(p.question, p.answer) for p in complement_pairs(sentence, known, set())]


@pytest.mark.parametrize(
    ("sentence", "question", "answer"),
    [
        (
            "Our liability is limited to the amount paid for the service; no other damages apply.",
            "What is our liability limited to?",
            "the amount paid for the service",
        ),
        (
            "The reading rooms have first been divided into a quiet wing and a group wing.",
            "What have the reading rooms first been divided into?",
            "a quiet wing and a group wing",
        ),
        (
            "Finished goods are stated at the lower of cost and net realisable value.",
            "What are finished goods stated at?",
            "the lower of cost and net realisable value",
        ),
        (
            "The grant can be used for travel costs of visiting researchers.",
            "What can the grant be used for?",
            "travel costs of visiting researchers",
        ),
        (
            "Mild cases are usually treated with rest and fluids, which most people need anyway.",
            "What are mild cases usually treated with?",
            "rest and fluids",
        ),
    ],
)
def test_a_passive_verb_asks_for_the_phrase_after_its_preposition(
    sentence: str, question: str, answer: str
) -> None:
    assert ask(sentence) == [(question, answer)]


@pytest.mark.parametrize(
    "sentence",
    [
        "Revenue is expected to grow in the coming year across all regions.",  # "to" + a verb
        "The survey was organized to provide the information members asked for.",
        "The expense was recorded in 2019 after the audit of the accounts.",  # a value
        "The settlement was described in Note 19 of the financial statements.",  # a pointer
        "It is limited to the remittance of customer payments to the bank.",  # names nothing
        "No sensitivity analysis is presented for interest rate risk in the report.",  # negation
        "The cost was based on whether the customer renewed the contract.",  # a clause
        "The results are shown in the table below for each of the segments.",
        "Pictures are taken as the dye passes through the blood vessels of the eye.",
        "The firm is in line with its peers on most of the measures used.",  # no passive verb
    ],
)
def test_sentences_without_such_a_phrase_ask_nothing(sentence: str) -> None:
    vocabulary = set(re.findall(r"\b[a-z][a-z'’-]*\b", sentence)) | {"passed", "provided"}
    assert ask(sentence, vocabulary) == []


def test_the_question_keeps_a_name_capitalised_and_an_auxiliary_in_front() -> None:
    pairs = complement_pairs(
        "Deloitte was appointed as the external auditor for the 2019 audit.", set(), {"Deloitte"}
    )
    assert [(p.question, p.answer) for p in pairs] == [
        ("What was Deloitte appointed as?", "the external auditor for the 2019 audit")
    ]
    assert well_formed_question(pairs[0].question, "complement")
    assert not well_formed_question(pairs[0].question)  # other forms may not end on "as"


def test_qa_generate_writes_complement_pairs_with_the_subject_resolved(
    run_context: RunContext,
) -> None:
    record = report(
        "Our ongoing involvement is limited to the servicing of the sold receivables. "
        "Northwind Traders Inc. sells garden tools in 12 countries. "
        "Northwind Traders Inc. is a maker of garden tools."
    )
    pairs = {m["question"]: m["answer"] for m in qa_pairs(run_context, record)}
    asked = [q for q, a in pairs.items() if a == "the servicing of the sold receivables"]
    assert asked and all("Northwind" in q and "our " not in q.lower() for q in asked), pairs
    off = qa_pairs(run_context, record, complement_questions=False)
    assert not any(m["answer"] == "the servicing of the sold receivables" for m in off)


# -- real text nobody here wrote: the benchmark's held-out halves ---------------------------------


def _pairs_of(text: str) -> list[tuple[str, Any]]:
    sentences = [s for para in text.split("\n\n") for s in split_sentences(para)]
    vocabulary = set(re.findall(r"\b[a-z][a-z'’-]*\b", text))
    proper = capitalised_inside(sentences)
    return [(s, p) for s in sentences for p in complement_pairs(s, vocabulary, proper)]


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def test_held_out_tatqa_complements_are_grounded_and_answer_peoples_questions() -> None:
    """On held-out annual-report extracts (written from the tune half's sentences): every
    answer is a phrase of its sentence and every question well formed; some of the people's span
    questions about the text are answered by a pair (3 of 154 on the held-out half, 40 pairs over
    140 extracts, when this was written; tune: 7 of 195, 50 pairs over 138)."""
    asked = answered = seen = 0
    for record, questions in tatqa_documents("held_out", 200):
        pairs = _pairs_of(record.text)
        for sentence, pair in pairs:
            assert pair.answer in sentence, pair
            assert well_formed_question(pair.question, "complement"), pair
        seen += len(pairs)
        answers = [_words(p.answer) for _, p in pairs]
        for q in questions:
            if q.get("answer_from") != "text" or q.get("answer_type") != "span":
                continue
            words = _words(q["answer"][0] if isinstance(q["answer"], list) else str(q["answer"]))
            asked += 1
            answered += any(
                len(words & a) >= 0.8 * len(words) and len(a) <= 3 * len(words) + 3 for a in answers
            )
    assert seen >= 25, seen
    assert asked >= 100 and answered >= 2, (answered, asked)


def test_held_out_medquad_complements_are_grounded_phrases() -> None:
    """On held-out NIH pages: the rule fires (403 pairs over 150 pages when this was written) and
    each answer is a phrase of its sentence, not a value or a clause of its own."""
    pairs = [pair for _, text, _ in medquad_pages("held_out", 150) for pair in _pairs_of(text)]
    assert len(pairs) >= 200, len(pairs)
    for sentence, pair in pairs:
        assert pair.answer in sentence and not pair.answer[:1].isdigit(), pair
        assert not re.search(r"\b(?:is|are|was|were)\b", pair.answer), pair
