"""The held-out eval set: well formed, balanced, answerable from the corpus, not copied from it."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from kinject.domains import DomainPack
from kinject.evaluation import EvalItem, load_eval_items


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _flat(text: str) -> str:
    return " ".join(text.lower().split())


@pytest.fixture(scope="module")
def items(pack: DomainPack) -> list[EvalItem]:
    return load_eval_items(pack.eval)


def test_items_are_four_way_multiple_choice(items: list[EvalItem]) -> None:
    assert len({i.id for i in items}) == len(items)
    assert len({i.question for i in items}) == len(items)
    for item in items:
        assert len(item.choices) == 4 and len(set(item.choices)) == 4, item.id
        assert item.answer is not None and 0 <= item.answer < 4, item.id
        assert item.category and item.meta.get("fact_id"), item.id
        assert item.answer_text, item.id


def test_answer_text_matches_the_marked_choice(items: list[EvalItem]) -> None:
    for item in items:
        assert item.answer is not None
        correct = _flat(item.choices[item.answer])
        reference = _flat(item.answer_text)
        # the reference is the choice itself or the key phrase inside it
        assert reference in correct or correct in reference, item.id


def test_answer_positions_are_balanced(items: list[EvalItem]) -> None:
    counts = Counter(item.answer for item in items)
    assert set(counts) == {0, 1, 2, 3}
    assert max(counts.values()) - min(counts.values()) <= 2


def test_every_answer_is_stated_in_the_corpus(items: list[EvalItem], corpus_text: str) -> None:
    corpus = _flat(corpus_text)
    missing = [(i.id, i.answer_text) for i in items if _flat(i.answer_text) not in corpus]
    assert not missing


def test_no_question_is_copied_from_the_corpus(items: list[EvalItem], corpus_text: str) -> None:
    words = _words(corpus_text)
    grams = {tuple(words[i : i + 13]) for i in range(len(words) - 12)}
    flat = _flat(corpus_text)
    for item in items:
        assert _flat(item.question) not in flat, item.id
        q = _words(item.question)
        assert not any(tuple(q[i : i + 13]) in grams for i in range(len(q) - 12)), item.id


def test_distractors_are_not_the_answer_in_disguise(items: list[EvalItem]) -> None:
    for item in items:
        assert item.answer is not None
        correct = _flat(item.choices[item.answer])
        for i, choice in enumerate(item.choices):
            if i != item.answer:
                assert _flat(choice) != correct, item.id


def test_facts_are_covered_once_or_more(items: list[EvalItem]) -> None:
    facts = Counter(item.meta["fact_id"] for item in items)
    assert len(facts) >= 50
    assert {"zh"} <= {item.category for item in items}
