"""How a preference-trained policy ranks pairs it was not trained on.

The implicit reward of an answer is ``β · (log π(answer | prompt) − log π_ref(answer | prompt))``
summed over the answer's tokens and its eos, where ``π_ref`` is the same model with its LoRA
adapter disabled: the policy the training started from. A pair is ranked right when the chosen
answer's reward is above the rejected one's. Before training every reward is 0 (the fresh adapter
is zero), so the figures measure only what the preference training changed.

Answers are tokenized as TRL's preference trainers do: the answer starts where the tokens of the
prompt alone and of prompt + answer stop agreeing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kinject.stats import wilson_interval
from kinject_plugins.trainers.ppo.preferences import PreferencePair


@dataclass(frozen=True)
class PairScores:
    """Summed answer log-probabilities of each pair, under the policy and under the reference."""

    policy_chosen: list[float]
    policy_rejected: list[float]
    reference_chosen: list[float]
    reference_rejected: list[float]

    def margins(self, beta: float) -> list[float]:
        """Reward of the chosen answer minus reward of the rejected one, per pair."""
        rows = zip(
            self.policy_chosen,
            self.policy_rejected,
            self.reference_chosen,
            self.reference_rejected,
            strict=True,
        )
        return [beta * ((pc - rc) - (pr - rr)) for pc, pr, rc, rr in rows]


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def answer_tokens(
    tokenizer: Any, prompt: str, answer: str, max_length: int
) -> tuple[list[int], int]:
    """Token ids of prompt + answer + eos (cut at ``max_length``) and where the answer starts."""
    eos = tokenizer.eos_token or ""
    text = prompt + answer if answer.endswith(eos) else prompt + answer + eos
    ids = tokenizer(text)["input_ids"]
    start = _common_prefix(tokenizer(prompt)["input_ids"], ids)
    return ids[:max_length], start


def answer_logps(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    answers: Sequence[str],
    max_length: int = 512,
    batch_size: int = 8,
) -> list[float]:
    """The summed log-probability of each answer after its prompt."""
    import torch

    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    out: list[float] = []
    rows = [
        answer_tokens(tokenizer, p, a, max_length) for p, a in zip(prompts, answers, strict=True)
    ]
    for first in range(0, len(rows), batch_size):
        batch = rows[first : first + batch_size]
        width = max(len(ids) for ids, _ in batch)
        input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, (ids, _) in enumerate(batch):
            input_ids[i, : len(ids)] = torch.tensor(ids)
            mask[i, : len(ids)] = 1
        with torch.no_grad():
            logits = model(input_ids=input_ids.to(device), attention_mask=mask.to(device)).logits
        logps = torch.log_softmax(logits[:, :-1].float(), dim=-1)
        targets = input_ids[:, 1:].to(device)
        token_logps = logps.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        for i, (ids, start) in enumerate(batch):
            # position t predicts token t + 1: the answer's tokens are predicted from start - 1 on
            out.append(float(token_logps[i, max(start, 1) - 1 : len(ids) - 1].sum()))
    return out


def score_pairs(
    model: Any, tokenizer: Any, pairs: Sequence[PreferencePair], max_length: int = 512
) -> PairScores:
    """Answer log-probabilities with the adapter on (policy) and disabled (reference)."""
    prompts = [p.prompt for p in pairs]
    chosen, rejected = [p.chosen for p in pairs], [p.rejected for p in pairs]
    was_training = model.training
    model.eval()
    try:
        policy = (
            answer_logps(model, tokenizer, prompts, chosen, max_length),
            answer_logps(model, tokenizer, prompts, rejected, max_length),
        )
        with model.disable_adapter():
            reference = (
                answer_logps(model, tokenizer, prompts, chosen, max_length),
                answer_logps(model, tokenizer, prompts, rejected, max_length),
            )
    finally:
        model.train(was_training)
    return PairScores(*policy, *reference)


def preference_metrics(scores: PairScores, beta: float, prefix: str = "held_out") -> dict[str, Any]:
    """Preference accuracy (with its 95% interval), mean reward margin, and how often the
    policy and the reference give the chosen answer the higher log-probability."""
    n = len(scores.policy_chosen)
    if n == 0:
        return {f"{prefix}_pairs": 0}
    margins = scores.margins(beta)
    hits = sum(m > 0 for m in margins)
    before = sum(
        c > r for c, r in zip(scores.reference_chosen, scores.reference_rejected, strict=True)
    )
    after = sum(c > r for c, r in zip(scores.policy_chosen, scores.policy_rejected, strict=True))
    low, high = wilson_interval(hits, n)
    return {
        f"{prefix}_pairs": n,
        f"{prefix}_preference_accuracy": round(hits / n, 4),
        f"{prefix}_preference_accuracy_ci95_low": low,
        f"{prefix}_preference_accuracy_ci95_high": high,
        f"{prefix}_reward_margin": round(sum(margins) / n, 4),
        f"{prefix}_logp_accuracy_before": round(before / n, 4),
        f"{prefix}_logp_accuracy_after": round(after / n, 4),
    }
