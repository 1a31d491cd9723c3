"""semantic: embedder cosine and BERTScore-style F1 between answer and reference."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kinject.context import RunContext
from kinject.evaluation import EvalItem, EvalModel
from kinject_plugins.evaluators.semantic import SemanticEvaluator


def test_same_meaning_scores_higher(
    tiny_eval_model: EvalModel,
    run_context: RunContext,
    fixed_answers: Callable[[str, dict[str, str]], None],
) -> None:
    ref = "The seller may keep the earnest money."
    fixed_answers(
        "semantic",
        {"same": ref, "close": "The seller can retain the deposit.", "far": "Bananas are yellow."},
    )
    items = [EvalItem(q, q, answer_text=ref) for q in ("same", "close", "far")]
    result = SemanticEvaluator().evaluate(tiny_eval_model, items, run_context)
    cos = [row["cosine"] for row in result["items"]]
    f1 = [row["bertscore_f1"] for row in result["items"]]
    assert cos[0] == pytest.approx(1.0, abs=1e-4)
    assert f1[0] == pytest.approx(1.0, abs=1e-4)
    assert cos[0] > cos[1] > cos[2]
    assert f1[0] > f1[1] > f1[2]
    assert result["cosine"] == pytest.approx(sum(cos) / 3)
