"""The rubric: schema-valid criteria (checks kinject.rubric knows), working regexes, loadable."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kinject.domains import DomainPack
from kinject.rubric import CHECKS


@pytest.fixture(scope="module")
def rubric(pack: DomainPack) -> dict[str, Any]:
    return pack.load_rubric()


def _criterion(rubric: dict[str, Any], cid: str) -> dict[str, Any]:
    return next(c for c in rubric["criteria"] if c["id"] == cid)


def test_criteria_follow_the_schema(rubric: dict[str, Any]) -> None:
    assert rubric["name"] == "legal"
    ids = [c["id"] for c in rubric["criteria"]]
    assert len(ids) == len(set(ids))
    for criterion in rubric["criteria"]:
        assert criterion["check"] in CHECKS, criterion["id"]
        assert float(criterion["weight"]) > 0, criterion["id"]
        assert isinstance(criterion.get("params", {}), dict), criterion["id"]
        if "applies_to" in criterion:
            re.compile(criterion["applies_to"])
        if criterion["check"] in {"pattern", "forbidden_pattern"}:
            re.compile(criterion["params"]["regex"])
    assert {"required_terms", "confusions", "pattern", "numeric_match"} <= {
        c["check"] for c in rubric["criteria"]
    }


@pytest.mark.parametrize(
    "answer",
    ["Article 86 caps it.", "See Art. 12(2).", "Section 5 applies.", "§ 12", "依照第八十六条"],
)
def test_statute_citation_pattern_accepts_canonical_forms(
    rubric: dict[str, Any], answer: str
) -> None:
    assert re.search(_criterion(rubric, "statute_citation")["params"]["regex"], answer)


def test_statute_citation_pattern_rejects_a_bare_number(rubric: dict[str, Any]) -> None:
    assert not re.search(_criterion(rubric, "statute_citation")["params"]["regex"], "It is 86.")


def test_case_citation_pattern(rubric: dict[str, Any]) -> None:
    regex = _criterion(rubric, "case_citation")["params"]["regex"]
    assert re.search(regex, "That was Tessaly Bank v Horvan (2019).")
    assert not re.search(regex, "the bank won against Horvan")


def test_informal_citations_are_forbidden(rubric: dict[str, Any]) -> None:
    regex = _criterion(rubric, "informal_citation")["params"]["regex"]
    for bad in ("see art 12", "under s. 5", "Smith vs. Jones"):
        assert re.search(regex, bad), bad
    for good in ("Article 12", "Section 5", "Smith v Jones (2011)", "the art of advocacy"):
        assert not re.search(regex, good), good


def test_disclaimer_applies_to_advice_questions_only(rubric: dict[str, Any]) -> None:
    criterion = _criterion(rubric, "disclaimer")
    assert re.search(criterion["applies_to"], "Should I pay my landlord the extra deposit?")
    assert not re.search(
        criterion["applies_to"], "How many judges sit on the Supreme Court of Veloria?"
    )
    assert re.search(criterion["params"]["regex"], "This is general information, not legal advice.")


def _scorer(pack: DomainPack) -> Any:
    """The pack rubric loaded by kinject.rubric, or a skip while that module is unavailable."""
    try:
        from kinject.rubric import Rubric
    except ImportError as exc:
        pytest.skip(f"kinject.rubric is not importable: {exc}")
    assert pack.rubric is not None
    return Rubric.load(pack.rubric, pack.load_terms())


def test_the_rubric_scorer_loads_the_pack_rubric(pack: DomainPack, rubric: dict[str, Any]) -> None:
    scorer = _scorer(pack)
    assert [c.id for c in scorer.criteria] == [c["id"] for c in rubric["criteria"]]


def test_rubric_prefers_the_right_answer(pack: DomainPack) -> None:
    scorer = _scorer(pack)
    question = "Which article of the Velorian Contract Act deals with advance payments?"
    good = scorer.score(
        question, "Article 89 governs the advance payment.", "Article 89: an advance payment"
    )
    confused = scorer.score(
        question, "Article 89 governs earnest money.", "Article 89: an advance payment"
    )
    uncited = scorer.score(
        question, "It is 89, about advance payment.", "Article 89: an advance payment"
    )
    assert good.total == 1.0
    assert confused.per_criterion["no_confusions"] is False
    assert uncited.per_criterion["statute_citation"] is False
    assert good.total > max(confused.total, uncited.total)


def test_rubric_checks_periods_exactly(pack: DomainPack) -> None:
    scorer = _scorer(pack)
    question = "Within how many days must the deposit be lodged?"
    assert (
        scorer.score(question, "Within 21 days.", "21 days").per_criterion["exact_numbers"] is True
    )
    assert (
        scorer.score(question, "Within 28 days.", "21 days").per_criterion["exact_numbers"] is False
    )
