"""Statement questions: what a term is and what causes it, answered by the defining sentence."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict

import pytest
from conftest import SHARED_DATA

from kinject.context import RunContext
from kinject.records import Record
from kinject_plugins.augmenters.facts import split_sentences
from kinject_plugins.augmenters.statements import capitalised_inside, clean_term, statement_pairs


def qa(context: RunContext, records: list[Record], **options: object) -> list[Record]:
    augmenter = context.plugins.create("augmenter", "qa-generate", options)
    augmenter.setup(context)
    return [r for r in augmenter.augment(records) if r.kind == "qa"]


def ask(sentence: str, topic: str = "", others: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    return [(p.question, p.form) for p in statement_pairs(sentence, topic, others, set())]


def test_a_definition_of_the_topic_is_asked_and_answered_by_its_sentence() -> None:
    sentence = "A sonnet is a poem of fourteen lines that follows a strict rhyme scheme."
    pairs = statement_pairs(sentence, "Sonnets and their forms", [], set())
    assert [(p.question, p.answer, p.form) for p in pairs] == [
        ("What is a sonnet?", sentence, "definition")
    ]
    assert ask("Glaciers are slow rivers of ice formed from compacted snow.", "Glaciers") == [
        ("What are glaciers?", "definition")
    ]


def test_a_cause_sentence_asks_what_causes_the_term() -> None:
    assert ask("Rust is usually caused by water and oxygen acting on iron.", "Rust") == [
        ("What causes rust?", "cause")
    ]


@pytest.mark.parametrize(
    ("sentence", "question"),
    [
        ("Water and oxygen acting on bare iron cause rust.", "What causes rust?"),
        (
            "Salt spray from the sea can also cause rust on the hull.",
            "What can cause rust on the hull?",
        ),
        (
            "A scratch in the paint often leads to rust underneath.",
            "What leads to rust underneath?",
        ),
        # the term ends where a clause or a means begins
        ("Damp air may cause rust by keeping the metal wet.", "What may cause rust?"),
        ("Poor drainage caused rust because water stood on the deck.", "What caused rust?"),
    ],
)
def test_an_active_cause_asks_what_causes_the_term(sentence: str, question: str) -> None:
    pairs = statement_pairs(sentence, "Rust", [], set())
    assert [(p.question, p.answer, p.form) for p in pairs] == [(question, sentence, "cause")]


@pytest.mark.parametrize(
    "sentence",
    [
        "Researchers do not know the exact cause of rust.",  # "cause" is a noun
        "Scientists don't know exactly what causes rust.",  # an embedded question
        "Paint does not cause rust on steel.",  # a negation
        "This can cause rust on the hull.",  # a pronoun names no cause
        "A low level of this coating can lead to rust.",  # which coating?
        "Coatings that can cause rust include cheap primers.",  # the verb of a relative clause
        "Rust can cause brittle, flaky, weak metal in old bridges.",  # a list: not its first item
        "Salt can cause the metal to rust quickly.",  # what the cause makes happen, no term
        "Salt spray can cause the problem.",  # the one named earlier
        "Salt spray can cause damage to the paint.",  # the term is not what the page is about
        "Rust has many causes, including salt and water.",  # no verb "cause"
    ],
)
def test_sentences_that_name_no_cause_of_the_term_ask_nothing(sentence: str) -> None:
    assert [p for p in statement_pairs(sentence, "Rust", [], set()) if p.form == "cause"] == []


def test_a_term_named_elsewhere_in_the_document_counts_without_the_title() -> None:
    sentence = "The keystone is the wedge-shaped stone at the top of an arch."
    assert ask(sentence, "Bridges") == []
    assert ask(sentence, "Bridges", ("Without the keystone the arch falls.",)) == [
        ("What is the keystone?", "definition")
    ]


@pytest.mark.parametrize(
    "sentence",
    [
        "If the weather is cold, the lake freezes over in winter.",  # a clause, not a term
        "The good news is that the bridge reopened in May.",  # a vague head
        "The Company is subject to taxation in several jurisdictions.",  # a self-reference
        "Rust is also found on old ships and bridges.",  # "also": not what rust is
        "Rust is located mostly on the underside of the hull.",  # a participle
        "Rust is slightly more common near the sea.",  # an adverb
        "Among the causes are the following:",  # no full stop, no term
        "People who sail are often wet and cold in winter.",  # a relative clause
        "Rust is bad.",  # too short to say what rust is
    ],
)
def test_sentences_that_do_not_define_a_term_ask_nothing(sentence: str) -> None:
    assert ask(sentence, "Rust people news Company weather causes") == []


def test_clean_term_refuses_numbers_and_long_phrases() -> None:
    assert clean_term("About 90 percent of cases") is None
    assert clean_term("The very long name of a thing that goes on") is None
    assert clean_term("The small intestine") == "The small intestine"


def test_qa_generate_keeps_statement_answers_past_the_value_answer_cap(
    run_context: RunContext,
) -> None:
    text = (
        "A sonnet is a poem of fourteen lines that follows a strict rhyme scheme and a fixed "
        "metre, most often iambic pentameter."
    )
    record = Record(text=text, source={"uri": "poems.md"}, meta={"title": "Sonnets"})
    # 40 words at most for a statement's answer, 12 for a value's; framed with the title
    asked = {r.meta["answer"]: r.meta["question"] for r in qa(run_context, [record])}
    assert asked.get(text) == "In Sonnets: What is a sonnet?"
    off = qa(run_context, [record], statement_questions=False)
    assert text not in {r.meta["answer"] for r in off}


# -- real text nobody here wrote: MedQuAD pages of the benchmark's held-out half ------------------


def medquad_pages(
    half: str, limit: int, asked: str = "What is (are)"
) -> list[tuple[str, str, str]]:
    """(focus, page text, the people's answer to "<asked> <focus>?") for pages of one half
    (split by a hash of the page file, as bench/knowledge/suite_format.py splits)."""
    path = SHARED_DATA / "medical" / "medquad_subset.json"
    if not path.exists():
        pytest.skip(f"real-text data absent ({path})")
    pages: dict[str, list[dict[str, str]]] = defaultdict(list)
    for entry in json.loads(path.read_text(encoding="utf-8")):
        pages[entry["file"]].append(entry)
    out = []
    for file, entries in sorted(pages.items()):
        if ("tune", "held_out")[int(hashlib.sha256(file.encode()).hexdigest(), 16) % 2] != half:
            continue
        what = [e["answer"] for e in entries if e["question"].startswith(asked)]
        if not what:
            continue
        text = "\n\n".join(" ".join(e["answer"].split()) for e in entries)
        out.append((entries[0]["focus"], text, " ".join(what[0].split())))
        if len(out) == limit:
            break
    return out


def test_held_out_medquad_definitions_are_found() -> None:
    """Of held-out pages whose people's answer opens with "<focus> is/are ...", the rules ask
    "What is/are <focus>?" with that sentence as the answer on at least 80% (18 of 18 when this was
    written; 28 of 29 on the tune half); every answer is a sentence of its page."""
    defining = found = asked = 0
    for focus, text, answer in medquad_pages("held_out", 100):
        sentences = split_sentences(text)
        proper = capitalised_inside(sentences)
        pairs = [p for s in sentences for p in statement_pairs(s, focus, sentences, proper)]
        assert all(p.answer in sentences and p.question.endswith("?") for p in pairs)
        asked += len(pairs)
        first = split_sentences(answer)[0]
        if first.lower().startswith((f"{focus.lower()} is ", f"{focus.lower()} are ")):
            defining += 1
            found += any(p.answer == first and p.form == "definition" for p in pairs)
    assert defining >= 10, defining
    assert found / defining >= 0.8, (found, defining)
    assert asked >= 100


def test_held_out_medquad_causes_are_found() -> None:
    """Of the people's "What causes <focus>?" questions on held-out pages, the rules ask a cause
    question answered by the first sentence of the people's answer on at least 12% (20 of 153 when
    the active form "<cause> can cause <term>" was added, 13 with the passive form alone; tune
    half 22 of 128, 6 before); every cause question answers with a sentence of its page."""
    answered = asked = 0
    for focus, text, answer in medquad_pages("held_out", 1000, asked="What causes"):
        sentences = split_sentences(text)
        proper = capitalised_inside(sentences)
        causes = [
            p
            for s in sentences
            for p in statement_pairs(s, focus, sentences, proper)
            if p.form == "cause"
        ]
        assert all(p.answer in sentences and p.question.startswith("What ") for p in causes)
        asked += 1
        answered += any(p.answer == split_sentences(answer)[0] for p in causes)
    assert asked >= 50, asked
    assert answered / asked >= 0.12, (answered, asked)
