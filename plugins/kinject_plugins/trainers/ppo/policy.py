"""The policy and what it is judged by: starting weights, reward function, before/after measures.

The SFT adapter is merged into the base weights in memory and a fresh LoRA adapter is put on
top; disabling that adapter gives back the SFT model exactly, which is the reference policy of
the KL penalty (one model in memory, not two). The merged SFT model is saved once, so the final
policy is an ordinary "base + adapter" pair that evaluators and exporters load as they are.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kinject.components import TrainResult
from kinject.rubric import Rubric
from kinject.trained import load_trained, weights_key
from kinject_plugins.trainers.ppo.preferences import PolicyPrompt
from kinject_plugins.trainers.ppo.reward_model import RewardScorer

MERGED_MARKER = "kinject-merged-from.json"


def merged_sft_model(base: Path, adapter: Path, out_dir: Path) -> Path:
    """``base`` with ``adapter`` merged in, saved to ``out_dir`` once (reused when already
    there).
    """
    marker = out_dir / MERGED_MARKER
    # the adapter's weights, not only its path: a retrained adapter in the same folder is new
    source = {
        "base": str(base),
        "adapter": str(adapter.resolve()),
        "weights": weights_key(TrainResult(model_dir=adapter, base_model=base)),
    }
    if marker.is_file() and json.loads(marker.read_text()) == source:
        return out_dir

    merged, tokenizer = load_trained(TrainResult(model_dir=adapter, base_model=base), merge=True)
    staging = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    merged.save_pretrained(staging, safe_serialization=True)
    tokenizer.save_pretrained(staging)
    (staging / MERGED_MARKER).write_text(json.dumps(source))
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)
    return out_dir


def load_policy(
    start: Path, lora_r: int, lora_alpha: int, target_modules: list[str] | str
) -> tuple[Any, Any]:
    """``start`` (the SFT model) with a fresh, zero-initialised LoRA adapter to train."""
    from peft import LoraConfig, get_peft_model

    from kinject.models import load_causal_lm

    model, tokenizer = load_causal_lm(start)
    config = LoraConfig(
        r=lora_r,
        lora_alpha=lora_alpha,
        lora_dropout=0.0,
        target_modules=target_modules,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config), tokenizer


class PolicyScore:
    """The reward of an answer: reward-model score plus ``rubric_weight`` × rubric score."""

    def __init__(
        self, scorer: RewardScorer | None, rubric: Rubric | None, rubric_weight: float
    ) -> None:
        self.scorer, self.rubric, self.rubric_weight = scorer, rubric, rubric_weight

    def reward_model(self, prompts: Sequence[PolicyPrompt], answers: Sequence[str]) -> list[float]:
        if self.scorer is None:
            return [0.0] * len(answers)
        return self.scorer.score([p.prompt for p in prompts], [" " + a.strip() for a in answers])

    def rubric_scores(self, prompts: Sequence[PolicyPrompt], answers: Sequence[str]) -> list[float]:
        if self.rubric is None:
            return [0.0] * len(answers)
        return [
            self.rubric.score(p.question, a, p.reference).total
            for p, a in zip(prompts, answers, strict=True)
        ]

    def __call__(self, prompts: Sequence[PolicyPrompt], answers: Sequence[str]) -> list[float]:
        scores = self.reward_model(prompts, answers)
        if self.rubric is not None and self.rubric_weight:
            rubric = self.rubric_scores(prompts, answers)
            scores = [s + self.rubric_weight * r for s, r in zip(scores, rubric, strict=True)]
        return scores


def greedy_answers(
    policy: Any, tokenizer: Any, prompts: Sequence[PolicyPrompt], max_new_tokens: int
) -> list[str]:
    """The policy's greedy answer line to each prompt, in batches of 8."""
    from kinject.evaluation import EvalModel
    from kinject_plugins.evaluators.generation import generate_greedy

    handle = EvalModel(model=policy, tokenizer=tokenizer, label="rlhf")
    answers: list[str] = []
    for start in range(0, len(prompts), 8):
        answers += generate_greedy(
            handle, [p.prompt for p in prompts[start : start + 8]], max_new_tokens
        )
    return answers


def measure(
    policy: Any,
    tokenizer: Any,
    prompts: Sequence[PolicyPrompt],
    score: PolicyScore,
    max_new_tokens: int,
) -> dict[str, float]:
    """Mean reward-model score and rubric score of the greedy answers to ``prompts``."""
    if not prompts:
        return {}
    policy.eval()
    answers = greedy_answers(policy, tokenizer, prompts, max_new_tokens)
    out = {"reward": _mean(score.reward_model(prompts, answers))}
    if score.rubric is not None:
        out["rubric"] = _mean(score.rubric_scores(prompts, answers))
    return out


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0
