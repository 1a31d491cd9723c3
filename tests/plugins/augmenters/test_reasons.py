"""Why and under-what-condition questions, answered by the clause of the sentence that says so."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import qa_pairs, report, tatqa_documents

from kinject.context import RunContext
from kinject.records import Record
from kinject_plugins.augmenters.facts import split_sentences
from kinject_plugins.augmenters.questions import well_formed_question
from kinject_plugins.augmenters.reasons import invert, past_base, reason_pairs
from kinject_plugins.augmenters.statements import capitalised_inside

VOCABULARY = {"decrease", "increase", "rise", "drop", "reflect", "study"}


def ask(sentence: str, vocabulary: set[str] = VOCABULARY) -> list[tuple[str, str, str]]:
    return [(p.question, p.answer, p.form) for p in reason_pairs(sentence, vocabulary, set())]


def test_a_cause_after_a_past_tense_gives_an_inverted_and_an_embedded_question() -> None:
    sentence = (
        "Ticket sales decreased by 12% in 2021 primarily due to the closure of the east wing."
    )
    assert ask(sentence) == [
        ("Why did ticket sales decrease by 12% in 2021?", ANSWER_EAST, "reason"),
        ("What was the reason ticket sales decreased by 12% in 2021?", ANSWER_EAST, "reason"),
    ]
    # without the plain form in the document's words, only the embedded form is written
    assert [q for q, _, _ in ask(sentence, set())] == [
        "What was the reason ticket sales decreased by 12% in 2021?"
    ]


ANSWER_EAST = "primarily due to the closure of the east wing"


def test_an_auxiliary_is_inverted_and_a_lead_adverbial_stays_in_front() -> None:
    assert ask("In winter, the ferry can be delayed for hours because of fog on the estuary.")[
        0
    ] == (
        "In winter, why can the ferry be delayed for hours?",
        "because of fog on the estuary",
        "reason",
    )
    # a lead that only links to the sentence before is left out
    questions = [
        q
        for q, _, _ in ask(
            "In addition, membership has grown as a result of the new lending rules."
        )
    ]
    assert questions[0] == "Why has membership grown?"


def test_a_cause_after_a_copula_asks_for_the_reason_and_what_caused_it() -> None:
    sentence = "The rise in attendance was mainly due to the free Sunday concerts in the park."
    assert ask(sentence) == [
        (
            "What was the reason for the rise in attendance?",
            "mainly due to the free Sunday concerts in the park",
            "reason",
        ),
        (
            "What caused the rise in attendance?",
            "mainly due to the free Sunday concerts in the park",
            "reason",
        ),
    ]


def test_conditions_lead_or_trail_the_clause() -> None:
    assert ask("If the river rises above the marker, the lower road is closed to traffic.") == [
        (
            "Under what condition is the lower road closed to traffic?",
            "If the river rises above the marker",
            "condition",
        ),
        (
            "What is the condition under which the lower road is closed to traffic?",
            "If the river rises above the marker",
            "condition",
        ),
    ]
    trailing = ask("Members may borrow rare books only if they have held a card for two years.")
    assert trailing[0] == (
        "Under what condition may members borrow rare books?",
        "only if they have held a card for two years",
        "condition",
    )


@pytest.mark.parametrize(
    "sentence",
    [
        "It decreased by 12% in 2021 primarily due to the closure of the east wing.",  # pronoun
        "• an increase of $6.0 million due to lower legal fees incurred in 2019.",  # a fragment
        "Gout is a painful disorder caused by too much uric acid in the blood.",  # a modifier
        "The cost resulting from the change was $8.2 million and was recognised over three years.",
        "Celiac disease is a disorder in which people cannot eat gluten because it harms them.",
        "The amount, if recognized, would reduce the effective tax rate of the group.",  # aside
        "Damage part of your lung because of a lack of blood flow to it.",  # no subject
        "Prices rose due to demand.",  # too short to ask about
        "We determine if the asset is impaired at each reporting date.",  # "if" as "whether"
        "A deposit is refundable unless both parties agree otherwise in writing.",  # "unless"
        "A lease signed because of fraud, duress or a mistake is void at the tenant's request.",
        "Key figures: revenue and profit rose in 2021 because of the new east wing.",  # a colon
        "The fee is refunded only if the member asks for it.",  # the answer ends in a pronoun
    ],
)
def test_sentences_without_a_cause_or_condition_to_ask_about_ask_nothing(sentence: str) -> None:
    assert ask(sentence) == []


def test_an_inline_list_is_asked_item_by_item() -> None:
    sentence = (
        "Key changes were: • Ticket sales decreased by 12%, mainly due to the closure of the east "
        "wing. • Membership has grown by 8%, primarily due to the new lending rules."
    )
    asked = {(q, a) for q, a, _ in ask(sentence)}
    assert (
        "Why did ticket sales decrease by 12%?",
        "mainly due to the closure of the east wing",
    ) in asked
    assert ("Why has membership grown by 8%?", "primarily due to the new lending rules") in asked


def test_a_reason_clause_of_its_own_keeps_its_verb() -> None:
    """'because <a clause with its own verb>' after a clause with an auxiliary is a reason."""
    assert ask("Older adults are at risk because they have the highest rates of chronic disease.")
    assert ask("Costs were higher in 2021 because the budget was cut in May of that year.")[0] == (
        "Why were costs higher in 2021?",
        "because the budget was cut in May of that year",
        "reason",
    )


def test_past_base_uses_the_documents_own_plain_forms() -> None:
    assert past_base("decreased", VOCABULARY) == "decrease"
    assert past_base("dropped", VOCABULARY) == "drop"
    assert past_base("studied", VOCABULARY) == "study"
    assert past_base("rose", set()) == "rise"
    assert past_base("reflected", VOCABULARY) == "reflect"
    assert past_base("reflected", set()) is None
    assert invert("Revenue that was deferred rose by 5%", set(), set()) is None


def test_qa_generate_writes_reason_pairs_with_the_subject_resolved(run_context: RunContext) -> None:
    text = (
        "Our revenue increased by 8% in 2022 primarily due to higher prices for the new product "
        "line. Northwind Traders Inc. is a maker of garden tools."
    )
    record = report(text + " Northwind Traders Inc. sells in 12 countries.")
    pairs = {m["question"]: m["answer"] for m in qa_pairs(run_context, record)}
    reasons = {
        q: a
        for q, a in pairs.items()
        if a == "primarily due to higher prices for the new product line"
    }
    assert reasons, pairs
    assert all("Northwind" in q and "our " not in q.lower() for q in reasons), reasons
    off = qa_pairs(run_context, record, reason_questions=False)
    assert not any(m["answer"].startswith("primarily due to") for m in off)


# -- real text nobody here wrote: TAT-QA documents of the held-out half --------------------------

WHY = re.compile(r"(?i)^(why|what (was|were|is|are) the (reason|cause)|what caused|under what)")


def test_held_out_tatqa_why_questions_are_answered_by_a_reason_pair() -> None:
    """On held-out annual-report extracts the rules were not tuned on: every pair's answer is a
    clause of its sentence and its question well formed; the people's "why"/"under what
    condition" questions about the text are answered (80% of the answer's words) by a pair for at
    least a third of them (8 of 16 on the first 200 held-out documents when this was written; 8 of
    21 on the tune half)."""
    asked = answered = pairs_seen = 0
    documents: list[tuple[Record, list[dict[str, Any]]]] = tatqa_documents("held_out", 200)
    for record, questions in documents:
        vocabulary = set(re.findall(r"\b[a-z][a-z'’-]*\b", record.text))
        sentences = [s for para in record.text.split("\n\n") for s in split_sentences(para)]
        proper = capitalised_inside(sentences)
        pairs = [(s, p) for s in sentences for p in reason_pairs(s, vocabulary, proper)]
        for sentence, pair in pairs:
            assert pair.answer in sentence and well_formed_question(pair.question, "reason"), pair
        pairs_seen += len(pairs)
        for q in questions:
            if q.get("answer_from") != "text" or not WHY.match(q["question"]):
                continue
            answer = q["answer"][0] if isinstance(q["answer"], list) else str(q["answer"])
            words = set(re.findall(r"\w+", answer.lower()))
            asked += 1
            answered += any(
                len(words & set(re.findall(r"\w+", p.answer.lower()))) >= 0.8 * len(words)
                for _, p in pairs
            )
    assert pairs_seen >= 40, pairs_seen
    assert asked >= 10, asked
    assert answered / asked >= 1 / 3, (answered, asked)
