"""Wilson intervals, the exact McNemar test, and how a report words a p-value."""

from __future__ import annotations

from math import comb

import pytest

from kinject.stats import (
    count_of,
    describe_p,
    intervals,
    mcnemar_exact,
    outcomes,
    paired_outcomes,
    wilson_interval,
)


def test_wilson_interval_matches_the_closed_form() -> None:
    assert wilson_interval(5, 10) == (0.2366, 0.7634)
    assert wilson_interval(0, 10) == (0.0, 0.2775)
    assert wilson_interval(10, 10) == (0.7225, 1.0)
    assert wilson_interval(0, 0) == (0.0, 0.0)


@pytest.mark.parametrize(
    ("b", "c", "expected"),
    [
        (1, 9, 22 / 1024),  # 2 * (C(10,0) + C(10,1)) / 2**10
        (3, 12, 2 * (1 + 15 + 105 + 455) / 2**15),
        (0, 12, 2 / 2**12),
        (4, 4, 1.0),
        (0, 0, 1.0),
    ],
)
def test_mcnemar_exact_is_the_two_sided_binomial_tail(b: int, c: int, expected: float) -> None:
    assert mcnemar_exact(b, c) == pytest.approx(expected)
    assert mcnemar_exact(c, b) == pytest.approx(expected)


def test_mcnemar_odd_discordance_split_as_evenly_as_possible_is_no_evidence() -> None:
    # with 7 discordant questions split 3/4 the lower tail is exactly half of all outcomes
    assert sum(comb(7, k) for k in range(4)) / 2**7 == pytest.approx(0.5)
    assert mcnemar_exact(3, 4) == pytest.approx(1.0)


def test_paired_outcomes_use_only_shared_questions() -> None:
    before = {"a": True, "b": False, "c": False, "d": True, "only-base": True}
    after = {"a": True, "b": True, "c": False, "d": False, "only-trained": False}
    test = paired_outcomes(before, after)
    assert test == {
        "n": 4,
        "both": 1,
        "base_only": 1,
        "trained_only": 1,
        "neither": 1,
        "p_value": 1.0,
    }


def test_outcomes_keep_boolean_rows_only() -> None:
    rows = [
        {"id": "a", "correct": True},
        {"id": "b", "correct": None},
        {"id": "c"},
        "junk",
        {"id": 4, "correct": False},
    ]
    assert outcomes(rows) == {"a": True, "4": False}


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.03, "p = 0.03"),
        (0.0004, "p < 0.001"),
        (0.0032, "p = 0.0032"),
        (0.41, "within noise (p = 0.41)"),
        (0.05, "within noise (p = 0.05)"),
    ],
)
def test_describe_p(p: float, text: str) -> None:
    assert describe_p(p) == text


def test_counts_and_intervals_come_from_sibling_counts() -> None:
    flat = {
        "knowledge-qa.accuracy": 0.5,
        "knowledge-qa.n": 10.0,
        "knowledge-qa.em": 0.25,
        "knowledge-qa.n_generated": 4.0,
        "knowledge-qa.per_category.law.accuracy": 1.0,
        "knowledge-qa.per_category.law.n": 3.0,
        "rubric.score": 0.8,
        "rubric.pass_rate": 0.5,
        "rubric.n": 4.0,
        "perplexity.perplexity": 12.0,
    }
    assert count_of(flat, "knowledge-qa.accuracy") == 10
    assert count_of(flat, "knowledge-qa.em") == 4
    assert count_of(flat, "knowledge-qa.per_category.law.accuracy") == 3
    found = intervals(flat)
    # a rubric score is a mean of weighted checks, not a share of questions: no interval
    assert set(found) == {
        "knowledge-qa.accuracy",
        "knowledge-qa.em",
        "knowledge-qa.per_category.law.accuracy",
        "rubric.pass_rate",
    }
    assert found["knowledge-qa.accuracy"] == {"n": 10, "hits": 5, "interval95": [0.2366, 0.7634]}
