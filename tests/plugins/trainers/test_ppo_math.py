"""PPO maths against values worked out by hand (in the comments)."""

from __future__ import annotations

import math

import pytest
import torch

from kinject_plugins.trainers.ppo.ppo_math import (
    AdaptiveKLController,
    FixedKLController,
    clipped_policy_loss,
    clipped_value_loss,
    entropy_from_logits,
    gae_advantages,
    kl_estimate,
    logprobs_from_logits,
    masked_mean,
    masked_whiten,
    token_rewards,
)


def t(rows: list[list[float]]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


def close(actual: torch.Tensor, expected: list[list[float]]) -> None:
    torch.testing.assert_close(
        actual, torch.tensor(expected, dtype=actual.dtype), atol=1e-6, rtol=1e-6
    )


def test_gae_on_a_short_trajectory() -> None:
    # γ=1, λ=0.5; row 1: δ2 = 1 − 0.7 = 0.3, δ1 = 0.7 − 0.6 = 0.1, δ0 = 0.6 − 0.5 = 0.1
    #   A2 = 0.3, A1 = 0.1 + 0.5·0.3 = 0.25, A0 = 0.1 + 0.5·0.25 = 0.225
    # row 2 (last token is padding, its 9s must not leak): δ1 = 2 − 0.5 = 1.5, δ0 = 0.5 − 1 = −0.5
    #   A1 = 1.5, A0 = −0.5 + 0.5·1.5 = 0.25
    rewards = t([[0, 0, 1], [0, 2, 9]])
    values = t([[0.5, 0.6, 0.7], [1.0, 0.5, 9]])
    mask = t([[1, 1, 1], [1, 1, 0]])
    advantages, returns = gae_advantages(rewards, values, mask, gamma=1.0, lam=0.5)
    close(advantages, [[0.225, 0.25, 0.3], [0.25, 1.5, 0.0]])
    close(returns, [[0.725, 0.85, 1.0], [1.25, 2.0, 0.0]])


def test_gae_with_lambda_one_is_discounted_return_minus_value() -> None:
    # γ=0.9, λ=1: G0 = 0.81, G1 = 0.9, G2 = 1 -> A = G − V
    advantages, returns = gae_advantages(
        t([[0, 0, 1]]), t([[0.5, 0.6, 0.7]]), t([[1, 1, 1]]), gamma=0.9, lam=1.0
    )
    close(advantages, [[0.31, 0.30, 0.3]])
    close(returns, [[0.81, 0.9, 1.0]])


def test_whitening() -> None:
    values, mask = t([[2, 4, 6, 100]]), t([[1, 1, 1, 0]])
    # mean 4, unbiased variance (4 + 0 + 4)/2 = 4, std 2; padding stays 0
    close(masked_whiten(values, mask), [[-1, 0, 1, 0]])
    close(masked_whiten(values, mask, shift_mean=False), [[3, 4, 5, 0]])
    assert masked_mean(values, mask).item() == pytest.approx(4.0)


def test_clipped_surrogate_inside_and_outside_the_clip_range() -> None:
    # ε = 0.2; tokens: (A=+1, ρ=1.0) inside -> −1.0; (A=+1, ρ=1.5) clipped -> −1.2;
    # (A=−1, ρ=0.5) clipped -> 0.8; (A=−1, ρ=1.5) pessimistic bound keeps 1.5 (not clipped)
    ratios = t([[1.0, 1.5, 0.5, 1.5]])
    old = torch.zeros_like(ratios)
    new = ratios.log().requires_grad_(True)
    advantages = t([[1, 1, -1, -1]])
    out = clipped_policy_loss(new, old, advantages, torch.ones_like(ratios), clip_range=0.2)
    assert out.loss.item() == pytest.approx((-1.0 - 1.2 + 0.8 + 1.5) / 4)
    assert out.clip_fraction.item() == pytest.approx(0.5)
    out.loss.backward()
    assert new.grad is not None
    # d/dlogπ of −A·ρ/4 = −A·ρ/4 where unclipped; clipped tokens get no gradient
    close(new.grad, [[-0.25, 0.0, 0.0, 1.5 / 4]])


def test_no_clipping_when_policy_has_not_moved() -> None:
    logprobs = t([[-1.0, -2.0]])
    out = clipped_policy_loss(logprobs, logprobs, t([[0.5, -0.5]]), t([[1, 1]]), clip_range=0.2)
    assert out.loss.item() == pytest.approx(0.0)
    assert out.clip_fraction.item() == 0.0
    assert out.approx_kl.item() == 0.0


def test_value_clipping() -> None:
    # V_old = 1, R = 2, ε = 0.2. V=1.5 -> V_clip 1.2: max(0.25, 0.64) = 0.64 (clipped)
    # V=1.1 inside: 0.81. V=0.5 -> V_clip 0.8: max(2.25, 1.44) = 2.25 (not clipped)
    loss, fraction = clipped_value_loss(
        t([[1.5, 1.1, 0.5]]), t([[1, 1, 1]]), t([[2, 2, 2]]), t([[1, 1, 1]]), 0.2
    )
    assert loss.item() == pytest.approx(0.5 * (0.64 + 0.81 + 2.25) / 3)
    assert fraction.item() == pytest.approx(1 / 3)


def test_kl_estimators() -> None:
    logp, ref = t([[math.log(0.5)]]), t([[math.log(0.25)]])
    assert kl_estimate(logp, ref, "k1").item() == pytest.approx(math.log(2))
    # k3: r = q/p = 0.5 -> (r − 1) − log r = −0.5 + log 2
    assert kl_estimate(logp, ref, "k3").item() == pytest.approx(-0.5 + math.log(2))
    assert kl_estimate(ref, logp, "abs").item() == pytest.approx(math.log(2))
    assert kl_estimate(logp, ref, "mse").item() == pytest.approx(0.5 * math.log(2) ** 2)
    assert kl_estimate(logp, logp, "k3").item() == 0.0
    with pytest.raises(ValueError, match="unknown KL estimator"):
        kl_estimate(logp, ref, "k9")


def test_token_rewards_put_the_score_on_the_last_real_token() -> None:
    rewards = token_rewards(t([2.0]).flatten(), t([[0.1, 0.2, 0.3]]), t([[1, 1, 0]]), kl_coef=0.5)
    close(rewards, [[-0.05, 1.9, 0.0]])


def test_kl_controllers() -> None:
    adaptive = AdaptiveKLController(0.1, target=6.0, horizon=10_000)
    # KL 12 is far above target: the error is clipped to 0.2 -> β·(1 + 0.2·100/10000)
    assert adaptive.update(12.0, 100) == pytest.approx(0.1 * 1.002)
    # KL 3 is below target: error −0.5 clipped to −0.2
    assert adaptive.update(3.0, 100) == pytest.approx(0.1 * 1.002 * 0.998)
    assert FixedKLController(0.05).update(100.0, 8) == 0.05


def test_entropy_and_logprobs_from_logits() -> None:
    uniform = torch.zeros(1, 2, 4)
    close(entropy_from_logits(uniform), [[math.log(4)] * 2])
    peaked = torch.tensor([[[0.0, math.log(3.0)]]])  # probabilities 1/4, 3/4
    assert logprobs_from_logits(peaked, torch.tensor([[1]])).item() == pytest.approx(math.log(0.75))
