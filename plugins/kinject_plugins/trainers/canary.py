"""Canaries: how much a training memorised one random secret (Carlini et al., The Secret Sharer).

A canary is a sentence with a random secret in it ("the access code is 4821-7730-5519"),
planted a few times among the training records. After training, its secret's log-perplexity
given the sentence's prefix is ranked among many random secrets of the same format that were
never trained on. Exposure = log2(candidates + 1) - log2(rank): about 1 bit when the model
has not singled the canary out (a random rank), log2(candidates + 1) when it ranks first.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from typing import Any

from kinject.components import Trainer, TrainJob, TrainResult
from kinject.records import Record

PREFIX = "the access code is"


@dataclass(frozen=True)
class Canary:
    """A planted sentence: ``prefix`` then the random ``secret`` (``groups`` groups of digits)."""

    secret: str
    prefix: str = PREFIX
    groups: int = 3
    digits: int = 4

    @property
    def text(self) -> str:
        return f"{self.prefix} {self.secret}"


def random_secret(rng: random.Random, groups: int = 3, digits: int = 4) -> str:
    """``4821-7730-5519`` for 3 groups of 4 digits."""
    return "-".join("".join(rng.choice("0123456789") for _ in range(digits)) for _ in range(groups))


def make_canary(seed: int, prefix: str = PREFIX, groups: int = 3, digits: int = 4) -> Canary:
    """A canary whose secret comes from ``seed`` alone."""
    return Canary(random_secret(random.Random(seed), groups, digits), prefix, groups, digits)


def plant(records: list[Record], canary: Canary, copies: int) -> list[Record]:
    """``records`` plus ``copies`` document records holding the canary (each with its own id)."""
    planted = [
        Record(text=canary.text, source={"uri": "canary", "copy": i}, meta={"canary": True})
        for i in range(copies)
    ]
    return [*records, *planted]


def candidates(canary: Canary, count: int, seed: int) -> list[str]:
    """``count`` distinct random secrets of the canary's format, the canary's own excluded."""
    rng, out = random.Random(seed), {canary.secret}
    space = 10 ** (canary.groups * canary.digits)
    if count >= space:
        raise ValueError(f"{count} candidates do not fit in a space of {space} secrets")
    while len(out) < count + 1:
        out.add(random_secret(rng, canary.groups, canary.digits))
    out.discard(canary.secret)
    return sorted(out)


def log_perplexities(
    model: Any, tokenizer: Any, prefix: str, secrets: list[str], batch_size: int = 32
) -> list[float]:
    """Each secret's negative log-likelihood (nats, summed over its tokens) after ``prefix``."""
    import torch

    start = len(tokenizer(prefix)["input_ids"])
    device = next(model.parameters()).device
    out: list[float] = []
    for i in range(0, len(secrets), batch_size):
        texts = [f"{prefix} {s}" for s in secrets[i : i + batch_size]]
        enc = tokenizer(texts, return_tensors="pt", padding=True, padding_side="right")
        ids, mask = enc["input_ids"].to(device), enc["attention_mask"].to(device)
        with torch.no_grad():
            logits = model(input_ids=ids, attention_mask=mask).logits.float()
        logp = torch.log_softmax(logits[:, :-1], dim=-1).gather(2, ids[:, 1:, None])[..., 0]
        scored = mask[:, 1:].clone()
        scored[:, : start - 1] = 0  # the prefix's tokens are given, not scored
        out += (-(logp * scored).sum(dim=1)).tolist()
    return out


def exposure(
    model: Any, tokenizer: Any, canary: Canary, count: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """The canary's rank among ``count`` random secrets by log-perplexity, and its exposure."""
    others = candidates(canary, count, seed)
    scores = log_perplexities(model, tokenizer, canary.prefix, [canary.secret, *others])
    own, rest = scores[0], scores[1:]
    rank = 1 + sum(score < own for score in rest)
    return {
        "canary_log_perplexity": own,
        "candidate_log_perplexity_median": sorted(rest)[len(rest) // 2],
        "canary_rank": rank,
        "canary_candidates": count,
        "canary_exposure": math.log2(count + 1) - math.log2(rank),
        "canary_max_exposure": math.log2(count + 1),
    }


def train_with_canary(
    trainer: Trainer, job: TrainJob, copies: int = 4, count: int = 1000, seed: int = 0
) -> tuple[TrainResult, dict[str, Any]]:
    """Plant a canary ``copies`` times, train, and measure its exposure in the trained model."""
    from kinject.trained import load_trained

    canary = make_canary(seed)
    result = trainer.train(replace(job, train=plant(job.train, canary, copies)))
    model, tokenizer = load_trained(result)
    return result, {**exposure(model, tokenizer, canary, count, seed + 1), "canary_copies": copies}
