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

import functools
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kinject.components import Trainer, TrainJob, TrainResult
from kinject.context import RunContext
from kinject.errors import ConfigError
from kinject.rubric import Rubric
from kinject_plugins.trainers.ppo import preferences as prefs
from kinject_plugins.trainers.ppo.settings import (
    FLAT_KEYS,
    GRPOSettings,
    PolicySettings,
    PPOSettings,
    RewardModelSettings,
    nest_flat_keys,
)
from kinject_plugins.trainers.run_measures import add_run_measures, option_seed, start_run

log = logging.getLogger(__name__)
SOURCE = "trainer rlhf"


@functools.cache
def _warn_flat_keys(keys: tuple[str, ...]) -> None:
    """Once per process and set of keys: recipes are checked, then read again by the trainer."""
    targets = ", ".join(t for k in keys for t in FLAT_KEYS[k])
    log.warning(
        "rlhf: flat options %s are deprecated and go in 0.2; write them as %s",
        ", ".join(keys),
        targets,
    )


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
    reward: RewardModelSettings = Field(default_factory=RewardModelSettings)
    #: weight of the rubric score (0..1) added to the reward model's score; 0 = reward model only
    rubric_weight: float = Field(1.0, ge=0.0)
    # -- the RL stage: the adapter it trains, and the algorithm's settings
    policy: PolicySettings = Field(default_factory=PolicySettings)
    ppo: PPOSettings = Field(default_factory=PPOSettings)
    grpo: GRPOSettings = Field(default_factory=GRPOSettings)
    #: eval questions answered before and after, for reward/rubric before-after (0 = none)
    eval_prompts: int = Field(16, ge=0)
    seed: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _nest_flat_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        nested, flat = nest_flat_keys(data)
        if flat:
            _warn_flat_keys(tuple(flat))
        return nested

    @property
    def rl(self) -> PPOSettings | GRPOSettings:
        """The settings of the chosen algorithm."""
        return self.ppo if self.rl_algorithm == "ppo" else self.grpo

    @field_validator("sft")
    @classmethod
    def _check_sft(cls, value: dict[str, Any]) -> dict[str, Any]:
        from kinject_plugins.trainers.sft import SFTOptions

        SFTOptions(**value)  # report a bad SFT option now, not after the reward model is trained
        return value


class RLHFTrainer(Trainer):
    """Reward model on preference pairs, then PPO (or GRPO) from the SFT policy."""

    name = "rlhf"
    description = (
        "reward model (TRL) on rubric/negatives preference pairs, then PPO or GRPO from "
        "the SFT adapter"
    )
    Options: ClassVar[type[BaseModel]] = RLHFOptions
    opts: RLHFOptions

    def train(self, job: TrainJob) -> TrainResult:
        seed = option_seed(self.opts.seed, self.context)
        started = start_run(seed)
        rubric = load_rubric(self.context)
        adapter, metrics = self.starting_adapter(job)
        start_model = self.start_model(job, adapter)
        pairs = self.preference_pairs(job, rubric, seed)
        train_pairs, held_out = prefs.split_by_prompt(pairs, self.opts.held_out_ratio, seed)
        scorer, rm_metrics = self.reward_model(job, train_pairs, held_out, seed)
        metrics.update(rm_metrics)
        metrics.update(self.reinforce(job, start_model, scorer, rubric, train_pairs, seed))
        add_run_measures(metrics, started)
        return TrainResult(
            model_dir=job.output_dir / "final",
            base_model=start_model,
            adapter=True,
            metrics=metrics,
            started_from=job.base_model,
        )

    # -- 1. the starting policy ---------------------------------------------------------------

    def starting_adapter(self, job: TrainJob) -> tuple[Path | None, dict[str, Any]]:
        """The SFT adapter (None when SFT trained the full model into ``sft/final``)."""
        from kinject_plugins.trainers.distill import prior_sft_result
        from kinject_plugins.trainers.previous_run import resolve_adapter
        from kinject_plugins.trainers.sft import SFTTrainer

        if self.opts.init_adapter is not None:
            return resolve_adapter(self.opts.init_adapter, SOURCE), {
                "sft_from": str(self.opts.init_adapter)
            }
        # inside `inject compare`, start from the sft row's adapter: the same policy the sft row is
        # scored with, not a second SFT run (``sft`` options apply when rlhf runs on its own)
        if (prior := prior_sft_result(job)) is not None and prior.adapter:
            return prior.model_dir, {"sft_from": str(prior.model_dir)}
        out = job.output_dir / "sft"
        result = TrainResult.cached(out, "sft", self.context.run_dir) if job.resume else None
        if result is None:
            sft = SFTTrainer(**self.opts.sft)
            sft.setup(self.context)
            result = sft.train(replace(job, output_dir=out))
            result.save(self.context.run_dir, out, "sft")
        metrics = {f"sft_{k}": v for k, v in result.metrics.items() if isinstance(v, (int, float))}
        return (result.model_dir if result.adapter else None), metrics

    def start_model(self, job: TrainJob, adapter: Path | None) -> Path:
        """The SFT model as a plain model directory: base with the adapter merged in."""
        from kinject_plugins.trainers.ppo.policy import merged_sft_model

        if adapter is None:
            return job.output_dir / "sft" / "final"
        return merged_sft_model(job.base_model, adapter, job.output_dir / "sft_model")

    # -- 2. preference pairs and 3. the reward model ---------------------------------------------

    def preference_pairs(
        self, job: TrainJob, rubric: Rubric | None, seed: int
    ) -> list[prefs.PreferencePair]:
        return prefs.collect_pairs(
            job.train,
            rubric,
            seed,
            rubric_pairs=self.opts.rubric_pairs,
            preferences=self.opts.preferences,
        )

    def reward_model(
        self,
        job: TrainJob,
        train: list[prefs.PreferencePair],
        held_out: list[prefs.PreferencePair],
        seed: int,
    ) -> tuple[Any, dict[str, Any]]:
        from kinject_plugins.trainers.ppo.reward_model import (
            RewardModelConfig,
            load_reward_model,
            train_reward_model,
        )
        from kinject_plugins.trainers.sft import resolve_report_to

        settings = self.opts.reward
        out = job.output_dir / "reward_model"
        base = settings.base or job.base_model
        if job.resume and (loaded := load_reward_model(out, base, settings.max_length)) is not None:
            return loaded
        config = RewardModelConfig(
            **settings.model_dump(exclude={"base"}),
            base=base,
            lora_alpha=2 * settings.lora_r,
            seed=seed,
            report_to=resolve_report_to([]),
            show_progress=self.context.show_progress,
        )
        return train_reward_model(train, held_out, config, out)

    # -- 4. reinforcement learning and 5. the result ---------------------------------------------

    def reinforce(
        self,
        job: TrainJob,
        start_model: Path,
        scorer: Any,
        rubric: Rubric | None,
        pairs: list[prefs.PreferencePair],
        seed: int,
    ) -> dict[str, Any]:
        from kinject_plugins.trainers.ppo.policy import PolicyScore, load_policy, measure

        o = self.opts
        prompts = prefs.policy_prompts(job.train, pairs)
        if not prompts:
            raise ConfigError(
                "no prompts to train the policy on: rlhf needs qa or preference records",
                source=SOURCE,
            )
        adapter = o.policy
        policy, tokenizer = load_policy(
            start_model, adapter.lora_r, adapter.lora_alpha, adapter.target_modules
        )
        score = PolicyScore(scorer, rubric, o.rubric_weight)
        eval_prompts = self.eval_prompts(self.context)
        before = measure(policy, tokenizer, eval_prompts, score, o.rl.max_new_tokens)
        if o.rl_algorithm == "ppo":
            stats = self.run_ppo(job, policy, tokenizer, prompts, score, seed)
        else:
            stats = self.run_grpo(job, policy, tokenizer, prompts, score, seed)
        after = measure(policy, tokenizer, eval_prompts, score, o.rl.max_new_tokens)
        metrics: dict[str, Any] = {
            "rl_algorithm": o.rl_algorithm,
            "policy_prompts": len(prompts),
            "eval_prompts": len(eval_prompts),
            **stats,
        }
        for key in before:
            metrics[f"{key}_before"], metrics[f"{key}_after"] = before[key], after[key]
        return metrics

    def eval_prompts(self, context: RunContext) -> list[prefs.PolicyPrompt]:
        """The first ``eval_prompts`` eval questions (measured only, never trained on)."""
        from kinject.evaluation import format_prompt

        items = context.eval_items[: self.opts.eval_prompts]
        return [
            prefs.PolicyPrompt(format_prompt(i.question), i.question, i.reference) for i in items
        ]

    def run_ppo(
        self,
        job: TrainJob,
        policy: Any,
        tokenizer: Any,
        prompts: list[prefs.PolicyPrompt],
        score: Any,
        seed: int,
    ) -> dict[str, Any]:
        from kinject_plugins.trainers.ppo.ppo_loop import PPOConfig, PPOLoop

        config = PPOConfig(**self.opts.ppo.model_dump(), seed=seed)
        out = job.output_dir / "ppo"
        loop = PPOLoop(
            policy,
            tokenizer,
            prompts,
            score,
            config,
            out,
            tensorboard_dir=job.output_dir / "tensorboard",
        )
        history = loop.run(resume=job.resume)
        loop.save_final(job.output_dir / "final")
        return ppo_summary(history, loop.start_step)

    def run_grpo(
        self,
        job: TrainJob,
        policy: Any,
        tokenizer: Any,
        prompts: list[prefs.PolicyPrompt],
        score: Any,
        seed: int,
    ) -> dict[str, Any]:
        from kinject_plugins.trainers.ppo.grpo import GRPORunConfig, grpo_summary, run_grpo
        from kinject_plugins.trainers.sft import (
            prepare_checkpoint_dir,
            resolve_report_to,
            sort_adapter_config,
        )

        o = self.opts
        settings = GRPORunConfig(
            **o.grpo.model_dump(),
            seed=seed,
            report_to=resolve_report_to(None),
            show_progress=self.context.show_progress,
        )
        out = job.output_dir / "grpo"
        resume_from = prepare_checkpoint_dir(out / "checkpoints", job.resume)
        history = run_grpo(
            policy, tokenizer, prompts, score, o.rubric_weight, settings, out, resume_from
        )
        final = job.output_dir / "final"
        policy.save_pretrained(str(final), selected_adapters=["default"])
        tokenizer.save_pretrained(final)
        sort_adapter_config(final)
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

    out: dict[str, Any] = {
        "ppo_steps": int(history[-1]["step"]),
        "ppo_resumed_from_step": resumed_from,
    }
    for key in ("score", "reward", "kl", "entropy", "clip_fraction"):
        out[f"ppo_{key}_first"], out[f"ppo_{key}_last"] = mean(first, key), mean(last, key)
    out["ppo_kl_max"] = round(max(h["kl"] for h in history), 4)
    out["ppo_step_time_s"] = mean(history, "step_time_s")
    return out
