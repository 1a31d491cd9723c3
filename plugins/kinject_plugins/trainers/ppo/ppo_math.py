"""The mathematics of PPO on token sequences, as pure torch functions.

Shapes: ``[batch, T]`` over the response tokens of each rollout, right-padded; ``mask`` is 1 on
real response tokens and 0 on padding. Nothing here knows about models or tokenizers, so every
function is tested against values worked out by hand.

References: Schulman et al. 2017 (clipped surrogate), Schulman et al. 2016 (GAE), Ziegler et al.
2019 (KL-penalised rewards, adaptive KL coefficient).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

KL_ESTIMATORS = ("k1", "k3", "abs", "mse")


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` where ``mask`` is 1 (0 when the mask is empty)."""
    return (values * mask).sum() / mask.sum().clamp(min=1)


def masked_var(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Unbiased variance (Bessel's correction) of ``values`` where ``mask`` is 1."""
    mean = masked_mean(values, mask)
    count = mask.sum()
    squares = ((values - mean) ** 2 * mask).sum()
    return squares / (count - 1).clamp(min=1)


def masked_whiten(
    values: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True
) -> torch.Tensor:
    """Normalise ``values`` to unit variance (and zero mean unless ``shift_mean`` is False).

    Rewards are whitened without shifting the mean, so a good rollout stays positive;
    advantages are shifted as well. Padding stays 0.
    """
    mean, var = masked_mean(values, mask), masked_var(values, mask)
    whitened = (values - mean) * torch.rsqrt(var + 1e-8)
    if not shift_mean:
        whitened = whitened + mean
    return whitened * mask


def kl_estimate(
    logprobs: torch.Tensor, ref_logprobs: torch.Tensor, estimator: str = "k1"
) -> torch.Tensor:
    """Per-token estimate of KL(policy ‖ reference) from the sampled tokens' log-probabilities.

    ``k1`` is log p − log q (unbiased, can be negative per token); ``k3`` is (q/p − 1) − log(q/p)
    (unbiased and never negative); ``abs`` and ``mse`` (½ (log p − log q)²) are biased but tame.
    """
    diff = logprobs - ref_logprobs
    if estimator == "k1":
        return diff
    if estimator == "k3":
        log_ratio = -diff
        return torch.expm1(log_ratio) - log_ratio
    if estimator == "abs":
        return diff.abs()
    if estimator == "mse":
        return 0.5 * diff**2
    raise ValueError(
        f"unknown KL estimator {estimator!r}; expected one of {', '.join(KL_ESTIMATORS)}"
    )


def token_rewards(
    scores: torch.Tensor, kl: torch.Tensor, mask: torch.Tensor, kl_coef: float
) -> torch.Tensor:
    """Per-token rewards: −β·KL on every response token, plus the sequence's score on its last
    one.
    """
    rewards = -kl_coef * kl * mask
    last = (mask.sum(dim=1).long() - 1).clamp(min=0)
    rows = torch.arange(rewards.shape[0], device=rewards.device)
    rewards[rows, last] += scores
    return rewards


def gae_advantages(
    rewards: torch.Tensor,
    values: torch.Tensor,
    mask: torch.Tensor,
    gamma: float = 1.0,
    lam: float = 0.95,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimates and returns (advantages + values).

    δ_t = r_t + γ·V_{t+1} − V_t and A_t = δ_t + γλ·A_{t+1}; the value after the last response
    token is 0 (the episode ends there). Rewards and values on padding are zeroed first, which
    makes the same backward recursion correct for every row of a right-padded batch.
    """
    rewards, values = rewards * mask, values * mask
    steps = rewards.shape[1]
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(steps)):
        next_value = values[:, t + 1] if t + 1 < steps else torch.zeros_like(running)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        running = delta + gamma * lam * running
        advantages[:, t] = running
    advantages = advantages * mask
    return advantages, (advantages + values) * mask


@dataclass
class PolicyLoss:
    """The clipped surrogate loss and what it did."""

    loss: torch.Tensor
    clip_fraction: torch.Tensor
    approx_kl: torch.Tensor


def clipped_policy_loss(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip_range: float,
) -> PolicyLoss:
    """PPO's clipped surrogate: mean of max(−A·ρ, −A·clip(ρ, 1−ε, 1+ε)), ρ = π/π_old.

    ``clip_fraction`` is the share of tokens where the clipped term was the larger (the gradient
    was cut); ``approx_kl`` is ½·mean((log π − log π_old)²), how far this update moved.
    """
    log_ratio = logprobs - old_logprobs
    ratio = torch.exp(log_ratio)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - clip_range, 1.0 + clip_range)
    loss = masked_mean(torch.maximum(unclipped, clipped), mask)
    clip_fraction = masked_mean((clipped > unclipped).float(), mask)
    approx_kl = 0.5 * masked_mean(log_ratio**2, mask)
    return PolicyLoss(loss, clip_fraction.detach(), approx_kl.detach())


def clipped_value_loss(
    values: torch.Tensor,
    old_values: torch.Tensor,
    returns: torch.Tensor,
    mask: torch.Tensor,
    clip_range: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """½·mean(max((V − R)², (V_clip − R)²)), V_clip = V_old + clip(V − V_old, ±ε); and the clip
    fraction.
    """
    clipped_values = old_values + torch.clamp(values - old_values, -clip_range, clip_range)
    unclipped_loss = (values - returns) ** 2
    clipped_loss = (clipped_values - returns) ** 2
    loss = 0.5 * masked_mean(torch.maximum(unclipped_loss, clipped_loss), mask)
    fraction = masked_mean((clipped_loss > unclipped_loss).float(), mask)
    return loss, fraction.detach()


def entropy_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of each position's next-token distribution: logsumexp(z) − Σ softmax(z)·z."""
    probs = torch.softmax(logits, dim=-1)
    return torch.logsumexp(logits, dim=-1) - (probs * logits).sum(dim=-1)


def logprobs_from_logits(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """log π(token) at each position, from logits ``[B, T, V]`` and tokens ``[B, T]``."""
    return torch.log_softmax(logits, dim=-1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)


class AdaptiveKLController:
    """Ziegler et al.'s β schedule: push the measured KL towards ``target`` over ``horizon``
    samples.

    β ← β·(1 + clip(KL/target − 1, −0.2, 0.2)·n/horizon), where n is the samples in the batch.
    """

    def __init__(self, init_kl_coef: float, target: float, horizon: int) -> None:
        self.value = init_kl_coef
        self.target = target
        self.horizon = horizon

    def update(self, current_kl: float, n_samples: int) -> float:
        error = min(max(current_kl / self.target - 1.0, -0.2), 0.2)
        self.value *= 1.0 + error * n_samples / self.horizon
        return self.value


class FixedKLController:
    """A constant β (the same interface as :class:`AdaptiveKLController`)."""

    def __init__(self, kl_coef: float) -> None:
        self.value = kl_coef

    def update(self, current_kl: float, n_samples: int) -> float:
        return self.value
