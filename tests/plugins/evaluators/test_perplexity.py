"""perplexity: reference answers in their prompt, and free text."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest

from kinject.context import RunContext
from kinject.errors import ConfigError
from kinject.evaluation import EvalItem, EvalModel
from kinject_plugins.evaluators.loglik import encode_pair
from kinject_plugins.evaluators.perplexity import PerplexityEvaluator


def test_matches_hand_computed_perplexity(
    tiny_eval_model: EvalModel,
    run_context: RunContext,
    tmp_path: Path,
    hand_logprob: Callable[[EvalModel, str, str], float],
) -> None:
    items = [
        EvalItem("1", "What is the deadline?", answer_text="21 days"),
        EvalItem("2", "Who?", ["a", "b"], 1),
    ]
    texts_file = tmp_path / "texts.jsonl"
    texts_file.write_text(
        json.dumps({"text": "Appeals are heard within 21 days."}) + "\n", encoding="utf-8"
    )
    result = PerplexityEvaluator(texts=["A tenant gives notice."], texts_path=texts_file).evaluate(
        tiny_eval_model, items, run_context
    )
    pairs = [(tiny_eval_model.prompt(i.question), " " + i.reference) for i in items]
    lp = sum(hand_logprob(tiny_eval_model, c, k) for c, k in pairs)
    n = sum(len(encode_pair(tiny_eval_model.tokenizer, c, k)[1]) for c, k in pairs)
    assert result["tokens"] == n
    assert result["perplexity"] == pytest.approx(math.exp(-lp / n), rel=1e-4)
    texts = ["A tenant gives notice.", "Appeals are heard within 21 days."]
    lp_t = sum(hand_logprob(tiny_eval_model, "", t) for t in texts)
    n_t = sum(len(encode_pair(tiny_eval_model.tokenizer, "", t)[1]) for t in texts)
    assert result["text_perplexity"] == pytest.approx(math.exp(-lp_t / n_t), rel=1e-4)


def test_nothing_to_score_and_bad_texts_file(
    tiny_eval_model: EvalModel, run_context: RunContext, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="nothing to score"):
        PerplexityEvaluator().evaluate(tiny_eval_model, [], run_context)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"body": "x"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.jsonl line 1"):
        PerplexityEvaluator(texts_path=bad).evaluate(tiny_eval_model, [], run_context)
