"""Rubric validation and each check type against hand-worked cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from kinject.domains import Term
from kinject.errors import ConfigError
from kinject.rubric import Rubric, TermMatcher, find_numbers

TERMS = [
    Term("earnest money", synonyms=["deposit"], confusables=["advance payment"]),
    Term("advance payment", confusables=["earnest money"]),
    Term("定金", confusables=["订金"]),
    Term("statute of limitations"),
]


def one(check: str, **extra: object) -> Rubric:
    return Rubric.from_dict(
        {"name": "t", "criteria": [{"id": "c", "check": check, **extra}]}, TERMS
    )


def test_required_terms_from_reference_accepts_synonyms() -> None:
    rubric = one("required_terms")
    ref = "The buyer forfeits the earnest money."
    assert rubric.score("q", "They lose the deposit.", ref).per_criterion == {"c": True}
    failed = rubric.score("q", "They lose the money.", ref)
    assert failed.per_criterion == {"c": False}
    assert failed.total == 0.0
    assert failed.failures == ["c: missing earnest money"]


def test_required_terms_not_applicable_without_terms_in_reference() -> None:
    score = one("required_terms").score("q", "anything", "no domain words here")
    assert score.per_criterion == {"c": None}
    assert score.total == 1.0
    assert score.applicable_weight == 0.0


def test_required_terms_explicit_list_all_and_any() -> None:
    all_of = one("required_terms", params={"terms": ["earnest money", "statute of limitations"]})
    any_of = one(
        "required_terms",
        params={"terms": ["earnest money", "statute of limitations"], "mode": "any"},
    )
    answer = "A deposit was paid."
    assert all_of.score("q", answer, "").per_criterion["c"] is False
    assert any_of.score("q", answer, "").per_criterion["c"] is True


def test_word_boundaries_for_latin_terms() -> None:
    rubric = one("required_terms", params={"terms": ["deposit"]})
    assert rubric.score("q", "deposits were made", "").per_criterion["c"] is False
    assert rubric.score("q", "A DEPOSIT was made", "").per_criterion["c"] is True


def test_forbidden_terms_except_when_reference_uses_them() -> None:
    rubric = one("forbidden_terms", params={"terms": ["guarantee"]})
    assert rubric.score("q", "We guarantee it.", "It is likely.").per_criterion["c"] is False
    assert (
        rubric.score("q", "A guarantee applies.", "A guarantee applies here.").per_criterion["c"]
        is True
    )


def test_confusions_english_with_masking_of_the_right_term() -> None:
    rubric = one("confusions")
    ref = "The seller keeps the earnest money."
    assert (
        rubric.score("q", "The seller keeps the advance payment.", ref).per_criterion["c"] is False
    )
    assert rubric.score("q", "The seller keeps the earnest money.", ref).per_criterion["c"] is True
    # the reference uses neither term: nothing to confuse
    assert rubric.score("q", "advance payment", "no terms").per_criterion["c"] is None


def test_confusions_chinese() -> None:
    rubric = one("confusions")
    ref = "违约方丧失定金。"
    bad = rubric.score("q", "违约方丧失订金。", ref)
    assert bad.per_criterion["c"] is False
    assert bad.failures == ["c: 订金 instead of 定金"]
    assert rubric.score("q", "对方可没收定金", ref).per_criterion["c"] is True


def test_pattern_and_forbidden_pattern() -> None:
    cite = one("pattern", params={"regex": r"(?i)article \d+"})
    assert cite.score("q", "See Article 12.", "").per_criterion["c"] is True
    assert cite.score("q", "See the law.", "").per_criterion["c"] is False
    no_advice = one("forbidden_pattern", params={"regex": r"(?i)you should"})
    assert no_advice.score("q", "You should sue.", "").per_criterion["c"] is False
    assert no_advice.score("q", "A court may decide.", "").per_criterion["c"] is True


@pytest.mark.parametrize(
    ("answer", "tolerance", "expected"),
    [
        ("The rate is 5% over 1,000 days.", 0.0, True),
        ("The rate is 5% over 1000 days.", 0.0, True),
        ("The rate is 5% over 990 days.", 0.0, False),
        ("The rate is 5% over 990 days.", 0.02, True),
        ("No numbers at all.", 0.5, False),
    ],
)
def test_numeric_match(answer: str, tolerance: float, expected: bool) -> None:
    rubric = one("numeric_match", params={"tolerance": tolerance})
    assert rubric.score("q", answer, "5% for 1,000 days").per_criterion["c"] is expected


def test_numeric_match_not_applicable_without_reference_numbers() -> None:
    assert one("numeric_match").score("q", "42", "none").per_criterion["c"] is None


def test_units_before_or_after_the_number() -> None:
    rubric = one("units", params={"allowed": ["mg", "$", "元"]})
    assert rubric.score("q", "Take 50 mg, it costs $5 or 30元.", "").per_criterion["c"] is True
    bad = rubric.score("q", "Take 50 mg twice, 3 times.", "")
    assert bad.per_criterion["c"] is False
    assert bad.failures == ["c: no unit on 3"]
    # a unit must not be the start of a longer word
    assert rubric.score("q", "Take 50 mgx", "").per_criterion["c"] is False
    assert rubric.score("q", "no numbers", "").per_criterion["c"] is None


def test_weights_applies_to_and_total() -> None:
    rubric = Rubric.from_dict(
        {
            "criteria": [
                {"id": "terms", "check": "required_terms", "weight": 3},
                {
                    "id": "cite",
                    "check": "pattern",
                    "params": {"regex": "Art"},
                    "applies_to": "(?i)statute",
                },
                {"id": "nums", "check": "numeric_match", "weight": 1},
            ]
        },
        TERMS,
    )
    ref = "Earnest money of 100 is kept."
    score = rubric.score("What happens?", "The deposit of 200 is kept.", ref)
    assert score.per_criterion == {"terms": True, "cite": None, "nums": False}
    assert score.total == pytest.approx(3 / 4)
    score = rubric.score("Which statute?", "The deposit of 100, Art 5.", ref)
    assert score.total == 1.0
    assert score.applicable_weight == 5.0


def test_bad_rubric_lists_every_problem() -> None:
    data = {
        "criteria": [
            {"id": "a", "check": "nope"},
            {"id": "a", "check": "pattern"},
            {"id": "b", "check": "pattern", "params": {"regex": "("}, "weight": -1},
            {"check": "units", "applies_to": "[", "colour": "red"},
            "not a mapping",
        ]
    }
    with pytest.raises(ConfigError) as exc:
        Rubric.from_dict(data, TERMS, source="legal/rubric.yaml")
    problems = exc.value.problems
    text = str(exc.value)
    assert text.startswith("legal/rubric.yaml: ")
    assert any("unknown check 'nope'" in p for p in problems)
    assert any("duplicate id 'a'" in p for p in problems)
    assert any("not a valid regex" in p and "'b'" in p for p in problems)
    assert any("`weight` must be a positive number" in p for p in problems)
    assert any("`id` is required" in p for p in problems)
    assert any("`applies_to` is not a valid regex" in p for p in problems)
    assert any("needs `params.allowed`" in p for p in problems)
    assert any("unknown key `colour`" in p for p in problems)
    assert any("criteria[4]: must be a mapping" in p for p in problems)


def test_empty_rubric_is_an_error() -> None:
    with pytest.raises(ConfigError, match="non-empty list"):
        Rubric.from_dict({"name": "x"})


def test_load_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "rubric.yaml"
    path.write_text(
        "name: legal\ncriteria:\n  - id: cite\n    check: pattern\n    params: {regex: 'Art\\.'}\n",
        encoding="utf-8",
    )
    rubric = Rubric.load(path, TERMS)
    assert rubric.name == "legal"
    assert rubric.score("q", "Art. 3", "").total == 1.0
    path.write_text("criteria: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="rubric.yaml"):
        Rubric.load(path)


def test_term_matcher_and_numbers() -> None:
    matcher = TermMatcher(TERMS)
    assert matcher.found_in("The deposit and the 定金 clause") == ["earnest money", "定金"]
    assert [v for v, _, _ in find_numbers("1,250.5 and -3 and H2O and ５")] == [1250.5, -3.0, 5.0]
