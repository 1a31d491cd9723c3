"""The PPO loop on a tiny random model: learning a preferred token with bounded KL, resume."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import torch

from kinject_plugins.trainers.ppo.ppo_loop import LOG_FILE, PPOConfig, PPOLoop
from kinject_plugins.trainers.ppo.preferences import PolicyPrompt
from kinject_plugins.trainers.ppo.rollouts import response_mask

PROMPTS = [PolicyPrompt(f"Question: case {i}?\nAnswer:", f"case {i}?", "a") for i in range(8)]
PREFERRED = set("abcdefghijklm")


def preferred_share(prompts: Sequence[PolicyPrompt], texts: Sequence[str]) -> list[float]:
    """Reward: the share of the answer's characters that are preferred letters."""
    out = []
    for text in texts:
        chars = text.replace(" ", "")
        out.append(sum(c in PREFERRED for c in chars) / max(len(chars), 1))
    return out


def make_policy(tiny_model: Path) -> tuple[Any, Any]:
    from peft import LoraConfig, get_peft_model

    from kinject.models import load_causal_lm

    torch.manual_seed(0)
    model, tokenizer = load_causal_lm(tiny_model)
    # The tiny model's random embeddings are too small for LoRA on the trunk alone to move its
    # output distribution far; a trainable output head gives the policy room to learn.
    config = LoraConfig(
        r=8,
        lora_alpha=16,
        lora_dropout=0.0,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
        modules_to_save=["lm_head"],
    )
    return get_peft_model(model, config), tokenizer


def config(**overrides: Any) -> PPOConfig:
    base: dict[str, Any] = {
        "steps": 24,
        "rollout_batch": 16,
        "minibatch_size": 8,
        "ppo_epochs": 2,
        "max_new_tokens": 4,
        "learning_rate": 5e-3,
        "kl_coef": 0.1,
        "save_steps": 100,
    }
    return PPOConfig(**{**base, **overrides})


def test_response_mask_ends_at_the_first_stop_token() -> None:
    response = torch.tensor([[5, 6, 2, 7, 2], [5, 5, 5, 5, 5], [2, 9, 9, 9, 9]])
    mask = response_mask(response, torch.tensor([2]))
    assert mask.tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]]


def test_ppo_raises_reward_with_bounded_kl(tiny_model: Path, tmp_path: Path) -> None:
    policy, tokenizer = make_policy(tiny_model)
    history = PPOLoop(
        policy,
        tokenizer,
        PROMPTS,
        preferred_share,
        config(),
        tmp_path,
        tensorboard_dir=tmp_path / "tb",
    ).run()
    scores = [h["score"] for h in history]
    first, last = sum(scores[:4]) / 4, sum(scores[-4:]) / 4
    assert last > first + 0.1, scores
    # KL to the reference (adapter disabled), in nats per 4-token answer
    assert max(h["kl"] for h in history) < 5.0
    assert all(0.0 <= h["clip_fraction"] <= 1.0 and h["entropy"] > 0 for h in history)
    assert len((tmp_path / LOG_FILE).read_text().splitlines()) == 24
    assert any((tmp_path / "tb").iterdir())
    assert (tmp_path / "checkpoints" / "checkpoint-24" / "value_head.safetensors").is_file()


def test_reference_policy_is_the_base_model(tiny_model: Path, tmp_path: Path) -> None:
    """With a zero-initialised adapter the policy equals the reference: the first KL is 0."""
    policy, tokenizer = make_policy(tiny_model)
    history = PPOLoop(policy, tokenizer, PROMPTS, preferred_share, config(steps=1), tmp_path).run()
    assert history[0]["kl"] == pytest.approx(0.0, abs=1e-5)


def adapter_state(policy: Any) -> dict[str, torch.Tensor]:
    from peft import get_peft_model_state_dict

    return {k: v.detach().clone() for k, v in get_peft_model_state_dict(policy).items()}


def test_resume_continues_exactly(tiny_model: Path, tmp_path: Path) -> None:
    policy, tokenizer = make_policy(tiny_model)
    straight = PPOLoop(
        policy, tokenizer, PROMPTS, preferred_share, config(steps=4, save_steps=2), tmp_path / "a"
    )
    straight_log = straight.run()
    expected = adapter_state(policy)

    policy, tokenizer = make_policy(tiny_model)
    PPOLoop(
        policy, tokenizer, PROMPTS, preferred_share, config(steps=2, save_steps=2), tmp_path / "b"
    ).run()
    # A checkpoint half written when the process died must be ignored and removed.
    broken = tmp_path / "b" / "checkpoints" / "checkpoint-3"
    broken.mkdir()
    (broken / "adapter_model.safetensors").write_bytes(b"")
    policy, tokenizer = make_policy(tiny_model)
    resumed = PPOLoop(
        policy, tokenizer, PROMPTS, preferred_share, config(steps=4, save_steps=2), tmp_path / "b"
    )
    resumed_log = resumed.run(resume=True)
    assert not broken.exists()
    assert [h["step"] for h in resumed_log] == [1, 2, 3, 4]
    assert [h["score"] for h in resumed_log] == pytest.approx([h["score"] for h in straight_log])
    got = adapter_state(policy)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        torch.testing.assert_close(got[key], value, atol=1e-6, rtol=1e-5)
