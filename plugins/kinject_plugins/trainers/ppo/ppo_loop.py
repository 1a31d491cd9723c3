"""The PPO loop, top to bottom: rollouts, rewards, advantages, minibatch epochs, logs, checkpoints.

One step: sample ``rollout_batch`` prompts (a fixed choice per step, so a resumed run sees the
same ones) -> sample responses from the policy -> log π, values (policy) and log π_ref (the same
model with its adapter disabled: no second copy in memory) -> rewards = score − β·KL ->
GAE, whitened advantages -> ``ppo_epochs`` passes over minibatches of the clipped surrogate plus
the clipped value loss -> logs (JSONL, TensorBoard) -> a checkpoint every ``save_steps``
(adapter, value head, optimizer, scheduler, RNG, step, β and the log) that ``resume`` continues.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from kinject.checkpoints import checkpoint_to_resume, list_checkpoints, mark_complete
from kinject_plugins.trainers.ppo import ppo_math as pm
from kinject_plugins.trainers.ppo.preferences import PolicyPrompt
from kinject_plugins.trainers.ppo.rollouts import (
    Batch,
    ValueHead,
    sample_responses,
    score_tokens,
    stop_token_ids,
)
from kinject_plugins.trainers.ppo.settings import PPOSettings

log = logging.getLogger(__name__)

#: scores for a batch of (prompt, response text) pairs
ScoreFn = Callable[[Sequence[PolicyPrompt], Sequence[str]], list[float]]
VALUE_HEAD_FILE = "value_head.safetensors"
LOG_FILE = "ppo_log.jsonl"


class PPOConfig(PPOSettings):
    """What :class:`PPOLoop` reads: the settings plus the run's seed."""

    seed: int = 0


class PPOLoop:
    """PPO on a PEFT policy; ``run()`` returns the per-step log."""

    def __init__(
        self,
        policy: Any,
        tokenizer: Any,
        prompts: Sequence[PolicyPrompt],
        score_fn: ScoreFn,
        config: PPOConfig,
        out_dir: Path,
        tensorboard_dir: Path | None = None,
    ) -> None:
        if not prompts:
            raise ValueError("PPO needs at least one prompt")
        self.policy, self.tokenizer, self.prompts = policy, tokenizer, list(prompts)
        self.score_fn, self.config, self.out_dir = score_fn, config, out_dir
        self.tensorboard_dir = tensorboard_dir
        self.device = next(policy.parameters()).device
        self.value_head = ValueHead(policy.config.hidden_size).to(self.device)
        self.stop_ids = torch.tensor(stop_token_ids(tokenizer), device=self.device)
        params = [p for p in policy.parameters() if p.requires_grad] + list(
            self.value_head.parameters()
        )
        self.optimizer = torch.optim.AdamW(params, lr=config.learning_rate)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda _: 1.0)
        self.kl_ctl: pm.AdaptiveKLController | pm.FixedKLController = (
            pm.AdaptiveKLController(config.kl_coef, config.kl_target, config.kl_horizon)
            if config.adaptive_kl
            else pm.FixedKLController(config.kl_coef)
        )
        self.history: list[dict[str, float]] = []
        self.start_step = 0

    # -- the loop -----------------------------------------------------------------------------

    def run(self, resume: bool = False) -> list[dict[str, float]]:
        """Train ``config.steps`` steps (continuing from the last complete checkpoint on resume)."""
        checkpoints = self.out_dir / "checkpoints"
        if resume:
            last = checkpoint_to_resume(checkpoints)
            if last is not None:
                self.load_checkpoint(last)
        else:
            shutil.rmtree(checkpoints, ignore_errors=True)
            (self.out_dir / LOG_FILE).unlink(missing_ok=True)
        self.policy.eval()  # dropout off: old and new log-probs must come from the same function
        writer = self._writer()
        for step in range(self.start_step, self.config.steps):
            stats = self.step(step)
            self.history.append(stats)
            self._log(stats, writer)
            if (step + 1) % self.config.save_steps == 0 or step + 1 == self.config.steps:
                self.save_checkpoint(step + 1)
        if writer is not None:
            writer.close()
        return self.history

    def step(self, step: int) -> dict[str, float]:
        """One rollout batch and its PPO epochs; returns the step's statistics."""
        started = time.perf_counter()
        prompts = self.prompts_for(step)
        batch = sample_responses(
            self.policy,
            self.tokenizer,
            [p.prompt for p in prompts],
            self.stop_ids,
            self.config.max_new_tokens,
            self.config.temperature,
        )
        scores = torch.tensor(
            self.score_fn(prompts, batch.texts), dtype=torch.float32, device=self.device
        )
        with torch.no_grad():
            old = score_tokens(self.policy, batch, self.config.temperature, self.value_head)
            with self.policy.disable_adapter():
                ref = score_tokens(self.policy, batch, self.config.temperature)
        mask = batch.response_mask.float()
        kl = pm.kl_estimate(old.logprobs, ref.logprobs, self.config.kl_estimator) * mask
        rewards = pm.token_rewards(scores, kl, mask, self.kl_ctl.value)
        if self.config.whiten_rewards:
            rewards = pm.masked_whiten(rewards, mask, shift_mean=False)
        assert old.values is not None
        advantages, returns = pm.gae_advantages(
            rewards, old.values, mask, self.config.gamma, self.config.lam
        )
        advantages = pm.masked_whiten(advantages, mask)
        train_stats = self.train_minibatches(
            step, batch, old.logprobs, old.values, advantages, returns
        )
        seq_kl = kl.sum(dim=1).mean().item()
        stats = {
            "step": float(step + 1),
            "score": scores.mean().item(),
            "score_std": scores.std().item() if len(scores) > 1 else 0.0,
            "reward": (scores - self.kl_ctl.value * kl.sum(dim=1)).mean().item(),
            "kl": seq_kl,
            "kl_coef": self.kl_ctl.value,
            "entropy": pm.masked_mean(old.entropy, mask).item(),
            "response_length": mask.sum(dim=1).mean().item(),
            **train_stats,
        }
        self.kl_ctl.update(seq_kl, len(prompts))
        stats["step_time_s"] = time.perf_counter() - started
        return stats

    def prompts_for(self, step: int) -> list[PolicyPrompt]:
        """The prompts of one step: a seeded draw that depends only on the seed and the step."""
        rng = random.Random(self.config.seed * 1_000_003 + step)
        n = self.config.rollout_batch
        return (
            rng.sample(self.prompts, n)
            if n <= len(self.prompts)
            else rng.choices(self.prompts, k=n)
        )

    def train_minibatches(
        self,
        step: int,
        batch: Batch,
        old_logprobs: torch.Tensor,
        old_values: torch.Tensor,
        advantages: torch.Tensor,
        returns: torch.Tensor,
    ) -> dict[str, float]:
        """``ppo_epochs`` shuffled passes of minibatch updates; the mean of their statistics."""
        c = self.config
        generator = torch.Generator().manual_seed(c.seed * 7919 + step)
        sums: dict[str, float] = {}
        updates = 0
        for _ in range(c.ppo_epochs):
            order = torch.randperm(len(batch.texts), generator=generator)
            for start in range(0, len(order), c.minibatch_size):
                rows = order[start : start + c.minibatch_size].to(self.device)
                part = batch.rows(rows)
                new = score_tokens(self.policy, part, c.temperature, self.value_head)
                mask = part.response_mask.float()
                policy = pm.clipped_policy_loss(
                    new.logprobs, old_logprobs[rows], advantages[rows], mask, c.clip_range
                )
                assert new.values is not None
                value_loss, value_clip = pm.clipped_value_loss(
                    new.values, old_values[rows], returns[rows], mask, c.value_clip_range
                )
                entropy = pm.masked_mean(new.entropy, mask)
                loss = policy.loss + c.vf_coef * value_loss - c.entropy_coef * entropy
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                params = [p for group in self.optimizer.param_groups for p in group["params"]]
                torch.nn.utils.clip_grad_norm_(params, c.max_grad_norm)
                self.optimizer.step()
                self.scheduler.step()
                for key, value in (
                    ("policy_loss", policy.loss.item()),
                    ("value_loss", value_loss.item()),
                    ("clip_fraction", policy.clip_fraction.item()),
                    ("approx_kl", policy.approx_kl.item()),
                    ("value_clip_fraction", value_clip.item()),
                ):
                    sums[key] = sums.get(key, 0.0) + value
                updates += 1
        return {key: value / max(updates, 1) for key, value in sums.items()}

    # -- logs and checkpoints -----------------------------------------------------------------

    def _writer(self) -> Any:
        if self.tensorboard_dir is None:
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            log.info("tensorboard is not installed; PPO logs go to %s only", LOG_FILE)
            return None
        return SummaryWriter(log_dir=str(self.tensorboard_dir))

    def _log(self, stats: dict[str, float], writer: Any) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with (self.out_dir / LOG_FILE).open("a", encoding="utf-8") as f:
            f.write(json.dumps(stats) + "\n")
        if writer is not None:
            for key, value in stats.items():
                if key != "step":
                    writer.add_scalar(f"ppo/{key}", value, int(stats["step"]))
        log.info("ppo step %d: score %.3f kl %.3f", int(stats["step"]), stats["score"], stats["kl"])

    def save_checkpoint(self, step: int) -> Path:
        """Everything needed to continue exactly; written aside and renamed into place."""
        from safetensors.torch import save_file

        root = self.out_dir / "checkpoints"
        final = root / f"checkpoint-{step}"
        staging = root / f".checkpoint-{step}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        self.policy.save_pretrained(str(staging))
        save_file(
            {k: v.contiguous() for k, v in self.value_head.state_dict().items()},
            str(staging / VALUE_HEAD_FILE),
        )
        torch.save(self.optimizer.state_dict(), staging / "optimizer.pt")
        torch.save(self.scheduler.state_dict(), staging / "scheduler.pt")
        rng = {
            "cpu": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        }
        torch.save(rng, staging / "rng_state.pth")
        state = {
            "global_step": step,
            "kl_coef": self.kl_ctl.value,
            "config": self.config.model_dump(),
            "log_history": self.history,
        }
        (staging / "trainer_state.json").write_text(json.dumps(state, indent=1), encoding="utf-8")
        mark_complete(staging, step)
        shutil.rmtree(final, ignore_errors=True)
        staging.rename(final)
        for old in list_checkpoints(root)[: -self.config.save_total_limit]:
            shutil.rmtree(old, ignore_errors=True)
        return final

    def load_checkpoint(self, path: Path) -> None:
        """Restore adapter, value head, optimizer, scheduler, RNG, β, step and log from ``path``."""
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        set_peft_model_state_dict(self.policy, load_file(str(path / "adapter_model.safetensors")))
        self.value_head.load_state_dict(load_file(str(path / VALUE_HEAD_FILE)))
        self.optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=True))
        self.scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=True))
        rng = torch.load(path / "rng_state.pth", weights_only=True)
        torch.set_rng_state(rng["cpu"])
        if rng["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        state = json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
        self.kl_ctl.value = float(state["kl_coef"])
        self.history = list(state["log_history"])
        self.start_step = int(state["global_step"])
        log.info("resuming PPO from %s (step %d)", path, self.start_step)

    def save_final(self, final: Path) -> Path:
        """The trained adapter (plus tokenizer and value head) in ``final``, via a staging
        folder.
        """
        from safetensors.torch import save_file

        from kinject_plugins.trainers.sft import sort_adapter_config

        staging = final.with_name(final.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        self.policy.save_pretrained(str(staging))
        self.tokenizer.save_pretrained(staging)
        sort_adapter_config(staging)
        save_file(
            {k: v.contiguous() for k, v in self.value_head.state_dict().items()},
            str(staging / VALUE_HEAD_FILE),
        )
        shutil.rmtree(final, ignore_errors=True)
        staging.rename(final)
        return final
