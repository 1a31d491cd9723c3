"""term-f1: domain terms named in the answer vs in the reference."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kinject.context import RunContext
from kinject.domains import DomainPack
from kinject.errors import ConfigError
from kinject.evaluation import EvalItem, EvalModel
from kinject_plugins.evaluators.term_f1 import TermF1Evaluator


def test_micro_and_macro_f1(
    tiny_eval_model: EvalModel,
    run_context: RunContext,
    legal_pack: DomainPack,
    fixed_answers: Callable[[str, dict[str, str]], None],
) -> None:
    items = [
        EvalItem("1", "q1", answer_text="earnest money and the statute of limitations"),
        EvalItem("2", "q2", answer_text="an advance payment"),
        EvalItem("3", "q3", answer_text="no terms"),
    ]
    fixed_answers(
        "term_f1",
        {
            "q1": "the deposit",  # 1 of 2 reference terms, via a synonym
            "q2": "an advance payment, not earnest money",  # 1 right, 1 extra
            "q3": "nothing",  # no terms either side: not counted in macro
        },
    )
    run_context.domain = legal_pack
    result = TermF1Evaluator().evaluate(tiny_eval_model, items, run_context)
    # tp = 2, predicted = 3, relevant = 3
    assert result["precision"] == pytest.approx(2 / 3)
    assert result["recall"] == pytest.approx(2 / 3)
    assert result["f1"] == pytest.approx(2 / 3)
    assert result["macro_f1"] == pytest.approx((2 / 3 + 2 / 3) / 2)
    assert result["n_with_terms"] == 2
    assert result["items"][0]["matched"] == ["earnest money"]


def test_needs_terms(run_context: RunContext, tmp_path: object) -> None:
    with pytest.raises(ConfigError, match="needs a domain pack with a term list"):
        TermF1Evaluator().setup(run_context)
