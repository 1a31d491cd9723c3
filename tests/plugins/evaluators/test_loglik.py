"""Continuation log-likelihoods: batched results equal unbatched, hand-computed ones."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kinject.evaluation import EvalModel
from kinject_plugins.evaluators.loglik import encode_pair, score_continuations


def test_scores_match_hand_computation_in_any_batch_size(
    tiny_eval_model: EvalModel, hand_logprob: Callable[[EvalModel, str, str], float]
) -> None:
    pairs = [
        ("Question: What is the rate?\nAnswer:", " 0.25 percent"),
        ("Question: Who?\nAnswer:", " the court of appeals in the harbor district"),
        ("Short", " x"),
        ("", "A text scored from its first token"),
    ]
    expected = [hand_logprob(tiny_eval_model, c, k) for c, k in pairs]
    for batch_size in (1, 3, 16):
        got = score_continuations(tiny_eval_model.model, tiny_eval_model.tokenizer, pairs, batch_size)
        assert [s.logprob for s in got] == pytest.approx(expected, abs=1e-4)
        assert all(s.n_tokens > 0 for s in got)


def test_empty_context_without_bos_moves_first_token_into_context(tiny_eval_model: EvalModel) -> None:
    tok = tiny_eval_model.tokenizer
    assert tok.bos_token_id is None
    ctx, cont = encode_pair(tok, "", "hello world")
    assert ctx + cont == tok("hello world", add_special_tokens=False)["input_ids"]
    assert len(ctx) == 1
