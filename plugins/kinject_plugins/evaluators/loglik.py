"""Log-likelihood of continuations under a causal LM, batched and deterministic.

Shared by ``knowledge-qa`` (which choice does the model prefer), ``retention`` and
``perplexity``. The context and the continuation are tokenized separately and concatenated,
as lm-evaluation-harness does, so a choice's tokens are the same whatever the question.

Several continuations of one context (the four choices of a question) share its forward pass:
the contexts of a batch run once, left-padded, with the output head on their last position
only; their key/value cache is repeated for each continuation, and only the continuations'
tokens (all but the last, which predicts nothing) run again. The scores are those of the full
sequences (same tokens, same positions, up to float rounding).
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
SHARED_PREFIX_MIN_TOKENS = 1


def score_continuations(
    model: Any,
    tokenizer: Any,
    pairs: Sequence[tuple[str, str]],
    batch_size: int = 16,
    max_length: int | None = None,
    share_prefix: bool = True,
) -> list[ContinuationScore]:
    """Score each ``(context, continuation)`` pair; results come back in input order.

    Sequences are sorted by length so each batch wastes little padding; padding is masked, so a
    sequence's score does not depend on what it is batched with (up to float rounding). With
    ``share_prefix``, the continuations of a context reuse its key/value cache; ``batch_size``
    counts continuations.
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
    shared = [
        members
        for key, members in groups.items()
        if share_prefix and len(members) > 1 and len(key) >= SHARED_PREFIX_MIN_TOKENS
    ]
    in_shared = {i for members in shared for i in members}
    rest = [i for i in range(len(encoded)) if i not in in_shared]
    order = sorted(rest, key=lambda i: -(len(encoded[i][0]) + len(encoded[i][1])))
    with torch.no_grad(), inner_bar("scoring continuations", total=len(encoded)) as bar:
        for batch in _shared_batches(shared, encoded, batch_size):
            scored = _score_shared(
                model, [(encoded[m[0]][0], [encoded[i][1] for i in m]) for m in batch], device
            )
            for members, scores in zip(batch, scored, strict=True):
                for i, score in zip(members, scores, strict=True):
                    results[i] = score
            bar.advance(sum(len(m) for m in batch))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            for i, score in zip(
                rows, _score_batch(model, [encoded[i] for i in rows], device), strict=True
            ):
                results[i] = score
            bar.advance(len(rows))
    return [r for r in results if r is not None]


def _shared_batches(
    shared: list[list[int]], encoded: list[tuple[list[int], list[int]]], batch_size: int
) -> list[list[list[int]]]:
    """Groups of one context in batches of at most ``batch_size`` continuations (a group larger
    than that is split), contexts sorted by length so little padding runs."""
    pieces = [
        members[start : start + batch_size]
        for members in shared
        for start in range(0, len(members), batch_size)
    ]
    pieces.sort(key=lambda m: -len(encoded[m[0]][0]))
    batches: list[list[list[int]]] = []
    rows = batch_size
    for piece in pieces:
        if rows + len(piece) > batch_size:
            batches.append([])
            rows = 0
        batches[-1].append(piece)
        rows += len(piece)
    return batches


def _has_cache(model: Any) -> bool:
    config = getattr(model, "config", None)
    return (
        bool(getattr(config, "use_cache", False))
        and getattr(config, "is_encoder_decoder", False) is False
    )


def _score_shared(
    model: Any, groups: list[tuple[list[int], list[list[int]]]], device: Any
) -> list[list[ContinuationScore]]:
    """Score the continuations of several contexts: each context runs once (left-padded, the
    output head on its last position only), its cache is repeated for each continuation, and the
    continuations run after it (right-padded, masked), all but their last token."""
    import torch
    from transformers import DynamicCache

    from kinject_plugins.evaluators.generation import cache_argument

    width = max(len(ctx) for ctx, _ in groups)
    ctx_ids = torch.zeros((len(groups), width), dtype=torch.long)
    ctx_mask = torch.zeros((len(groups), width), dtype=torch.long)
    for g, (ctx, _) in enumerate(groups):
        ctx_ids[g, width - len(ctx) :] = torch.tensor(ctx, dtype=torch.long)
        ctx_mask[g, width - len(ctx) :] = 1
    positions = (ctx_mask.cumsum(-1) - 1).clamp(min=0)
    cache = DynamicCache()  # filled in place by the forward, then repeated per continuation
    prefix = model(
        input_ids=ctx_ids.to(device),
        attention_mask=ctx_mask.to(device),
        position_ids=positions.to(device),
        use_cache=True,
        logits_to_keep=1,
        **cache_argument(model, cache),
    )
    # predicts each continuation's first token
    first = torch.log_softmax(prefix.logits[:, -1].float(), dim=-1).cpu()
    rows = [
        (g, k) for g, (_, conts) in enumerate(groups) for k, c in enumerate(conts) if len(c) > 1
    ]
    later = _continuation_logprobs(model, groups, rows, cache, ctx_mask, device)
    scores: list[list[ContinuationScore]] = []
    for g, (_, conts) in enumerate(groups):
        out = []
        for k, cont in enumerate(conts):
            if not cont:
                out.append(ContinuationScore(0.0, 0, True))
                continue
            parts = [first[g].unsqueeze(0)] + ([later[(g, k)]] if (g, k) in later else [])
            out.append(_score(torch.cat(parts, dim=0), cont))
        scores.append(out)
    return scores


def _continuation_logprobs(
    model: Any,
    groups: list[tuple[list[int], list[list[int]]]],
    rows: list[tuple[int, int]],
    cache: Any,
    ctx_mask: Any,
    device: Any,
) -> dict[tuple[int, int], Any]:
    """Log-probabilities predicting tokens 2.. of each continuation ``(group, index)`` in
    ``rows``, after its context's cache."""
    import torch

    from kinject_plugins.evaluators.generation import cache_argument

    if not rows:
        return {}
    conts = [groups[g][1][k][:-1] for g, k in rows]
    cache.batch_select_indices(torch.tensor([g for g, _ in rows], device=device))
    width = max(len(c) for c in conts)
    input_ids = torch.zeros((len(rows), width), dtype=torch.long)
    cont_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for b, cont in enumerate(conts):
        input_ids[b, : len(cont)] = torch.tensor(cont, dtype=torch.long)
        cont_mask[b, : len(cont)] = 1
    index = torch.tensor([g for g, _ in rows])
    ctx_len = ctx_mask.sum(-1)[index]
    positions = ctx_len.unsqueeze(1) + torch.arange(width).unsqueeze(0)
    logits = model(
        input_ids=input_ids.to(device),
        attention_mask=torch.cat([ctx_mask[index], cont_mask], dim=1).to(device),
        position_ids=positions.to(device),
        use_cache=True,
        **cache_argument(model, cache),
    ).logits
    return {
        row: torch.log_softmax(logits[b, : len(conts[b])].float(), dim=-1).cpu()
        for b, row in enumerate(rows)
    }


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
