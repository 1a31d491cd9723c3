"""Log-likelihood of continuations under a causal LM, batched and deterministic.

Shared by ``knowledge-qa`` (which choice does the model prefer), ``retention`` and
``perplexity``. The context and the continuation are tokenized separately and concatenated,
as lm-evaluation-harness does, so a choice's tokens are the same whatever the question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ContinuationScore:
    """How likely a continuation is after its context."""

    #: sum of the log-probabilities of the continuation's tokens (natural log)
    logprob: float
    #: number of continuation tokens scored
    n_tokens: int
    #: True when every continuation token is the model's argmax (greedy) prediction
    greedy: bool


def encode_pair(tokenizer: Any, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """Token ids of ``context`` (with the tokenizer's special prefix) and of ``continuation``.

    With an empty context the sequence starts at the BOS token when there is one; otherwise the
    continuation's first token becomes the context, since nothing can predict it.
    """
    ctx = list(tokenizer(context, add_special_tokens=True)["input_ids"]) if context else []
    cont = list(tokenizer(continuation, add_special_tokens=False)["input_ids"])
    if not ctx:
        bos = getattr(tokenizer, "bos_token_id", None)
        if bos is not None:
            ctx = [bos]
        elif cont:
            ctx, cont = cont[:1], cont[1:]
    return ctx, cont


def score_continuations(
    model: Any,
    tokenizer: Any,
    pairs: Sequence[tuple[str, str]],
    batch_size: int = 16,
    max_length: int | None = None,
) -> list[ContinuationScore]:
    """Score each ``(context, continuation)`` pair; results come back in input order.

    Sequences are sorted by length so each batch wastes little padding; padding is on the right
    and masked, so a sequence's score does not depend on what it is batched with.
    """
    import torch

    encoded = [encode_pair(tokenizer, ctx, cont) for ctx, cont in pairs]
    limit = max_length or _model_max_length(model)
    order = sorted(range(len(encoded)), key=lambda i: -(len(encoded[i][0]) + len(encoded[i][1])))
    results: list[ContinuationScore | None] = [None] * len(encoded)
    device = _device(model)
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            rows = [_truncate(*encoded[i], limit) for i in batch]
            for i, score in zip(batch, _score_batch(model, rows, device), strict=True):
                results[i] = score
    return [r for r in results if r is not None]


def _truncate(ctx: list[int], cont: list[int], limit: int) -> tuple[list[int], list[int]]:
    """Drop tokens from the left of the context when the pair is longer than the model allows."""
    overflow = len(ctx) + len(cont) - limit
    if overflow > 0:
        ctx = ctx[min(overflow, max(len(ctx) - 1, 0)) :]
        cont = cont[: limit - len(ctx)]
    return ctx, cont


def _score_batch(model: Any, rows: list[tuple[list[int], list[int]]], device: Any) -> list[ContinuationScore]:
    import torch

    width = max(len(c) + len(k) for c, k in rows)
    input_ids = torch.zeros((len(rows), width), dtype=torch.long)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    for r, (ctx, cont) in enumerate(rows):
        ids = ctx + cont
        input_ids[r, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        attention[r, : len(ids)] = 1
    logits = model(input_ids=input_ids.to(device), attention_mask=attention.to(device)).logits
    scores: list[ContinuationScore] = []
    for r, (ctx, cont) in enumerate(rows):
        if not cont:
            scores.append(ContinuationScore(0.0, 0, True))
            continue
        # logits at position t predict token t + 1; normalise only the rows we need
        positions = torch.arange(len(ctx) - 1, len(ctx) + len(cont) - 1, device=logits.device)
        row_lp = torch.log_softmax(logits[r, positions].float(), dim=-1).cpu()
        targets = torch.tensor(cont, dtype=torch.long)
        token_lp = row_lp[torch.arange(len(cont)), targets]
        greedy = bool((row_lp.argmax(dim=-1) == targets).all())
        scores.append(ContinuationScore(float(token_lp.sum()), len(cont), greedy))
    return scores


def _device(model: Any) -> Any:
    try:
        return next(model.parameters()).device
    except (StopIteration, AttributeError):
        return "cpu"


def _model_max_length(model: Any) -> int:
    config = getattr(model, "config", None)
    return int(getattr(config, "max_position_embeddings", 0) or 2048)
