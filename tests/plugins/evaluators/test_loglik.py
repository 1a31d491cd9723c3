"""Continuation log-likelihoods: batched results equal unbatched, hand-computed ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
        got = score_continuations(
            tiny_eval_model.model, tiny_eval_model.tokenizer, pairs, batch_size
        )
        assert [s.logprob for s in got] == pytest.approx(expected, abs=1e-4)
        assert all(s.n_tokens > 0 for s in got)


def test_empty_context_without_bos_moves_first_token_into_context(
    tiny_eval_model: EvalModel,
) -> None:
    tok = tiny_eval_model.tokenizer
    assert tok.bos_token_id is None
    ctx, cont = encode_pair(tok, "", "hello world")
    assert ctx + cont == tok("hello world", add_special_tokens=False)["input_ids"]
    assert len(ctx) == 1


def test_a_shared_long_context_scores_like_the_full_sequences(
    tiny_eval_model: EvalModel, hand_logprob: Callable[[EvalModel, str, str], float]
) -> None:
    passages = " ".join(
        f"Passage {i}: the harbor court hears appeals within {i} days." for i in range(5)
    )
    context = f"{passages}\nQuestion: Who hears appeals?\nAnswer:"
    choices = [" the harbor court", " a jury of twelve citizens", " x", " the mayor"]
    pairs = [(context, c) for c in choices] + [("Short", " x")]
    # long enough to be shared
    assert len(encode_pair(tiny_eval_model.tokenizer, context, "")[0]) >= 64
    expected = [hand_logprob(tiny_eval_model, c, k) for c, k in pairs]
    for batch_size in (1, 3, 16):
        shared = score_continuations(
            tiny_eval_model.model, tiny_eval_model.tokenizer, pairs, batch_size
        )
        assert [s.logprob for s in shared] == pytest.approx(expected, abs=1e-4)
    full = score_continuations(
        tiny_eval_model.model, tiny_eval_model.tokenizer, pairs, 16, share_prefix=False
    )
    assert [s.greedy for s in shared] == [s.greedy for s in full]
    assert [s.n_tokens for s in shared] == [s.n_tokens for s in full]


def test_the_shared_context_runs_once(
    tiny_eval_model: EvalModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tiny_eval_model.model
    seen: list[int] = []
    forward = model.forward

    def counting(*args: Any, **kwargs: Any) -> Any:
        seen.append(int(kwargs["input_ids"].numel()))
        return forward(*args, **kwargs)

    monkeypatch.setattr(model, "forward", counting)
    context = " ".join(
        f"Passage {i}: the harbor court hears appeals within {i} days." for i in range(5)
    )
    pairs = [(context, c) for c in (" the harbor court", " a jury", " the mayor", " nobody at all")]
    score_continuations(model, tiny_eval_model.tokenizer, pairs, 16)
    shared_tokens, seen[:] = sum(seen), []
    score_continuations(model, tiny_eval_model.tokenizer, pairs, 16, share_prefix=False)
    assert shared_tokens < 0.5 * sum(seen)  # the context ran once, not four times


def test_short_contexts_shared_in_one_batch_score_like_the_full_sequences(
    tiny_eval_model: EvalModel, hand_logprob: Callable[[EvalModel, str, str], float]
) -> None:
    # contexts of different lengths batched together (left-padded), one-token and empty-ish
    # choices, groups split across batches, a context of its own, pairs in mixed order
    contexts = [
        "Question: Who?\nAnswer:",
        "Question: What is the appeal deadline in the harbor district court?\nAnswer:",
        "Question: Is a deposit refundable?\nAnswer:",
    ]
    choices = [" x", " the harbor court", " 21 days after the judgment is served", " no"]
    pairs = [(ctx, c) for c in choices for ctx in contexts] + [("Alone", " here")]
    expected = [hand_logprob(tiny_eval_model, c, k) for c, k in pairs]
    full = score_continuations(
        tiny_eval_model.model, tiny_eval_model.tokenizer, pairs, 16, share_prefix=False
    )
    for batch_size in (1, 3, 5, 16):
        shared = score_continuations(
            tiny_eval_model.model, tiny_eval_model.tokenizer, pairs, batch_size
        )
        assert [s.logprob for s in shared] == pytest.approx(expected, abs=1e-4)
        assert [s.greedy for s in shared] == [s.greedy for s in full]
        assert [s.n_tokens for s in shared] == [s.n_tokens for s in full]
