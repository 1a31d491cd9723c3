"""The TrainingArguments fields every transformers-Trainer strategy sets the same way (sft, dpo).

A strategy adds its own fields (sft: evaluation and packing; dpo: beta and the loss) to these
and hands the whole to TRL's config class (``SFTConfig``, ``DPOConfig``, ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


class TrainingOptions(Protocol):
    """The options a strategy's ``Options`` model shares with the others (read only here)."""

    @property
    def epochs(self) -> float: ...
    @property
    def max_steps(self) -> int | None: ...
    @property
    def batch_size(self) -> int: ...
    @property
    def gradient_accumulation(self) -> int: ...
    @property
    def warmup_ratio(self) -> float: ...
    @property
    def lr_scheduler(self) -> str: ...
    @property
    def save_steps(self) -> int: ...
    @property
    def save_total_limit(self) -> int | None: ...
    @property
    def gradient_checkpointing(self) -> bool: ...
    @property
    def precision(self) -> str: ...
    @property
    def report_to(self) -> list[str] | None: ...
    @property
    def logging_steps(self) -> int: ...


def training_arguments(
    o: TrainingOptions,
    output_dir: Path,
    *,
    learning_rate: float,
    seed: int,
    show_progress: bool,
) -> dict[str, Any]:
    """Keyword arguments for a TrainingArguments subclass: schedule, checkpoints, precision,
    logging and seed. Checkpoints go to ``<output_dir>/checkpoints``.
    """
    import torch

    from kinject_plugins.trainers.progress_callback import hf_tqdm_disabled
    from kinject_plugins.trainers.sft import mixed_precision, resolve_report_to

    cuda = torch.cuda.is_available()
    bf16, fp16 = mixed_precision(o.precision, cuda)
    return dict(
        output_dir=str(output_dir / "checkpoints"),
        learning_rate=learning_rate,
        num_train_epochs=o.epochs,
        max_steps=o.max_steps or -1,
        per_device_train_batch_size=o.batch_size,
        per_device_eval_batch_size=o.batch_size,
        gradient_accumulation_steps=o.gradient_accumulation,
        warmup_steps=o.warmup_ratio,
        lr_scheduler_type=o.lr_scheduler,
        save_strategy="steps",
        save_steps=o.save_steps,
        save_total_limit=o.save_total_limit,
        activation_checkpointing=o.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False}
        if o.gradient_checkpointing
        else None,
        bf16=bf16,
        fp16=fp16,
        use_cpu=not cuda,
        dataloader_pin_memory=cuda,
        report_to=resolve_report_to(o.report_to),
        logging_steps=o.logging_steps,
        logging_first_step=True,
        disable_tqdm=hf_tqdm_disabled(show_progress),
        seed=seed,
    )
