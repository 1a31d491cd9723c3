"""rubric evaluator: the domain pack's rubric applied to greedy answers."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kinject.context import RunContext
from kinject.domains import DomainPack
from kinject.errors import ConfigError
from kinject.evaluation import EvalItem, EvalModel
from kinject_plugins.evaluators.rubric import RubricEvaluator

ITEMS = [
    EvalItem("1", "What does the seller keep?", answer_text="The earnest money."),
    EvalItem("2", "What is forfeited?", answer_text="The earnest money is forfeited."),
    EvalItem("3", "Anything else?", answer_text="No."),
]


def test_scores_answers_with_the_domain_rubric(
    tiny_eval_model: EvalModel,
    run_context: RunContext,
    legal_pack: DomainPack,
    fixed_answers: Callable[[str, dict[str, str]], None],
) -> None:
    fixed_answers(
        "rubric",
        {
            "What does the seller keep?": "The deposit.",  # synonym: passes both
            "What is forfeited?": "The advance payment.",  # misses the term and confuses it
            "Anything else?": "Nothing.",  # no criterion applies
        },
    )
    run_context.domain = legal_pack
    evaluator = RubricEvaluator()
    evaluator.setup(run_context)
    result = evaluator.evaluate(tiny_eval_model, ITEMS, run_context)
    assert [row["score"] for row in result["items"]] == [1.0, 0.0, 1.0]
    assert result["score"] == pytest.approx(2 / 3)
    assert result["pass_rate"] == pytest.approx(2 / 3)
    assert result["criteria"]["terms"] == {"pass_rate": 0.5, "applied": 2}
    assert result["criteria"]["no_confusion"] == {"pass_rate": 0.5, "applied": 2}
    assert result["items"][1]["failures"] == [
        "terms: missing earnest money",
        "no_confusion: advance payment instead of earnest money",
    ]


def test_needs_a_rubric(run_context: RunContext) -> None:
    with pytest.raises(ConfigError, match="needs a domain pack with a rubric"):
        RubricEvaluator().setup(run_context)


def test_real_generation_runs(
    tiny_eval_model: EvalModel, run_context: RunContext, legal_pack: DomainPack
) -> None:
    run_context.domain = legal_pack
    result = RubricEvaluator(max_new_tokens=3).evaluate(tiny_eval_model, ITEMS, run_context)
    assert result["n"] == 3
    assert 0.0 <= result["score"] <= 1.0
