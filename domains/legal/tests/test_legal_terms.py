"""The bilingual term list: size, required fields, and the confusable pairs the domain needs."""

from __future__ import annotations

from collections import Counter

import pytest

from kinject.domains import DomainPack, Term


@pytest.fixture(scope="module")
def terms(pack: DomainPack) -> list[Term]:
    return pack.load_terms()


def test_at_least_150_terms_with_required_fields(terms: list[Term]) -> None:
    assert len(terms) >= 150
    for term in terms:
        assert term.term.strip() and term.definition.strip(), term
        assert term.language in {"en", "zh"}, term
        assert isinstance(term.synonyms, list) and isinstance(term.confusables, list), term


def test_terms_are_unique_and_bilingual(terms: list[Term]) -> None:
    names = [t.term for t in terms]
    assert [n for n, c in Counter(names).items() if c > 1] == []
    languages = Counter(t.language for t in terms)
    assert languages["en"] >= 100 and languages["zh"] >= 50


def test_every_confusable_is_itself_a_term(terms: list[Term]) -> None:
    names = {t.term for t in terms}
    dangling = {(t.term, c) for t in terms for c in t.confusables if c not in names}
    assert dangling == set()


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("定金", "订金"),
        ("要约", "要约邀请"),
        ("撤回", "撤销"),
        ("void", "voidable"),
        ("warranty", "guarantee"),
        ("rescission", "termination"),
        ("earnest money", "advance payment"),
        ("withdrawal of an offer", "revocation of an offer"),
    ],
)
def test_confusable_pairs_point_both_ways(terms: list[Term], a: str, b: str) -> None:
    by_name = {t.term: t for t in terms}
    assert b in by_name[a].confusables
    assert a in by_name[b].confusables


def test_chinese_terms_name_their_english_equivalent(terms: list[Term]) -> None:
    for term in terms:
        if term.language == "zh":
            assert term.meta.get("english"), term.term
