"""overlap: BLEU-4 and ROUGE-L against hand-computed values."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kinject.context import RunContext
from kinject.evaluation import EvalItem, EvalModel
from kinject_plugins.evaluators.overlap import OverlapEvaluator, overlap_scores


def test_hand_computed_bleu_and_rouge() -> None:
    metrics, bleu, rouge = overlap_scores(
        ["the cat sat on the mat today", "the cat was found under the bed"],
        ["the cat sat on the mat", "the cat was under the bed"],
    )
    # n-gram precisions 6/7, 5/6, 4/5, 3/4 and no brevity penalty: BLEU = (3/7) ** (1/4)
    assert bleu[0] == pytest.approx(100 * (3 / 7) ** 0.25)
    # LCS 6 of 7 answer tokens and 6 of 6 reference tokens: F = 12/13
    assert rouge[1] == pytest.approx(12 / 13)
    assert metrics["rouge_l"] == pytest.approx(12 / 13)
    assert metrics["tokenize"] == "13a"
    identical, _, _ = overlap_scores(["a b c d e"], ["a b c d e"])
    assert identical["bleu"] == pytest.approx(100.0)
    assert identical["rouge_l"] == pytest.approx(1.0)


def test_chinese_is_tokenized_per_character() -> None:
    metrics, bleu, rouge = overlap_scores(["违约方丧失定金"], ["违约方丧失订金"])
    assert metrics["tokenize"] == "zh"
    # 7 characters, one wrong: precisions 6/7, 4/6, 3/5, 2/4; LCS 6 of 7
    assert bleu[0] == pytest.approx(100 * (6 / 7 * 4 / 6 * 3 / 5 * 2 / 4) ** 0.25)
    assert rouge[0] == pytest.approx(6 / 7)


def test_evaluator(
    tiny_eval_model: EvalModel,
    run_context: RunContext,
    fixed_answers: Callable[[str, dict[str, str]], None],
) -> None:
    fixed_answers("overlap", {"q": "the cat sat on the mat today"})
    items = [
        EvalItem("1", "q", answer_text="the cat sat on the mat"),
        EvalItem("2", "no reference"),
    ]
    result = OverlapEvaluator().evaluate(tiny_eval_model, items, run_context)
    assert result["n"] == 1
    assert result["bleu"] == pytest.approx(100 * (3 / 7) ** 0.25)
    assert result["items"][0]["id"] == "1"
