"""Log-likelihood of continuations under a causal LM, batched and deterministic.

Shared by ``knowledge-qa`` (which choice does the model prefer), ``retention`` and
``perplexity``. The context and the continuation are tokenized separately and concatenated,
as lm-evaluation-harness does, so a choice's tokens are the same whatever the question.

Several continuations of one long context (the four choices of a question asked with retrieved
passages) share its forward pass: the context runs once, its key/value cache is repeated for
each continuation, and only the continuations' tokens run again. The scores are those of the
full sequences (same tokens, same positions, up to float rounding).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kinject.progress import inner_bar


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


#: a context at least this long (in tokens) with two or more continuations is run once and shared
SHARED_PREFIX_MIN_TOKENS = 64


def score_continuations(
    model: Any,
    tokenizer: Any,
    pairs: Sequence[tuple[str, str]],
    batch_size: int = 16,
    max_length: int | None = None,
    share_prefix: bool = True,
) -> list[ContinuationScore]:
    """Score each ``(context, continuation)`` pair; results come back in input order.

    Sequences are sorted by length so each batch wastes little padding; padding is on the right
    and masked, so a sequence's score does not depend on what it is batched with. With
    ``share_prefix``, the continuations of a long shared context reuse its key/value cache.
    """
    import torch

    encoded = [
        _truncate(*encode_pair(tokenizer, ctx, cont), max_length or _model_max_length(model))
        for ctx, cont in pairs
    ]
    results: list[ContinuationScore | None] = [None] * len(encoded)
    device = _device(model)
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, (ctx, _) in enumerate(encoded):
        groups.setdefault(tuple(ctx), []).append(i)
    share_prefix = share_prefix and _has_cache(model)
    shared = {
        key: members
        for key, members in groups.items()
        if share_prefix and len(members) > 1 and len(key) >= SHARED_PREFIX_MIN_TOKENS
    }
    rest = [i for key, members in groups.items() if key not in shared for i in members]
    order = sorted(rest, key=lambda i: -(len(encoded[i][0]) + len(encoded[i][1])))
    with torch.no_grad(), inner_bar("scoring continuations", total=len(encoded)) as bar:
        for key, members in shared.items():
            for start in range(0, len(members), batch_size):
                chunk = members[start : start + batch_size]
                for i, score in zip(
                    chunk,
                    _score_shared(model, list(key), [encoded[i][1] for i in chunk], device),
                    strict=True,
                ):
                    results[i] = score
                bar.advance(len(chunk))
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            for i, score in zip(
                batch, _score_batch(model, [encoded[i] for i in batch], device), strict=True
            ):
                results[i] = score
            bar.advance(len(batch))
    return [r for r in results if r is not None]


def _has_cache(model: Any) -> bool:
    config = getattr(model, "config", None)
    return (
        bool(getattr(config, "use_cache", False))
        and getattr(config, "is_encoder_decoder", False) is False
    )


def _score_shared(
    model: Any, ctx: list[int], conts: list[list[int]], device: Any
) -> list[ContinuationScore]:
    """Score continuations of one context: the context's forward pass runs once and its cache is
    repeated for every continuation (right-padded, masked)."""
    import torch

    prefix = model(input_ids=torch.tensor([ctx], dtype=torch.long, device=device), use_cache=True)
    # predicts each continuation's first token
    first = torch.log_softmax(prefix.logits[0, -1].float(), dim=-1).cpu()
    width = max(len(c) for c in conts)
    scores: list[ContinuationScore | None] = [None] * len(conts)
    rows = [r for r, c in enumerate(conts) if c]
    for r, cont in enumerate(conts):
        if not cont:
            scores[r] = ContinuationScore(0.0, 0, True)
    if rows:
        cache = prefix.past_key_values
        if len(rows) > 1:
            cache.batch_repeat_interleave(len(rows))
        input_ids = torch.zeros((len(rows), width), dtype=torch.long)
        attention = torch.zeros((len(rows), len(ctx) + width), dtype=torch.long)
        attention[:, : len(ctx)] = 1
        for b, r in enumerate(rows):
            input_ids[b, : len(conts[r])] = torch.tensor(conts[r], dtype=torch.long)
            attention[b, len(ctx) : len(ctx) + len(conts[r])] = 1
        positions = (
            torch.arange(len(ctx), len(ctx) + width, device=device)
            .unsqueeze(0)
            .expand(len(rows), -1)
        )
        logits = model(
            input_ids=input_ids.to(device),
            attention_mask=attention.to(device),
            past_key_values=cache,
            position_ids=positions,
            use_cache=True,
        ).logits
        for b, r in enumerate(rows):
            cont = conts[r]
            later = torch.log_softmax(logits[b, : len(cont) - 1].float(), dim=-1).cpu()
            scores[r] = _score(torch.cat([first.unsqueeze(0), later], dim=0), cont)
    return [s for s in scores if s is not None]


def _truncate(ctx: list[int], cont: list[int], limit: int) -> tuple[list[int], list[int]]:
    """Drop tokens from the left of the context when the pair is longer than the model allows."""
    overflow = len(ctx) + len(cont) - limit
    if overflow > 0:
        ctx = ctx[min(overflow, max(len(ctx) - 1, 0)) :]
        cont = cont[: limit - len(ctx)]
    return ctx, cont


def _score_batch(
    model: Any, rows: list[tuple[list[int], list[int]]], device: Any
) -> list[ContinuationScore]:
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
        scores.append(_score(torch.log_softmax(logits[r, positions].float(), dim=-1).cpu(), cont))
    return scores


def _score(row_lp: Any, cont: list[int]) -> ContinuationScore:
    """The score of ``cont`` from the log-probabilities predicting each of its tokens."""
    import torch

    targets = torch.tensor(cont, dtype=torch.long)
    token_lp = row_lp[torch.arange(len(cont)), targets]
    return ContinuationScore(
        float(token_lp.sum()), len(cont), bool((row_lp.argmax(dim=-1) == targets).all())
    )


def _device(model: Any) -> Any:
    try:
        return next(model.parameters()).device
    except (StopIteration, AttributeError):
        return "cpu"


def _model_max_length(model: Any) -> int:
    config = getattr(model, "config", None)
    return int(getattr(config, "max_position_embeddings", 0) or 2048)
