"""Greedy answers to eval questions, shared by the generation-based evaluators.

``rubric``, ``overlap``, ``semantic``, ``term-f1`` and ``knowledge-qa`` (exact match) all judge
the same greedy answer, so answers are cached per model: the cache key holds the prompt, the
token budget and a version stamp of the model's weights, so a model trained in place after an
evaluation is never served a stale answer.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from kinject.progress import inner_bar

if TYPE_CHECKING:
    from kinject.evaluation import EvalItem, EvalModel

_ANSWERS: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], str]] = weakref.WeakKeyDictionary()


class GenerationOptions(BaseModel):
    """Options every generation-based evaluator accepts."""

    model_config = ConfigDict(extra="forbid")

    max_new_tokens: int = Field(
        default=32, ge=1, le=1024, description="answer length budget, in tokens"
    )
    batch_size: int = Field(default=32, ge=1, description="questions generated together")


def generate_answers(
    model: EvalModel, items: Sequence[EvalItem], max_new_tokens: int = 32, batch_size: int = 32
) -> list[str]:
    """The model's greedy answer to each item's prompt: the first line, stripped."""
    prompts = [model.prompt(item.question) for item in items]
    cache = _cache_for(model.model)
    stamp = (model.label, max_new_tokens, weights_version(model.model))
    missing = [p for p in dict.fromkeys(prompts) if (stamp, p) not in cache]
    encoded = {p: encode_prompt(model.tokenizer, p) for p in missing}
    # prompts of similar length together, so a batch pads little
    missing.sort(key=lambda p: len(encoded[p]))
    with inner_bar("generating answers", total=len(missing)) as bar:
        for start in range(0, len(missing), batch_size):
            chunk = missing[start : start + batch_size]
            answers = generate_greedy(model, [encoded[p] for p in chunk], max_new_tokens)
            for prompt, answer in zip(chunk, answers, strict=True):
                cache[(stamp, prompt)] = answer
            bar.advance(len(chunk))
    return [cache[(stamp, p)] for p in prompts]


def encode_prompt(tokenizer: Any, prompt: str) -> list[int]:
    """A prompt's token ids, with the tokenizer's special prefix."""
    return list(tokenizer(prompt, add_special_tokens=True)["input_ids"])


def clear_answer_cache() -> None:
    """Forget every cached answer (they are also dropped when their model is freed)."""
    _ANSWERS.clear()


def generate_greedy(
    model: EvalModel, prompts: Sequence[str | list[int]], max_new_tokens: int
) -> list[str]:
    """Greedy continuations of ``prompts`` (texts or token ids; one batch, left-padded), cut at
    the first newline."""
    import torch

    tokenizer = model.tokenizer
    encoded = [p if isinstance(p, list) else encode_prompt(tokenizer, p) for p in prompts]
    pad_id = pad_token_id(tokenizer)
    width = max(len(ids) for ids in encoded)
    input_ids = torch.full((len(encoded), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(encoded), width), dtype=torch.long)
    for row, ids in enumerate(encoded):
        input_ids[row, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
        attention[row, width - len(ids) :] = 1
    device = next(model.model.parameters()).device
    with torch.no_grad():
        out = model.model.generate(
            input_ids=input_ids.to(device),
            attention_mask=attention.to(device),
            do_sample=False,
            max_new_tokens=max_new_tokens,
            stopping_criteria=[AnswerLineStop(tokenizer, width)],
            pad_token_id=pad_id,
        )
    texts = tokenizer.batch_decode(out[:, width:], skip_special_tokens=True)
    return [first_line(t) for t in texts]


class AnswerLineStop:
    """Stops a row once its answer line is complete: a newline after some non-blank text.

    Leading blank lines are allowed (some models start their answer on the next line).
    """

    def __init__(self, tokenizer: Any, prompt_width: int) -> None:
        self.tokenizer = tokenizer
        self.prompt_width = prompt_width

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        texts = self.tokenizer.batch_decode(
            input_ids[:, self.prompt_width :], skip_special_tokens=True
        )
        done = ["\n" in text.lstrip() for text in texts]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


def first_line(text: str) -> str:
    """The answer proper: generation up to the first newline, without surrounding spaces."""
    return text.strip().split("\n", 1)[0].strip()


def pad_token_id(tokenizer: Any) -> int:
    """The id used for padding: the tokenizer's pad token, else EOS, else 0."""
    for candidate in (tokenizer.pad_token_id, tokenizer.eos_token_id):
        if candidate is not None:
            return int(candidate)
    return 0


def weights_version(module: Any) -> tuple[int, int]:
    """(parameter count, sum of in-place version counters): changes whenever weights change."""
    params = list(module.parameters())
    return len(params), sum(int(p._version) for p in params)


def _cache_for(module: Any) -> dict[tuple[Any, ...], str]:
    try:
        return _ANSWERS.setdefault(module, {})
    except TypeError:  # not weak-referenceable: no caching
        return {}
