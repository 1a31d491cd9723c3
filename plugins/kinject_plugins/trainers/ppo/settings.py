"""The ``rlhf`` trainer's option sections, one model per stage: ``policy:``, ``reward:``,
``ppo:`` and ``grpo:``. No torch here: recipes are checked without loading it.

The runtime configs (:class:`~kinject_plugins.trainers.ppo.ppo_loop.PPOConfig`, ...) extend these
with what the run supplies (seed, loggers, the resolved backbone).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class PolicySettings(BaseModel):
    """The LoRA adapter trained on the SFT model by PPO or GRPO: the ``policy:`` options."""

    model_config = ConfigDict(extra="forbid")

    lora_r: int = Field(default=16, ge=1)
    lora_alpha: int = Field(default=32, ge=1)
    target_modules: list[str] | Literal["all-linear"] = "all-linear"


class PPOSettings(BaseModel):
    """The loop's knobs: the ``rlhf`` trainer's ``ppo:`` options."""

    model_config = ConfigDict(extra="forbid")

    #: PPO iterations: one rollout batch and its update epochs each
    steps: int = Field(default=20, ge=1)
    #: answers sampled per step
    rollout_batch: int = Field(default=8, ge=1)
    minibatch_size: int = Field(default=4, ge=1)
    #: update passes over each rollout batch
    ppo_epochs: int = Field(default=2, ge=1)
    max_new_tokens: int = Field(default=32, ge=1)
    temperature: float = Field(default=1.0, gt=0.0)
    learning_rate: float = Field(default=5e-5, gt=0.0)
    clip_range: float = Field(default=0.2, gt=0.0)
    value_clip_range: float = Field(default=0.2, gt=0.0)
    vf_coef: float = Field(default=0.1, ge=0.0)
    entropy_coef: float = Field(default=0.0, ge=0.0)
    gamma: float = Field(default=1.0, gt=0.0, le=1.0)
    lam: float = Field(default=0.95, ge=0.0, le=1.0)
    #: β of the KL penalty to the reference (the start with ``adaptive_kl``)
    kl_coef: float = Field(default=0.05, ge=0.0)
    adaptive_kl: bool = False
    kl_target: float = Field(default=6.0, gt=0.0)
    kl_horizon: int = Field(default=10_000, ge=1)
    kl_estimator: Literal["k1", "k3", "abs", "mse"] = "k1"
    whiten_rewards: bool = False
    max_grad_norm: float = Field(default=1.0, gt=0.0)
    save_steps: int = Field(default=10, ge=1)
    save_total_limit: int = Field(default=2, ge=1)


class GRPOSettings(BaseModel):
    """The knobs passed on to ``trl.GRPOConfig``: the ``rlhf`` trainer's ``grpo:`` options."""

    model_config = ConfigDict(extra="forbid")

    #: optimizer steps
    steps: int = Field(default=20, ge=1)
    learning_rate: float = Field(default=5e-5, gt=0.0)
    #: answers sampled per prompt (the group whose rewards are normalised together)
    num_generations: int = Field(default=4, ge=2)
    #: prompts per optimizer step, each with ``num_generations`` answers
    prompts_per_step: int = Field(default=2, ge=1)
    max_new_tokens: int = Field(default=32, ge=1)
    temperature: float = Field(default=1.0, gt=0.0)
    kl_coef: float = Field(default=0.05, ge=0.0)
    clip_range: float = Field(default=0.2, gt=0.0)
    #: update passes over each batch of sampled answers
    iterations: int = Field(default=2, ge=1)
    save_steps: int = Field(default=10, ge=1)


class RewardModelSettings(BaseModel):
    """How to build and train the reward model: the ``rlhf`` trainer's ``reward:`` options."""

    model_config = ConfigDict(extra="forbid")

    #: backbone: None = the policy's base model; or a local model directory (e.g. an encoder)
    base: Path | None = None
    #: ``lora`` trains an adapter and the score head; ``full`` every weight
    method: Literal["lora", "full"] = "lora"
    lora_r: int = Field(default=16, ge=1)
    learning_rate: float = Field(default=2e-4, gt=0.0)
    epochs: float = Field(default=2.0, gt=0.0)
    batch_size: int = Field(default=8, ge=1)
    #: tokens of prompt plus answer the reward model reads
    max_length: int = Field(default=512, ge=8)


#: the flat keys of earlier versions -> where they live now; read until 0.2
FLAT_KEYS: dict[str, tuple[str, ...]] = {
    "reward_base": ("reward.base",),
    "reward_method": ("reward.method",),
    "reward_lora_r": ("reward.lora_r",),
    "reward_learning_rate": ("reward.learning_rate",),
    "reward_epochs": ("reward.epochs",),
    "reward_batch_size": ("reward.batch_size",),
    "max_length": ("reward.max_length",),
    "lora_r": ("policy.lora_r",),
    "lora_alpha": ("policy.lora_alpha",),
    "target_modules": ("policy.target_modules",),
    **{
        key: (f"ppo.{key}", f"grpo.{key}")
        for key in (
            "steps",
            "max_new_tokens",
            "temperature",
            "learning_rate",
            "clip_range",
            "kl_coef",
            "save_steps",
        )
    },
    **{
        key: (f"ppo.{key}",)
        for key in (
            "rollout_batch",
            "minibatch_size",
            "value_clip_range",
            "vf_coef",
            "entropy_coef",
            "gamma",
            "lam",
            "adaptive_kl",
            "kl_target",
            "kl_horizon",
            "kl_estimator",
            "whiten_rewards",
            "max_grad_norm",
        )
    },
    "ppo_epochs": ("ppo.ppo_epochs", "grpo.iterations"),
    "num_generations": ("grpo.num_generations",),
}


def nest_flat_keys(options: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``options`` with the flat keys moved into their sections, and the flat keys found.

    A key written in its section wins over the same flat key. GRPO's prompts per step were
    ``rollout_batch // num_generations``; they still are when either flat key is given.
    """
    flat = [key for key in options if key in FLAT_KEYS]
    nested = {k: v for k, v in options.items() if k not in FLAT_KEYS}
    sections = {name: dict(nested.get(name) or {}) for name in ("policy", "reward", "ppo", "grpo")}
    for key in flat:
        for target in FLAT_KEYS[key]:
            section, field = target.split(".")
            sections[section].setdefault(field, options[key])
    if {"rollout_batch", "num_generations"} & set(flat):
        batch = options.get("rollout_batch", PPOSettings().rollout_batch)
        group = options.get("num_generations", GRPOSettings().num_generations)
        sections["grpo"].setdefault("prompts_per_step", max(1, int(batch) // int(group)))
    nested.update({name: values for name, values in sections.items() if values})
    return nested, flat
