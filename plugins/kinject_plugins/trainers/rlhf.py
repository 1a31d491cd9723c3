"""``rlhf``: align an injected model with the domain's rubric: reward model, then PPO (or GRPO).

One run, top to bottom (every artefact under the job's output directory):

1. ``sft/``: the starting policy, trained here with the ``sft`` trainer (options ``sft:``), or a
   finished run's adapter (``init_adapter:``); merged into ``sft_model/``, the reference policy.
2. preference pairs from ``preference`` records (the ``negatives`` augmenter), the domain
   rubric (the reference answer against copies that break a rule) and ``preferences:`` (JSONL);
   a share of the prompts is held out.
3. ``reward_model/``: TRL ``RewardTrainer`` on a one-output sequence classifier (LoRA + score
   head); its pairwise accuracy on the held-out pairs is reported.
4. ``ppo/`` (``rl_algorithm: ppo``, see :mod:`kinject_plugins.trainers.ppo.ppo_loop`) or TRL's
   GRPO (``rl_algorithm: grpo``): reward = reward model + ``rubric_weight`` × rubric − β·KL to
   the SFT model (the policy's LoRA adapter disabled).
5. ``final/``: the policy adapter on ``sft_model/``; reward and rubric score of the greedy answers
   to the eval questions, before (the SFT model) and after.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kinject.components import Trainer, TrainJob, TrainResult
from kinject.context import RunContext
from kinject.errors import ConfigError
from kinject.rubric import Rubric
from kinject_plugins.trainers.ppo import preferences as prefs

log = logging.getLogger(__name__)
SOURCE = "trainer rlhf"


class RLHFOptions(BaseModel):
    """Options of the ``rlhf`` trainer (recipe key ``trainer:``)."""

    model_config = ConfigDict(extra="forbid")

    rl_algorithm: Literal["ppo", "grpo"] = "ppo"
    #: start from this adapter (an adapter folder or a finished run) instead of training SFT here
    init_adapter: Path | None = None
    #: options of the SFT stage (the ``sft`` trainer's options)
    sft: dict[str, Any] = Field(default_factory=dict)
    # -- preference data and reward model
    preferences: Path | None = None
    rubric_pairs: bool = True
    held_out_ratio: float = Field(0.2, ge=0.0, lt=1.0)
    #: reward model backbone: None = the base model; or a local model directory (e.g. an encoder)
    reward_base: Path | None = None
    reward_method: Literal["lora", "full"] = "lora"
    reward_lora_r: int = Field(16, ge=1)
    reward_learning_rate: float = Field(2e-4, gt=0.0)
    reward_epochs: float = Field(2.0, gt=0.0)
    reward_batch_size: int = Field(8, ge=1)
    max_length: int = Field(512, ge=8)
    #: weight of the rubric score (0..1) added to the reward model's score; 0 = reward model only
    rubric_weight: float = Field(1.0, ge=0.0)
    # -- the RL stage
    steps: int = Field(20, ge=1)
    rollout_batch: int = Field(8, ge=1)
    minibatch_size: int = Field(4, ge=1)
    ppo_epochs: int = Field(2, ge=1)
    max_new_tokens: int = Field(32, ge=1)
    temperature: float = Field(1.0, gt=0.0)
    learning_rate: float = Field(5e-5, gt=0.0)
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    target_modules: list[str] | Literal["all-linear"] = "all-linear"
    clip_range: float = Field(0.2, gt=0.0)
    value_clip_range: float = Field(0.2, gt=0.0)
    vf_coef: float = Field(0.1, ge=0.0)
    entropy_coef: float = Field(0.0, ge=0.0)
    gamma: float = Field(1.0, gt=0.0, le=1.0)
    lam: float = Field(0.95, ge=0.0, le=1.0)
    kl_coef: float = Field(0.05, ge=0.0)
    adaptive_kl: bool = False
    kl_target: float = Field(6.0, gt=0.0)
    kl_horizon: int = Field(10_000, ge=1)
    kl_estimator: Literal["k1", "k3", "abs", "mse"] = "k1"
    whiten_rewards: bool = False
    max_grad_norm: float = Field(1.0, gt=0.0)
    #: GRPO: answers sampled per prompt
    num_generations: int = Field(4, ge=2)
    save_steps: int = Field(10, ge=1)
    #: eval questions answered before and after, for reward/rubric before-after (0 = none)
    eval_prompts: int = Field(16, ge=0)
    seed: int | None = None

    @field_validator("sft")
    @classmethod
    def _check_sft(cls, value: dict[str, Any]) -> dict[str, Any]:
        from kinject_plugins.trainers.sft import SFTOptions

        SFTOptions(**value)  # report a bad SFT option now, not after the reward model is trained
        return value


class RLHFTrainer(Trainer):
    """Reward model on preference pairs, then PPO (or GRPO) from the SFT policy."""

    name = "rlhf"
    description = "reward model (TRL) on rubric/negatives preference pairs, then PPO or GRPO from the SFT adapter"
    Options: ClassVar[type[BaseModel]] = RLHFOptions
    opts: RLHFOptions

    def train(self, job: TrainJob) -> TrainResult:
        from transformers import set_seed

        started = time.perf_counter()
        seed = self.opts.seed if self.opts.seed is not None else job.context.seed
        set_seed(seed)
        rubric = load_rubric(job.context)
        adapter, metrics = self.starting_adapter(job)
        start_model = self.start_model(job, adapter)
        pairs = self.preference_pairs(job, rubric, seed)
        train_pairs, held_out = prefs.split_by_prompt(pairs, self.opts.held_out_ratio, seed)
        scorer, rm_metrics = self.reward_model(job, train_pairs, held_out, seed)
        metrics.update(rm_metrics)
        metrics.update(self.reinforce(job, start_model, scorer, rubric, train_pairs, seed))
        metrics["train_time_s"] = round(time.perf_counter() - started, 1)
        from kinject_plugins.trainers.sft import peak_memory_mb

        metrics["peak_memory_mb"] = round(peak_memory_mb(), 1)
        return TrainResult(model_dir=job.output_dir / "final", base_model=start_model, adapter=True, metrics=metrics,
                           started_from=job.base_model)

    # -- 1. the starting policy ---------------------------------------------------------------

    def starting_adapter(self, job: TrainJob) -> tuple[Path | None, dict[str, Any]]:
        """The SFT adapter (None when SFT trained the full model into ``sft/final``)."""
        from kinject_plugins.trainers.distill import sibling_sft_result
        from kinject_plugins.trainers.previous_run import resolve_adapter
        from kinject_plugins.trainers.sft import SFTTrainer

        if self.opts.init_adapter is not None:
            return resolve_adapter(self.opts.init_adapter, SOURCE), {"sft_from": str(self.opts.init_adapter)}
        # inside `inject compare`, start from the sft row's adapter: the same policy the sft row is
        # scored with, not a second SFT run (``sft`` options apply when rlhf runs on its own)
        if (sibling := sibling_sft_result(job)) is not None and sibling.adapter:
            return sibling.model_dir, {"sft_from": str(sibling.model_dir)}
        from kinject.pipeline import load_result, save_result

        out = job.output_dir / "sft"
        done = out / "result.json"
        if job.resume and done.is_file() and "result" in json.loads(done.read_text(encoding="utf-8")):
            result = load_result(done, job.context.run_dir)
        else:
            sft = SFTTrainer(**self.opts.sft)
            sft.setup(job.context)
            result = sft.train(replace(job, output_dir=out))
            save_result(done, result, "sft", job.context.run_dir)
        metrics = {f"sft_{k}": v for k, v in result.metrics.items() if isinstance(v, (int, float))}
        return (result.model_dir if result.adapter else None), metrics

    def start_model(self, job: TrainJob, adapter: Path | None) -> Path:
        """The SFT model as a plain model directory: base with the adapter merged in."""
        from kinject_plugins.trainers.ppo.policy import merged_sft_model

        if adapter is None:
            return job.output_dir / "sft" / "final"
        return merged_sft_model(job.base_model, adapter, job.output_dir / "sft_model")

    # -- 2. preference pairs and 3. the reward model ---------------------------------------------

    def preference_pairs(self, job: TrainJob, rubric: Rubric | None, seed: int) -> list[prefs.PreferencePair]:
        pairs = list(prefs.pairs_from_records(job.train))
        if rubric is not None and self.opts.rubric_pairs:
            pairs += prefs.pairs_from_rubric(job.train, rubric, seed)
        if self.opts.preferences is not None:
            pairs += prefs.read_pairs_file(self.opts.preferences)
        return prefs.unique(pairs)

    def reward_model(
        self, job: TrainJob, train: list[prefs.PreferencePair], held_out: list[prefs.PreferencePair], seed: int
    ) -> tuple[Any, dict[str, Any]]:
        from kinject_plugins.trainers.ppo.reward_model import (
            RewardModelConfig,
            load_reward_model,
            train_reward_model,
        )
        from kinject_plugins.trainers.sft import resolve_report_to

        o = self.opts
        out = job.output_dir / "reward_model"
        base = o.reward_base or job.base_model
        if job.resume and (loaded := load_reward_model(out, base, o.max_length)) is not None:
            return loaded
        config = RewardModelConfig(
            base=base, method=o.reward_method, lora_r=o.reward_lora_r, lora_alpha=2 * o.reward_lora_r,
            learning_rate=o.reward_learning_rate, epochs=o.reward_epochs, batch_size=o.reward_batch_size,
            max_length=o.max_length, seed=seed, report_to=resolve_report_to([]),
            show_progress=job.context.show_progress,
        )
        return train_reward_model(train, held_out, config, out)

    # -- 4. reinforcement learning and 5. the result ---------------------------------------------

    def reinforce(
        self, job: TrainJob, start_model: Path, scorer: Any, rubric: Rubric | None,
        pairs: list[prefs.PreferencePair], seed: int,
    ) -> dict[str, Any]:
        from kinject_plugins.trainers.ppo.policy import PolicyScore, load_policy, measure

        o = self.opts
        prompts = prefs.policy_prompts(job.train, pairs)
        if not prompts:
            raise ConfigError("no prompts to train the policy on: rlhf needs qa or preference records", source=SOURCE)
        policy, tokenizer = load_policy(start_model, o.lora_r, o.lora_alpha, o.target_modules)
        score = PolicyScore(scorer, rubric, o.rubric_weight)
        eval_prompts = self.eval_prompts(job.context)
        before = measure(policy, tokenizer, eval_prompts, score, o.max_new_tokens)
        if o.rl_algorithm == "ppo":
            stats = self.run_ppo(job, policy, tokenizer, prompts, score, seed)
        else:
            stats = self.run_grpo(job, policy, tokenizer, prompts, score, seed)
        after = measure(policy, tokenizer, eval_prompts, score, o.max_new_tokens)
        metrics: dict[str, Any] = {"rl_algorithm": o.rl_algorithm, "policy_prompts": len(prompts),
                                   "eval_prompts": len(eval_prompts), **stats}
        for key in before:
            metrics[f"{key}_before"], metrics[f"{key}_after"] = before[key], after[key]
        return metrics

    def eval_prompts(self, context: RunContext) -> list[prefs.PolicyPrompt]:
        """The first ``eval_prompts`` eval questions (measured only, never trained on)."""
        from kinject.evaluation import format_prompt

        items = context.eval_items[: self.opts.eval_prompts]
        return [prefs.PolicyPrompt(format_prompt(i.question), i.question, i.reference) for i in items]

    def run_ppo(self, job: TrainJob, policy: Any, tokenizer: Any, prompts: list[prefs.PolicyPrompt],
                score: Any, seed: int) -> dict[str, Any]:
        from kinject_plugins.trainers.ppo.ppo_loop import PPOConfig, PPOLoop

        o = self.opts
        config = PPOConfig(
            steps=o.steps, rollout_batch=o.rollout_batch, minibatch_size=o.minibatch_size, ppo_epochs=o.ppo_epochs,
            max_new_tokens=o.max_new_tokens, temperature=o.temperature, learning_rate=o.learning_rate,
            clip_range=o.clip_range, value_clip_range=o.value_clip_range, vf_coef=o.vf_coef,
            entropy_coef=o.entropy_coef, gamma=o.gamma, lam=o.lam, kl_coef=o.kl_coef, adaptive_kl=o.adaptive_kl,
            kl_target=o.kl_target, kl_horizon=o.kl_horizon, kl_estimator=o.kl_estimator,
            whiten_rewards=o.whiten_rewards, max_grad_norm=o.max_grad_norm, save_steps=o.save_steps, seed=seed,
        )
        out = job.output_dir / "ppo"
        loop = PPOLoop(policy, tokenizer, prompts, score, config, out, tensorboard_dir=job.output_dir / "tensorboard")
        history = loop.run(resume=job.resume)
        loop.save_final(job.output_dir / "final")
        return ppo_summary(history, loop.start_step)

    def run_grpo(self, job: TrainJob, policy: Any, tokenizer: Any, prompts: list[prefs.PolicyPrompt],
                 score: Any, seed: int) -> dict[str, Any]:
        from kinject_plugins.trainers.ppo.grpo import GRPOSettings, grpo_summary, run_grpo
        from kinject_plugins.trainers.sft import prepare_checkpoint_dir, resolve_report_to

        o = self.opts
        settings = GRPOSettings(
            steps=o.steps, learning_rate=o.learning_rate, num_generations=o.num_generations,
            prompts_per_step=max(1, o.rollout_batch // o.num_generations), max_new_tokens=o.max_new_tokens,
            temperature=o.temperature, kl_coef=o.kl_coef, clip_range=o.clip_range, iterations=o.ppo_epochs,
            save_steps=o.save_steps, seed=seed, report_to=resolve_report_to(None),
            show_progress=job.context.show_progress,
        )
        out = job.output_dir / "grpo"
        resume_from = prepare_checkpoint_dir(out / "checkpoints", job.resume)
        history = run_grpo(policy, tokenizer, prompts, score, o.rubric_weight, settings, out, resume_from)
        final = job.output_dir / "final"
        policy.save_pretrained(str(final), selected_adapters=["default"])
        tokenizer.save_pretrained(final)
        return grpo_summary(history)


def load_rubric(context: RunContext) -> Rubric | None:
    """The domain pack's rubric bound to its term list, or None without one."""
    domain = context.domain
    if domain is None or domain.rubric is None:
        return None
    return Rubric.from_dict(domain.load_rubric(), domain.load_terms(), source=str(domain.rubric))


def ppo_summary(history: list[dict[str, float]], resumed_from: int) -> dict[str, Any]:
    """Reward and KL at the start and end of PPO (means over the first and last few steps)."""
    if not history:
        return {}
    k = max(1, min(3, len(history) // 3))
    first, last = history[:k], history[-k:]

    def mean(rows: list[dict[str, float]], key: str) -> float:
        return round(sum(r[key] for r in rows) / len(rows), 4)

    out: dict[str, Any] = {"ppo_steps": int(history[-1]["step"]), "ppo_resumed_from_step": resumed_from}
    for key in ("score", "reward", "kl", "entropy", "clip_fraction"):
        out[f"ppo_{key}_first"], out[f"ppo_{key}_last"] = mean(first, key), mean(last, key)
    out["ppo_kl_max"] = round(max(h["kl"] for h in history), 4)
    out["ppo_step_time_s"] = mean(history, "step_time_s")
    return out
