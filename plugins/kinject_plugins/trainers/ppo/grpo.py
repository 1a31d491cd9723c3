"""GRPO through TRL's ``GRPOTrainer``: groups of sampled answers per prompt, rewards
normalised within each group (no value head), KL to the reference via TRL.

The reward functions are the reward model and the rubric (weighted by ``rubric_weight``); both
score the first line of each completion, the answer line evaluators read.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kinject_plugins.trainers.ppo.policy import PolicyScore
from kinject_plugins.trainers.ppo.preferences import PolicyPrompt
from kinject_plugins.trainers.ppo.settings import GRPOSettings


class GRPORunConfig(GRPOSettings):
    """What :func:`run_grpo` reads: the settings plus the run's seed, loggers and console."""

    seed: int = 0
    report_to: list[str] | str = "none"
    show_progress: bool = False


def reward_functions(score: PolicyScore, rubric_weight: float) -> tuple[list[Any], list[float]]:
    """TRL reward callables (named ``reward_model`` and ``rubric``) and their weights."""

    def prompts_of(kwargs: dict[str, Any], n: int) -> list[PolicyPrompt]:
        return [
            PolicyPrompt(kwargs["prompt_text"][i], kwargs["question"][i], kwargs["reference"][i])
            for i in range(n)
        ]

    def reward_model(prompts: list[str], completions: list[str], **kwargs: Any) -> list[float]:
        return score.reward_model(
            prompts_of(kwargs, len(completions)), [first_line(c) for c in completions]
        )

    def rubric(prompts: list[str], completions: list[str], **kwargs: Any) -> list[float]:
        return score.rubric_scores(
            prompts_of(kwargs, len(completions)), [first_line(c) for c in completions]
        )

    funcs: list[Any] = [reward_model]
    weights = [1.0]
    if score.rubric is not None and rubric_weight:
        funcs.append(rubric)
        weights.append(rubric_weight)
    return funcs, weights


def first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0].strip()


def run_grpo(
    policy: Any,
    tokenizer: Any,
    prompts: Sequence[PolicyPrompt],
    score: PolicyScore,
    rubric_weight: float,
    settings: GRPORunConfig,
    out_dir: Path,
    resume_from: Path | None,
) -> list[dict[str, float]]:
    """Train ``policy`` (a PEFT model) in place; return TRL's log history."""
    from datasets import Dataset
    from trl import GRPOTrainer

    from kinject_plugins.trainers.checkpoint_marker import MarkCompleteCallback
    from kinject_plugins.trainers.progress_callback import attach_progress
    from kinject_plugins.trainers.sft import tensorboard_dir

    funcs, weights = reward_functions(score, rubric_weight)
    rows = {
        "prompt": [p.prompt for p in prompts],
        "prompt_text": [p.prompt for p in prompts],
        "question": [p.question for p in prompts],
        "reference": [p.reference for p in prompts],
    }
    tokenizer.padding_side = "left"
    with tensorboard_dir(out_dir / "tensorboard"):
        trainer = GRPOTrainer(
            model=policy,
            reward_funcs=funcs,
            args=grpo_config(settings, weights, out_dir),
            train_dataset=Dataset.from_dict(rows),
            processing_class=tokenizer,
            callbacks=[MarkCompleteCallback()],
        )
    attach_progress(trainer, "training (grpo)", enabled=settings.show_progress)
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    return list(trainer.state.log_history)


def grpo_config(s: GRPORunConfig, weights: list[float], out_dir: Path) -> Any:
    import torch
    from trl import GRPOConfig

    from kinject_plugins.trainers.progress_callback import hf_tqdm_disabled

    cuda = torch.cuda.is_available()
    bf16 = cuda and torch.cuda.is_bf16_supported()
    return GRPOConfig(
        output_dir=str(out_dir / "checkpoints"),
        learning_rate=s.learning_rate,
        max_steps=s.steps,
        # One optimizer step sees prompts_per_step prompts × num_generations answers.
        per_device_train_batch_size=s.num_generations * s.prompts_per_step,
        num_generations=s.num_generations,
        max_completion_length=s.max_new_tokens,
        temperature=s.temperature,
        beta=s.kl_coef,
        epsilon=s.clip_range,
        num_iterations=s.iterations,
        reward_weights=weights,
        remove_unused_columns=False,
        save_strategy="steps",
        save_steps=s.save_steps,
        save_total_limit=2,
        logging_steps=1,
        report_to=s.report_to,
        bf16=bf16,
        fp16=cuda and not bf16,
        use_cpu=not cuda,
        dataloader_pin_memory=cuda,
        seed=s.seed,
        disable_tqdm=hf_tqdm_disabled(s.show_progress),
    )


def grpo_summary(history: list[dict[str, float]]) -> dict[str, float]:
    """First and last logged reward, KL, entropy and clip ratio of a GRPO run."""
    steps = [h for h in history if "reward" in h]
    if not steps:
        return {}
    out: dict[str, float] = {}
    for key in ("reward", "kl", "entropy", "clip_ratio/region_mean"):
        values = [float(h[key]) for h in steps if key in h]
        if values:
            name = key.split("/")[0]
            out[f"grpo_{name}_first"], out[f"grpo_{name}_last"] = (
                round(values[0], 4),
                round(values[-1], 4),
            )
    return out
