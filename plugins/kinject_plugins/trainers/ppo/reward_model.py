"""The reward model: a sequence classifier with one output, trained with TRL's ``RewardTrainer``.

The backbone is the policy's base model (or any local model directory, e.g. a small encoder)
with a fresh score head; by default only a LoRA adapter and the head are trained. The loss is
Bradley–Terry: −log σ(r(chosen) − r(rejected)). Its quality is the share of held-out pairs it
orders correctly (``pairwise accuracy``); 0.5 is chance.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import Field

from kinject.errors import ConfigError
from kinject_plugins.trainers.ppo.preferences import PreferencePair
from kinject_plugins.trainers.ppo.settings import RewardModelSettings

log = logging.getLogger(__name__)

RESULT_FILE = "reward_model.json"


class RewardModelConfig(RewardModelSettings):
    """What :func:`train_reward_model` reads: the settings with the backbone resolved, plus the
    run's seed, loggers and console."""

    base: Path
    lora_alpha: int = 32
    seed: int = 0
    report_to: list[str] | str = "none"
    logging_steps: int = 10
    show_progress: bool = False
    extra: dict[str, Any] = Field(default_factory=dict)


class RewardScorer:
    """A trained reward model in eval mode: text in, one scalar per text out."""

    def __init__(self, model: Any, tokenizer: Any, max_length: int = 512) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.max_length = max_length

    def score(
        self, prompts: Sequence[str], completions: Sequence[str], batch_size: int = 16
    ) -> list[float]:
        """Scores of ``prompt + completion`` (eos appended, as in training)."""
        import torch

        eos = self.tokenizer.eos_token or ""
        texts = [
            p + c if c.endswith(eos) else p + c + eos
            for p, c in zip(prompts, completions, strict=True)
        ]
        device = next(self.model.parameters()).device
        out: list[float] = []
        with torch.no_grad():
            for start in range(0, len(texts), batch_size):
                batch = self.tokenizer(
                    texts[start : start + batch_size],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                    padding_side="right",
                ).to(device)
                out.extend(self.model(**batch).logits[:, 0].float().tolist())
        return out

    def pairwise_accuracy(self, pairs: Sequence[PreferencePair]) -> float | None:
        """Share of pairs where chosen scores above rejected (None without pairs)."""
        if not pairs:
            return None
        chosen = self.score([p.prompt for p in pairs], [p.chosen for p in pairs])
        rejected = self.score([p.prompt for p in pairs], [p.rejected for p in pairs])
        return sum(c > r for c, r in zip(chosen, rejected, strict=True)) / len(pairs)


def load_backbone(base: Path) -> tuple[Any, Any]:
    """``AutoModelForSequenceClassification`` with one label on ``base``, and its tokenizer."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(base, trust_remote_code=False)
        model = AutoModelForSequenceClassification.from_pretrained(
            base, num_labels=1, dtype=torch.float32, trust_remote_code=False, use_safetensors=True
        )
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(
            f"cannot load a reward model backbone ({first})", source=str(base)
        ) from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def train_reward_model(
    train: Sequence[PreferencePair],
    held_out: Sequence[PreferencePair],
    config: RewardModelConfig,
    out_dir: Path,
) -> tuple[RewardScorer, dict[str, Any]]:
    """Train on ``train``, save to ``out_dir/final``, and report pairwise accuracies."""
    from datasets import Dataset
    from transformers import set_seed
    from trl import RewardTrainer

    from kinject_plugins.trainers.progress_callback import attach_progress

    if not train:
        raise ConfigError(
            "no preference pairs to train the reward model: add the negatives augmenter, a domain "
            "rubric, "
            "or the preferences option (a JSONL file)",
            source="trainer rlhf",
        )
    set_seed(config.seed)
    model, tokenizer = load_backbone(config.base)
    rows = {
        "prompt": [p.prompt for p in train],
        "chosen": [p.chosen for p in train],
        "rejected": [p.rejected for p in train],
    }
    trainer = RewardTrainer(
        model=model,
        args=_reward_config(config, out_dir),
        train_dataset=Dataset.from_dict(rows),
        processing_class=tokenizer,
        peft_config=_peft_config(config),
    )
    attach_progress(trainer, "training (reward model)", enabled=config.show_progress)
    output = trainer.train()
    final = out_dir / "final"
    shutil.rmtree(final, ignore_errors=True)
    trainer.save_model(str(final))
    tokenizer.save_pretrained(final)
    shutil.rmtree(out_dir / "checkpoints", ignore_errors=True)
    scorer = RewardScorer(trainer.model, tokenizer, config.max_length)
    metrics = {
        "rm_train_pairs": len(train),
        "rm_held_out_pairs": len(held_out),
        "rm_train_loss": round(float(output.training_loss), 4),
        "rm_train_accuracy": scorer.pairwise_accuracy(train),
        "rm_accuracy": scorer.pairwise_accuracy(held_out),
        "rm_train_time_s": round(float(output.metrics.get("train_runtime", 0.0)), 2),
    }
    (out_dir / RESULT_FILE).write_text(
        json.dumps({"method": config.method, "metrics": metrics}, indent=2)
    )
    return scorer, metrics


def load_reward_model(
    out_dir: Path, base: Path, max_length: int = 512
) -> tuple[RewardScorer, dict[str, Any]] | None:
    """A reward model finished by an earlier (interrupted) run, or None."""
    result, final = out_dir / RESULT_FILE, out_dir / "final"
    if not (result.is_file() and final.is_dir()):
        return None
    saved = json.loads(result.read_text(encoding="utf-8"))
    if saved.get("method") == "full":
        model, tokenizer = load_backbone(final)
    else:
        from kinject.trained import attach_adapter

        model, tokenizer = load_backbone(base)
        model = attach_adapter(model, final)
    return RewardScorer(model, tokenizer, max_length), dict(saved["metrics"])


def _peft_config(config: RewardModelConfig) -> Any:
    if config.method == "full":
        return None
    from peft import LoraConfig

    # SEQ_CLS makes PEFT train and save the new score head along with the adapter.
    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=0.0,
        target_modules="all-linear",
        task_type="SEQ_CLS",
    )


def _reward_config(config: RewardModelConfig, out_dir: Path) -> Any:
    import torch
    from trl import RewardConfig

    from kinject_plugins.trainers.progress_callback import hf_tqdm_disabled

    cuda = torch.cuda.is_available()
    bf16 = cuda and torch.cuda.is_bf16_supported()
    return RewardConfig(
        output_dir=str(out_dir / "checkpoints"),
        learning_rate=config.learning_rate,
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        max_length=config.max_length,
        save_strategy="no",
        bf16=bf16,
        fp16=cuda and not bf16,
        use_cpu=not cuda,
        dataloader_pin_memory=cuda,
        report_to=config.report_to,
        logging_steps=config.logging_steps,
        disable_tqdm=hf_tqdm_disabled(config.show_progress),
        seed=config.seed,
        **config.extra,
    )
