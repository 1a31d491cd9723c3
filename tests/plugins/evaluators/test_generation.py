"""Shared greedy generation: first line only, deterministic, cached until the weights change."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from kinject.evaluation import EvalItem, EvalModel
from kinject_plugins.evaluators.generation import clear_answer_cache, first_line, generate_answers


def test_first_line_skips_leading_blank_lines() -> None:
    assert first_line("\n\n  Paris.\nMore text") == "Paris."
    assert first_line("") == ""


def test_answers_are_cached_per_model_until_weights_change(
    tiny_eval_model: EvalModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = [EvalItem("a", "What is the rate?"), EvalItem("b", "Who decides appeals?")]
    calls: list[int] = []
    original = tiny_eval_model.model.generate

    def counting_generate(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["input_ids"].shape[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(tiny_eval_model.model, "generate", counting_generate)
    clear_answer_cache()
    first = generate_answers(tiny_eval_model, items, max_new_tokens=5, batch_size=1)
    assert calls == [1, 1]
    assert all("\n" not in answer for answer in first)
    assert generate_answers(tiny_eval_model, items[::-1], max_new_tokens=5) == first[::-1]
    assert calls == [1, 1]  # served from the cache
    # batching does not change greedy answers
    assert generate_answers(tiny_eval_model, items, max_new_tokens=6, batch_size=2)[0].startswith(
        first[0]
    )
    calls.clear()
    with torch.no_grad():
        next(tiny_eval_model.model.parameters()).add_(0.0)  # an in-place update, as training does
    assert generate_answers(tiny_eval_model, items, max_new_tokens=5) == first
    assert calls == [2]


def test_prompts_are_batched_by_length(
    tiny_eval_model: EvalModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    questions = ["Who?", "What is the appeal deadline in the harbor district?", "Why?", "When?"]
    questions += ["Which court hears appeals from the harbor district and the city?"]
    items = [EvalItem(str(i), q) for i, q in enumerate(questions)]
    widths: list[list[int]] = []
    original = tiny_eval_model.model.generate

    def recording_generate(*args: Any, **kwargs: Any) -> Any:
        widths.append(kwargs["attention_mask"].sum(dim=1).tolist())
        return original(*args, **kwargs)

    monkeypatch.setattr(tiny_eval_model.model, "generate", recording_generate)
    clear_answer_cache()
    answers = generate_answers(tiny_eval_model, items, max_new_tokens=4, batch_size=2)
    lengths = sorted(
        len(tiny_eval_model.tokenizer(tiny_eval_model.prompt(q))["input_ids"]) for q in questions
    )
    assert [w for batch in widths for w in batch] == lengths  # shortest first, in batches of 2
    assert [len(batch) for batch in widths] == [2, 2, 1]
    clear_answer_cache()
    assert generate_answers(tiny_eval_model, items, max_new_tokens=4, batch_size=1) == answers
