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
    the first newline.

    A row leaves the batch as soon as its answer line is complete (or it ends), so the batch
    does not keep decoding every row until its longest answer is done: most answers are a few
    tokens, and one rambling row used to cost the whole batch its full token budget.
    """
    tokenizer = model.tokenizer
    encoded = [p if isinstance(p, list) else encode_prompt(tokenizer, p) for p in prompts]
    if getattr(getattr(model.model, "config", None), "is_encoder_decoder", False):
        rows = _generate_whole_batch(model, encoded, max_new_tokens)
    else:
        rows = _decode_pruned(model, encoded, max_new_tokens)
    texts = tokenizer.batch_decode(rows, skip_special_tokens=True)
    return [first_line(t) for t in texts]


def _left_padded(encoded: Sequence[list[int]], pad_id: int) -> tuple[Any, Any]:
    import torch

    width = max(len(ids) for ids in encoded)
    input_ids = torch.full((len(encoded), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(encoded), width), dtype=torch.long)
    for row, ids in enumerate(encoded):
        input_ids[row, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
        attention[row, width - len(ids) :] = 1
    return input_ids, attention


def _decode_pruned(
    model: EvalModel, encoded: Sequence[list[int]], max_new_tokens: int
) -> list[list[int]]:
    """Greedy decoding with a KV cache from which finished rows are dropped.

    The positions are those ``generate`` gives a left-padded batch (the attention mask's
    running count), so the answers are the ones ``generate`` would give, row for row.
    """
    import torch
    from transformers import DynamicCache

    tokenizer = model.tokenizer
    module = model.model
    device = next(module.parameters()).device
    input_ids, attention = _left_padded(encoded, pad_token_id(tokenizer))
    input_ids, attention = input_ids.to(device), attention.to(device)
    positions = (attention.cumsum(-1) - 1).masked_fill(attention == 0, 0)
    ends = end_token_ids(module, tokenizer)
    cache = DynamicCache()  # filled in place by each forward
    extra = cache_argument(module, cache)
    if "logits_to_keep" in forward_parameters(module):
        extra["logits_to_keep"] = 1  # the output head on the last position only
    active = list(range(len(encoded)))
    rows: list[list[int]] = [[] for _ in encoded]
    step_ids = input_ids
    with torch.no_grad():
        for step in range(max_new_tokens):
            out = module(
                input_ids=step_ids,
                attention_mask=attention,
                position_ids=positions,
                use_cache=True,
                **extra,
            )
            chosen = out.logits[:, -1, :].argmax(dim=-1)
            keep = []
            for slot, (row, token) in enumerate(zip(active, chosen.tolist(), strict=True)):
                if token in ends:
                    continue
                rows[row].append(token)
                if not answer_line_done(tokenizer, rows[row]):
                    keep.append(slot)
            if not keep or step == max_new_tokens - 1:
                break
            if len(keep) < len(active):
                index = torch.tensor(keep, dtype=torch.long, device=device)
                cache.batch_select_indices(index)
                attention, positions, chosen = attention[index], positions[index], chosen[index]
                active = [active[slot] for slot in keep]
            step_ids = chosen.unsqueeze(-1)
            attention = torch.cat([attention, attention.new_ones((len(active), 1))], dim=-1)
            positions = positions[:, -1:] + 1
    return rows


def _generate_whole_batch(
    model: EvalModel, encoded: Sequence[list[int]], max_new_tokens: int
) -> list[list[int]]:
    """``generate`` over the whole batch, stopped when every row's answer line is complete."""
    import torch

    tokenizer = model.tokenizer
    pad_id = pad_token_id(tokenizer)
    input_ids, attention = _left_padded(encoded, pad_id)
    width = input_ids.shape[1]
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
    return [list(map(int, row)) for row in out[:, width:]]


def forward_parameters(module: Any) -> set[str]:
    """The argument names of the model's ``forward``; a PEFT wrapper's are its base model's."""
    import inspect

    names = set(inspect.signature(module.forward).parameters)
    base = getattr(module, "get_base_model", None)
    if callable(base) and base() is not module:
        names |= forward_parameters(base())
    return names


def cache_argument(module: Any, cache: Any) -> dict[str, Any]:
    """``cache`` as the keyword argument the model's ``forward`` takes it by: transformers 5
    names it ``cache``, earlier releases ``past_key_values``."""
    return {"cache" if "cache" in forward_parameters(module) else "past_key_values": cache}


def end_token_ids(module: Any, tokenizer: Any) -> set[int]:
    """The ids that end a generation: the model's generation config's EOS ids (those
    ``generate`` stops at), or the tokenizer's EOS id when the config names none."""
    ends: set[int] = set()
    config = getattr(module, "generation_config", None)
    for value in (getattr(config, "eos_token_id", None), tokenizer.eos_token_id):
        if isinstance(value, int):
            ends.add(value)
        elif isinstance(value, list | tuple):
            ends.update(int(v) for v in value)
        if ends:
            break
    return ends


def answer_line_done(tokenizer: Any, ids: Sequence[int]) -> bool:
    """Whether generated ``ids`` hold a complete answer line: a newline after non-blank text."""
    return "\n" in tokenizer.decode(ids, skip_special_tokens=True).lstrip()


class AnswerLineStop:
    """Stops a row once its answer line is complete: a newline after some non-blank text.

    Leading blank lines are allowed (some models start their answer on the next line).
    """

    def __init__(self, tokenizer: Any, prompt_width: int) -> None:
        self.tokenizer = tokenizer
        self.prompt_width = prompt_width

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        done = [
            answer_line_done(self.tokenizer, row[self.prompt_width :].tolist()) for row in input_ids
        ]
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
