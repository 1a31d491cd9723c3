"""Shared greedy generation: first line only, deterministic, cached until the weights change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from kinject.evaluation import EvalItem, EvalModel
from kinject_plugins.evaluators import generation
from kinject_plugins.evaluators.generation import clear_answer_cache, first_line, generate_answers


def test_first_line_skips_leading_blank_lines() -> None:
    assert first_line("\n\n  Paris.\nMore text") == "Paris."
    assert first_line("") == ""


def test_answers_are_cached_per_model_until_weights_change(
    tiny_eval_model: EvalModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = [EvalItem("a", "What is the rate?"), EvalItem("b", "Who decides appeals?")]
    calls: list[int] = []
    original = generation._decode_pruned

    def counting_decode(model: EvalModel, encoded: list[list[int]], budget: int) -> Any:
        calls.append(len(encoded))
        return original(model, encoded, budget)

    monkeypatch.setattr(generation, "_decode_pruned", counting_decode)
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
    original = generation._decode_pruned

    def recording_decode(model: EvalModel, encoded: list[list[int]], budget: int) -> Any:
        widths.append([len(ids) for ids in encoded])
        return original(model, encoded, budget)

    monkeypatch.setattr(generation, "_decode_pruned", recording_decode)
    clear_answer_cache()
    answers = generate_answers(tiny_eval_model, items, max_new_tokens=4, batch_size=2)
    lengths = sorted(
        len(tiny_eval_model.tokenizer(tiny_eval_model.prompt(q))["input_ids"]) for q in questions
    )
    assert [w for batch in widths for w in batch] == lengths  # shortest first, in batches of 2
    assert [len(batch) for batch in widths] == [2, 2, 1]
    clear_answer_cache()
    assert generate_answers(tiny_eval_model, items, max_new_tokens=4, batch_size=1) == answers


def _stops_on_a_multiple_of_three(tokenizer: Any, ids: Any) -> bool:
    """A stand-in for a complete answer line that the random model reaches at varied lengths."""
    return ids[-1] % 3 == 0


def test_finished_rows_leave_the_batch_and_the_answers_stay_those_of_generate(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import functools

    from transformers import AutoModelForCausalLM, AutoTokenizer

    module = AutoModelForCausalLM.from_pretrained(tiny_model).eval()
    torch.manual_seed(0)
    with torch.no_grad():  # weights that give each prompt its own varied continuation
        for parameter in module.parameters():
            parameter.normal_(0, 0.5)
    tiny_eval_model = EvalModel(module, AutoTokenizer.from_pretrained(tiny_model), "varied")
    questions = ["Who?", "What is the appeal deadline in the harbor district?", "Why is it so?"]
    questions += ["Which court hears appeals?", "When?", "How long may a claim wait?"]
    encoded = [generation.encode_prompt(tiny_eval_model.tokenizer, q) for q in questions]
    monkeypatch.setattr(generation, "answer_line_done", _stops_on_a_multiple_of_three)
    original = module.forward
    rows_per_step: list[int] = []

    @functools.wraps(original)
    def recording_forward(*args: Any, **kwargs: Any) -> Any:
        rows_per_step.append(kwargs["input_ids"].shape[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(module, "forward", recording_forward)
    pruned = generation._decode_pruned(tiny_eval_model, encoded, 12)
    steps_pruned = len(rows_per_step)
    whole = generation._generate_whole_batch(tiny_eval_model, encoded, 12)
    ends = generation.end_token_ids(module, tiny_eval_model.tokenizer)
    pad = generation.pad_token_id(tiny_eval_model.tokenizer)
    for mine, theirs in zip(pruned, whole, strict=True):
        # generate pads a finished row to the batch's length; the pruned row simply ends
        cut = next((i for i, t in enumerate(theirs) if t in ends), len(theirs))
        theirs = theirs[:cut]
        kept = theirs[: len(mine)]
        assert mine == kept
        assert all(t == pad for t in theirs[len(mine) :])
    shrinking = rows_per_step[:steps_pruned]
    assert shrinking[0] == len(questions)
    assert shrinking == sorted(shrinking, reverse=True) and shrinking[-1] < len(questions)
