"""``sft``: supervised fine-tuning with TRL's SFTTrainer, LoRA by default.

One run, top to bottom: records -> prompt/completion rows -> token ids with a completion mask
(loss on QA answers only, on the whole text of documents) -> base model (+ a LoRA adapter on
every linear layer, or full fine-tuning, or QLoRA on a CUDA GPU) -> TRL training with
padding-free batches, checkpoints every ``save_steps`` -> the final adapter or model in
``<output_dir>/final``. ``job.resume`` continues from the last complete checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from kinject.checkpoints import checkpoint_to_resume
from kinject.components import Trainer, TrainJob, TrainResult
from kinject.context import RunContext
from kinject.errors import ConfigError
from kinject.hardware import cpu_has_bf16
from kinject.records import Record
from kinject.report import write_loss_history
from kinject_plugins.trainers.arrow_rows import tokenized_dataset, use_arrow
from kinject_plugins.trainers.dp import DPOptions, check_private, train_private
from kinject_plugins.trainers.loss_terms import use_labelled_positions_loss
from kinject_plugins.trainers.packed_rows import PackedRowsCollator
from kinject_plugins.trainers.training_arguments import training_arguments

log = logging.getLogger(__name__)

#: learning rates that teach a ~100M model new facts in a few epochs on a CPU
DEFAULT_LR = {"lora": 1e-3, "qlora": 1e-3, "full": 5e-5}


class SFTOptions(BaseModel):
    """Options of the ``sft`` trainer (recipe key ``trainer:``)."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["lora", "full", "qlora"] = "lora"
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.05, ge=0.0, lt=1.0)
    #: module names, or "all-linear" (every linear layer but the output head)
    target_modules: list[str] | Literal["all-linear"] = "all-linear"
    #: None picks by method: 1e-3 for LoRA/QLoRA, 5e-5 for full fine-tuning
    learning_rate: float | None = Field(None, gt=0.0)
    epochs: float = Field(5.0, gt=0.0)
    #: stop after this many optimizer steps (overrides ``epochs``); None = use epochs
    max_steps: int | None = Field(None, ge=1)
    batch_size: int = Field(8, ge=1)
    gradient_accumulation: int = Field(1, ge=1)
    max_length: int = Field(512, ge=8)
    warmup_ratio: float = Field(0.05, ge=0.0, lt=1.0)
    lr_scheduler: str = "cosine"
    weight_decay: float = Field(0.0, ge=0.0)
    save_steps: int = Field(50, ge=1)
    save_total_limit: int | None = Field(2, ge=1)
    #: stop when eval loss has not improved for this many evaluations (needs eval records)
    early_stopping_patience: int | None = Field(None, ge=1)
    gradient_checkpointing: bool = False
    #: auto: bf16 on GPUs that have it (else fp16) and on CPUs with AVX512-BF16/AMX; fp32 elsewhere
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    #: the loss head. labelled: the output head and cross-entropy only on trained positions, in the
    #: compute dtype; trl: TRL's fused head (Triton kernels on a GPU, float32 tiles of every
    #: position elsewhere); auto: trl on CUDA, labelled elsewhere
    loss_head: Literal["auto", "labelled", "trl"] = "auto"
    #: pack rows into max_length blocks (fewer, fuller steps); with the labelled loss head and no
    #: FlashAttention each block stays a row of its own (see packed_rows.py)
    packing: bool = False
    #: concatenate each batch into one sequence instead of padding it. None (auto): only with
    #: FlashAttention on CUDA; elsewhere the flattened batch's dense mask costs more than padding
    padding_free: bool | None = None
    #: batch rows of similar length together, so padded batches waste little
    group_by_length: bool = True
    #: where token ids are built. lists: in Python lists in memory; datasets: a memory-mapped
    #: Arrow dataset under <output_dir>/tokenized (reused on resume); auto: datasets from
    #: 10,000 records (see docs/scale.md)
    tokenize: Literal["auto", "lists", "datasets"] = "auto"
    #: processes that tokenize on the datasets path (and TRL's ``dataset_num_proc``)
    tokenize_num_proc: int = Field(1, ge=1)
    #: None: ["tensorboard"] when it is installed, else nothing
    report_to: list[str] | None = None
    logging_steps: int = Field(10, ge=1)
    #: None: the run's seed
    seed: int | None = None
    #: differentially private training (DP-SGD through Opacus); None: off
    dp: DPOptions | None = None


def mixed_precision(choice: str, cuda: bool) -> tuple[bool, bool]:
    """(bf16, fp16) for the Trainer. Weights stay float32; only the compute is autocast."""
    import torch

    if choice == "auto":
        if cuda:
            choice = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        else:
            choice = "bf16" if cpu_has_bf16() else "fp32"
    if choice == "fp16" and not cuda:
        raise ConfigError(
            "precision fp16 needs a CUDA GPU; use bf16 or fp32 on a CPU", source="trainer sft"
        )
    return choice == "bf16", choice == "fp16"


class SFTTrainer(Trainer):
    """Supervised fine-tuning (LoRA, full or QLoRA) on documents and QA pairs."""

    name = "sft"
    description = "supervised fine-tuning with TRL: LoRA (default), full, or QLoRA on a GPU"
    Options: ClassVar[type[BaseModel]] = SFTOptions
    opts: SFTOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        #: extra ``transformers.TrainerCallback`` objects (subclasses and tests add theirs)
        self.callbacks: list[Any] = []
        #: per split: tokens before truncation, tokens cut by ``max_length``, rows cut
        self.token_counts: dict[str, Counter[str]] = {}
        if self.opts.dp is not None:
            check_private(self.opts, self.name)

    def setup(self, context: RunContext) -> None:
        check_hardware(self.opts.method)

    def train(self, job: TrainJob) -> TrainResult:
        check_hardware(self.opts.method)
        if self.opts.dp is not None:
            return train_private(self, job)
        started = time.perf_counter()
        from transformers import set_seed

        # Seed before the adapter is created so its initial weights are reproducible too.
        set_seed(self.seed_for(self.context))
        model, tokenizer = self.load_model(job.base_model)
        tokenized = job.output_dir / "tokenized"
        train_data = self.build_dataset(job.train, tokenizer, "train", tokenized)
        eval_data = self.build_dataset(job.eval, tokenizer, "eval", tokenized) if job.eval else None
        checkpoints = job.output_dir / "checkpoints"
        resume_from = prepare_checkpoint_dir(checkpoints, job.resume)
        trainer = self.build_trainer(job, model, tokenizer, train_data, eval_data)
        output = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
        final = save_final(trainer, tokenizer, job.output_dir / "final")
        metrics = self.collect_metrics(trainer, output, started)
        write_loss_history(trainer.state.log_history, job.output_dir)
        if eval_data is not None:
            metrics["eval_loss"] = float(trainer.evaluate()["eval_loss"])
        if resume_from is not None:
            metrics["resumed_from_step"] = int(resume_from.name.split("-")[-1])
        return TrainResult(
            model_dir=final,
            base_model=job.base_model,
            adapter=self.opts.method != "full",
            metrics=metrics,
        )

    def padding_free(self) -> bool:
        """Whether batches are flattened instead of padded (see the option)."""
        if self.opts.padding_free is None:
            return flash_attention_available()
        return self.opts.padding_free

    def labelled_loss_head(self) -> bool:
        """Whether the loss head runs only on trained positions (see ``loss_head``)."""
        if self.opts.loss_head == "auto":
            import torch

            return not torch.cuda.is_available()
        return self.opts.loss_head == "labelled"

    def seed_for(self, context: RunContext) -> int:
        """The option's seed, else the run's."""
        return context.seed if self.opts.seed is None else self.opts.seed

    # -- the steps of a run, each overridable by a strategy built on this one --------------

    def load_model(self, base_model: Path) -> tuple[Any, Any]:
        """The base model (4-bit for QLoRA) and its tokenizer."""
        from kinject.models import load_causal_lm

        if self.opts.method != "qlora":
            model, tokenizer = load_causal_lm(base_model)
            if self.padding_free() and flash_attention_available():
                model.set_attn_implementation("flash_attention_2")
            return model, tokenizer
        import torch
        from transformers import BitsAndBytesConfig

        quantization = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        )
        from transformers import AutoModelForCausalLM

        _, tokenizer = load_causal_lm(base_model)
        model = AutoModelForCausalLM.from_pretrained(
            base_model,
            quantization_config=quantization,
            device_map={"": 0},
            trust_remote_code=False,
            use_safetensors=True,
        )
        model.config.pad_token_id = tokenizer.pad_token_id
        return model, tokenizer

    def build_dataset(
        self, records: list[Record], tokenizer: Any, split: str, cache_dir: Path | None = None
    ) -> Any:
        """Records -> a tokenized ``datasets.Dataset`` with ``input_ids`` and
        ``completion_mask``; memory-mapped from ``cache_dir/<split>`` when ``tokenize`` picks
        the datasets path (with no ``cache_dir``: lists).
        """
        arrow = cache_dir is not None and use_arrow(self.opts.tokenize, len(records))
        folder = cache_dir / split if cache_dir is not None and arrow else None
        skipped: Counter[str] = Counter()
        counts = self.token_counts.setdefault(split, Counter())
        data = tokenized_dataset(
            records,
            tokenizer,
            self.opts.max_length,
            folder,
            self.opts.tokenize_num_proc,
            counts,
            skipped,
        )
        if skipped:
            log.info("sft %s: skipped %s", split, dict(skipped))
        if counts["tokens_truncated"]:
            log.warning(
                "sft %s: %d of %d tokens are beyond max_length=%d and not trained on",
                split,
                counts["tokens_truncated"],
                counts["tokens"],
                self.opts.max_length,
            )
        if not len(data):
            kinds = sorted({r.kind for r in records}) or ["none"]
            raise ConfigError(
                f"no {split} records the sft trainer can learn from (kinds seen: "
                f"{', '.join(kinds)}; "
                "it trains on document and qa records)",
                source="trainer sft",
            )
        return data

    def peft_config(self) -> Any:
        """The LoRA configuration, or None for full fine-tuning."""
        if self.opts.method == "full":
            return None
        from peft import LoraConfig

        return LoraConfig(
            r=self.opts.lora_r,
            lora_alpha=self.opts.lora_alpha,
            lora_dropout=self.opts.lora_dropout,
            target_modules=self.opts.target_modules,
            task_type="CAUSAL_LM",
        )

    def training_args(self, job: TrainJob, has_eval: bool) -> Any:
        """TRL's ``SFTConfig`` for this job."""
        from trl import SFTConfig

        o = self.opts
        stop_early = has_eval and o.early_stopping_patience is not None
        if o.early_stopping_patience is not None and not has_eval:
            log.warning(
                "sft: early_stopping_patience is set but there are no eval records; ignored"
            )
        shared = training_arguments(
            o,
            job.output_dir,
            learning_rate=o.learning_rate or DEFAULT_LR[o.method],
            seed=self.seed_for(self.context),
            show_progress=self.context.show_progress,
        )
        return SFTConfig(
            **shared,
            weight_decay=o.weight_decay,
            eval_strategy="steps" if stop_early else "no",
            eval_steps=o.save_steps if stop_early else None,
            load_best_model_at_end=stop_early,
            metric_for_best_model="eval_loss" if stop_early else None,
            greater_is_better=False if stop_early else None,
            # Rows are tokenized and truncated here; TRL's own truncation would refuse padding-free.
            max_length=o.max_length if o.packing else None,
            packing=o.packing,
            padding_free=self.padding_free(),
            train_sampling_strategy="group_by_length" if o.group_by_length else "random",
            completion_only_loss=True,
            # TRL's own passes over the tokenized rows (labels) use as many processes; not for
            # packing, which TRL does per process's shard: other rows would be packed together
            dataset_num_proc=o.tokenize_num_proc
            if o.tokenize_num_proc > 1 and not o.packing
            else None,
        )

    def build_trainer(
        self, job: TrainJob, model: Any, tokenizer: Any, train_data: Any, eval_data: Any
    ) -> Any:
        """TRL's SFTTrainer, with TensorBoard logs under ``<output_dir>/tensorboard``.

        Each checkpoint is marked complete once written, so a resumed run trusts only whole ones.
        Progress shows as kinject's training bar, not transformers' printed bar and log dicts.
        """
        from transformers import EarlyStoppingCallback
        from trl import SFTTrainer as TRLSFTTrainer

        from kinject_plugins.trainers.checkpoint_marker import MarkCompleteCallback
        from kinject_plugins.trainers.progress_callback import attach_progress

        args = self.training_args(job, has_eval=eval_data is not None)
        callbacks = [MarkCompleteCallback(), *self.callbacks]
        if args.load_best_model_at_end and self.opts.early_stopping_patience is not None:
            callbacks.append(EarlyStoppingCallback(self.opts.early_stopping_patience))
        with tensorboard_dir(job.output_dir / "tensorboard"):
            trainer = TRLSFTTrainer(
                model=model,
                args=args,
                train_dataset=train_data,
                eval_dataset=eval_data,
                processing_class=tokenizer,
                peft_config=self.peft_config(),
                callbacks=callbacks,
            )
        if self.labelled_loss_head():
            use_labelled_positions_loss(trainer)
            if self.opts.packing and not flash_attention_available():
                trainer.data_collator = PackedRowsCollator(tokenizer.pad_token_id)
        attach_progress(trainer, f"training ({self.name})", enabled=self.context.show_progress)
        return trainer

    def collect_metrics(self, trainer: Any, output: Any, started: float) -> dict[str, Any]:
        """Time, tokens, parameters, memory and loss of the finished run."""
        model = trainer.model
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        total = sum(p.numel() for p in model.parameters())
        losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
        train_time = float(output.metrics.get("train_runtime", time.perf_counter() - started))
        tokens = int(getattr(trainer, "_total_train_tokens", 0))
        return {
            "train_time_s": round(train_time, 3),
            "train_tokens": tokens,
            "tokens_per_s": round(tokens / train_time, 1) if train_time > 0 else 0.0,
            "trainable_params": trainable,
            "total_params": total,
            "peak_memory_mb": round(peak_memory_mb(), 1),
            "final_train_loss": float(losses[-1]) if losses else float(output.training_loss),
            "mean_train_loss": float(output.training_loss),
            "steps": int(trainer.state.global_step),
            **self.truncation_metrics(),
        }

    def truncation_metrics(self) -> dict[str, int]:
        """``tokens`` of the train rows and ``tokens_truncated``: what the length limit cut away."""
        counts = self.token_counts.get("train", Counter())
        return {
            "tokens": counts["tokens"],
            "tokens_truncated": counts["tokens_truncated"],
            "rows_truncated": counts["rows_truncated"],
        }


# -- helpers of a run ---------------------------------------------------------------------------


def check_hardware(method: str) -> None:
    """QLoRA needs a CUDA GPU and bitsandbytes; say so before any work is done."""
    if method != "qlora":
        return
    import importlib.util

    import torch

    missing = []
    if not torch.cuda.is_available():
        missing.append("a CUDA GPU")
    if importlib.util.find_spec("bitsandbytes") is None:
        missing.append("bitsandbytes (pip install bitsandbytes)")
    if missing:
        raise ConfigError(
            f"method qlora needs {' and '.join(missing)}; use method: lora on this machine",
            source="trainer sft",
        )


def flash_attention_available() -> bool:
    """CUDA plus the flash-attn package: the case where padding-free batches pay off."""
    import importlib.util

    import torch

    return torch.cuda.is_available() and importlib.util.find_spec("flash_attn") is not None


def prepare_checkpoint_dir(folder: Path, resume: bool) -> Path | None:
    """Pick the checkpoint to resume from, clearing what must not be reused.

    Without ``resume`` old checkpoints are removed (a fresh run must not mix with them); with it,
    half-written checkpoints are removed and the last complete one is returned (None: start over).
    """
    if not resume:
        shutil.rmtree(folder, ignore_errors=True)
        return None
    return checkpoint_to_resume(folder)


def save_final(trainer: Any, tokenizer: Any, final: Path) -> Path:
    """Save the adapter (or full model) and tokenizer to ``final``, via a temporary directory."""
    staging = final.with_name(final.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    trainer.save_model(str(staging))
    tokenizer.save_pretrained(staging)
    sort_adapter_config(staging)
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    return final


def sort_adapter_config(folder: Path) -> None:
    """Write the ``target_modules`` of a saved adapter's config in sorted order.

    PEFT keeps them as a set and saves them in the set's order, which changes from process to
    process; sorted, the same training saves the same bytes.
    """
    path = folder / "adapter_config.json"
    if not path.is_file():
        return
    config = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(config.get("target_modules"), list):
        config["target_modules"] = sorted(config["target_modules"])
        path.write_text(json.dumps(config, indent=2, sort_keys=True), encoding="utf-8")


def resolve_report_to(report_to: list[str] | None) -> list[str] | str:
    """The requested loggers, or TensorBoard when it is installed, else none."""
    if report_to is not None:
        return report_to or "none"
    import importlib.util

    if importlib.util.find_spec("tensorboard") or importlib.util.find_spec("tensorboardX"):
        return ["tensorboard"]
    return "none"


@contextlib.contextmanager
def tensorboard_dir(path: Path) -> Iterator[None]:
    """Point transformers' TensorBoard callback (created with the trainer) at ``path``."""
    key = "TENSORBOARD_LOGGING_DIR"
    previous = os.environ.get(key)
    os.environ[key] = str(path)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = previous


def peak_memory_mb() -> float:
    """Peak memory: CUDA max allocated on a GPU, else this process's peak RSS."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    import resource

    # ru_maxrss is in KiB on Linux, bytes on macOS
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10
