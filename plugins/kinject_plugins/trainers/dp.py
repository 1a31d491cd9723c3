"""Differentially private ``sft`` (``trainer.dp``): DP-SGD on the LoRA adapter through Opacus.

transformers' Trainer and Opacus do not combine, so a private run has a training loop of its
own, top to bottom: records -> the same token rows as ``sft`` (loss on QA answers only) -> base
model + a LoRA adapter -> Opacus' ``PrivacyEngine.make_private``: per-sample gradients of the
adapter's weights (the frozen base has none), each clipped to ``max_grad_norm``, Gaussian noise
of ``noise_multiplier * max_grad_norm`` added to their sum, batches drawn by Poisson sampling
(each row joins a batch with probability ``batch_size / N``) -> the privacy accountant's
(ε, δ) after the last step -> the adapter in ``<output_dir>/final``, as ``sft`` writes it.

The privacy unit is one training row (one record). With ``target_epsilon`` the noise is the
smallest that keeps the whole run's ε at or below the target.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import shutil
import time
import warnings
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kinject.components import TrainJob, TrainResult
from kinject.errors import ConfigError
from kinject.report import write_loss_history

if TYPE_CHECKING:
    from pathlib import Path

    from kinject_plugins.trainers.sft import SFTOptions, SFTTrainer

log = logging.getLogger(__name__)
SOURCE = "trainer sft"
#: Opacus' notes that do not apply here: the frozen base has no input grads by design; the
#: default (non-cryptographic) RNG is what Opacus recommends outside a final production run
QUIET = (
    "Full backward hook is firing",
    "Secure RNG turned off",
    "Optimal order is the largest alpha",
)


class DPOptions(BaseModel):
    """``trainer.dp``: differentially private training; give a target ε or a noise multiplier."""

    model_config = ConfigDict(extra="forbid")

    #: the ε the whole run may spend; the noise multiplier is chosen to meet it
    target_epsilon: float | None = Field(None, gt=0.0)
    #: the noise's standard deviation over the clipping norm (instead of a target ε)
    noise_multiplier: float | None = Field(None, gt=0.0)
    #: None: min(1e-5, 1/(10·N)) for N training rows; it must stay below 1/N
    delta: float | None = Field(None, gt=0.0, lt=1.0)
    #: each row's gradient (over all adapter weights) is clipped to this L2 norm
    max_grad_norm: float = Field(1.0, gt=0.0)
    #: Opacus' accountants: PRV (tighter) or RDP
    accountant: Literal["prv", "rdp"] = "prv"
    #: cryptographically secure noise and sampling (needs torchcsprng); for the final model
    secure_mode: bool = False

    @model_validator(mode="after")
    def _one_noise_source(self) -> DPOptions:
        if (self.target_epsilon is None) == (self.noise_multiplier is None):
            raise ValueError("set exactly one of target_epsilon and noise_multiplier")
        return self


def check_private(opts: SFTOptions, strategy: str) -> None:
    """Every option that would break or misreport the guarantee, as one ConfigError."""
    problems = []
    if strategy != "sft":
        problems.append(f"trainer.dp is supported by the sft strategy, not {strategy}")
    if opts.method != "lora":
        problems.append(f"trainer.dp trains a LoRA adapter; method {opts.method} is not supported")
    if opts.packing:
        problems.append(
            "trainer.dp needs packing: false (a packed row mixes records, the privacy unit)"
        )
    if opts.padding_free:
        problems.append(
            "trainer.dp needs padding_free off (one flattened batch has no per-row gradients)"
        )
    if opts.gradient_accumulation != 1:
        problems.append(
            "trainer.dp draws each batch by Poisson sampling; set gradient_accumulation: 1 "
            "and the expected batch with batch_size"
        )
    if opts.early_stopping_patience is not None:
        problems.append(
            "trainer.dp trains a fixed number of steps (its ε is computed for them); "
            "drop early_stopping_patience"
        )
    secure = opts.dp is not None and opts.dp.secure_mode
    if secure and importlib.util.find_spec("torchcsprng") is None:
        problems.append("trainer.dp.secure_mode needs torchcsprng (github.com/pytorch/csprng)")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        problems.append("trainer.dp trains in one process; run it without --num-processes")
    if problems:
        raise ConfigError(problems, source=SOURCE)


def require_opacus() -> None:
    if importlib.util.find_spec("opacus") is None:
        raise ConfigError("trainer.dp needs opacus: pip install 'kinject[dp]'", source=SOURCE)


def resolve_delta(delta: float | None, rows: int) -> float:
    """The option's δ, else min(1e-5, 1/(10·N)); a δ of 1/N or more would allow leaking a row."""
    if delta is None:
        return min(1e-5, 0.1 / rows)
    if delta >= 1.0 / rows:
        raise ConfigError(
            f"trainer.dp.delta={delta:g} must be below 1/N = {1.0 / rows:.3g} "
            f"for {rows} training rows",
            source=SOURCE,
        )
    return delta


def planned_steps(opts: SFTOptions, batches_per_epoch: int) -> int:
    """``max_steps``, else ``epochs`` passes of ``batches_per_epoch`` expected batches."""
    return opts.max_steps or max(1, math.ceil(opts.epochs * batches_per_epoch))


def noise_for(dp: DPOptions, sample_rate: float, steps: int, delta: float) -> float:
    """The option's noise multiplier, or the smallest that keeps ε at most the target."""
    if dp.noise_multiplier is not None:
        return dp.noise_multiplier
    from opacus.accountants.utils import get_noise_multiplier

    assert dp.target_epsilon is not None
    return float(
        get_noise_multiplier(
            target_epsilon=dp.target_epsilon,
            target_delta=delta,
            sample_rate=sample_rate,
            steps=steps,
            accountant=dp.accountant,
        )
    )


def collate_rows(pad_id: int) -> Any:
    """Right-padded ``input_ids``, ``attention_mask``, ``labels`` (-100: no loss) of rows."""
    import torch

    def collate(rows: list[dict[str, list[int]]]) -> dict[str, Any]:
        width = max((len(r["input_ids"]) for r in rows), default=1)
        ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        labels = torch.full((len(rows), width), -100, dtype=torch.long)
        for i, row in enumerate(rows):
            n = len(row["input_ids"])
            ids[i, :n] = torch.tensor(row["input_ids"])
            mask[i, :n] = 1
            trained = torch.tensor(row["completion_mask"], dtype=torch.bool)
            labels[i, :n] = ids[i, :n].masked_fill(~trained, -100)
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}

    return collate


def per_row_loss(logits: Any, labels: Any) -> Any:
    """Each row's mean loss over its trained tokens, so each row's gradient is its own."""
    import torch

    shifted, targets = logits[:, :-1].float(), labels[:, 1:]
    token_loss = torch.nn.functional.cross_entropy(
        shifted.transpose(1, 2), targets.clamp(min=0), reduction="none"
    )
    trained = (targets != -100).float()
    return (token_loss * trained).sum(dim=1) / trained.sum(dim=1).clamp(min=1.0)


class PrivateRun:
    """One DP-SGD training: model, private optimizer and loader, the loop, the result."""

    def __init__(self, trainer: SFTTrainer, job: TrainJob) -> None:
        self.trainer, self.job, self.opts = trainer, job, trainer.opts
        assert self.opts.dp is not None
        self.dp: DPOptions = self.opts.dp
        self.log_history: list[dict[str, Any]] = []
        self.tokens = 0

    def setup(self) -> None:
        """Model + adapter, token rows, and Opacus' private model, optimizer and Poisson loader."""
        import torch
        from opacus import PrivacyEngine
        from peft import get_peft_model
        from torch.utils.data import DataLoader
        from transformers import get_scheduler, set_seed

        set_seed(self.trainer.seed_for(self.job.context))
        base, self.tokenizer = self.trainer.load_model(self.job.base_model)
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        model = get_peft_model(base, self.trainer.peft_config()).to(self.device)
        rows = self.trainer.build_dataset(self.job.train, self.tokenizer, "train").to_list()
        self.rows = len(rows)
        self.delta = resolve_delta(self.dp.delta, self.rows)
        loader = DataLoader(
            rows,
            batch_size=self.opts.batch_size,
            collate_fn=collate_rows(self.tokenizer.pad_token_id),
        )
        self.sample_rate = 1.0 / len(loader)
        self.steps = planned_steps(self.opts, len(loader))
        self.noise = noise_for(self.dp, self.sample_rate, self.steps, self.delta)
        params = [p for p in model.parameters() if p.requires_grad]
        from kinject_plugins.trainers.sft import DEFAULT_LR

        optimizer = torch.optim.AdamW(
            params,
            lr=self.opts.learning_rate or DEFAULT_LR["lora"],
            weight_decay=self.opts.weight_decay,
        )
        self.engine = PrivacyEngine(accountant=self.dp.accountant, secure_mode=self.dp.secure_mode)
        self.model, self.optimizer, self.loader = self.engine.make_private(
            module=model,
            optimizer=optimizer,
            data_loader=loader,
            noise_multiplier=self.noise,
            max_grad_norm=self.dp.max_grad_norm,
            poisson_sampling=True,
        )
        self.scheduler = get_scheduler(
            self.opts.lr_scheduler,
            optimizer,
            num_training_steps=self.steps,
            num_warmup_steps=math.ceil(self.opts.warmup_ratio * self.steps),
        )

    def autocast(self) -> Any:
        import torch

        from kinject_plugins.trainers.sft import mixed_precision

        bf16, fp16 = mixed_precision(self.opts.precision, self.device.type == "cuda")
        dtype = torch.bfloat16 if bf16 else torch.float16
        return torch.autocast(self.device.type, dtype=dtype, enabled=bf16 or fp16)

    def step(self, batch: dict[str, Any]) -> float | None:
        """One private step; an empty Poisson batch still adds noise and counts as a step."""
        import torch

        if batch["input_ids"].shape[0] == 0:
            for p in self.optimizer.params:
                p.grad_sample = torch.zeros((0, *p.shape), dtype=p.dtype, device=p.device)
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            return None
        batch = {k: v.to(self.device) for k, v in batch.items()}
        with self.autocast():
            logits = self.model(
                input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
            ).logits
        loss = per_row_loss(logits, batch["labels"]).mean()
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.tokens += int(batch["attention_mask"].sum())
        return float(loss.detach())

    def batches(self) -> Any:
        """Poisson batches for ``self.steps`` steps, starting a new pass when one ends."""
        done = 0
        while done < self.steps:
            for batch in self.loader:
                yield batch
                done += 1
                if done >= self.steps:
                    return

    def loop(self) -> None:
        """Train, driving the same progress callback (bar, JSON log lines) as the HF trainers."""
        from transformers import TrainerControl, TrainerState

        from kinject.console import verbose
        from kinject_plugins.trainers.progress_callback import ProgressCallback

        state = TrainerState(max_steps=self.steps, is_local_process_zero=True)
        control = TrainerControl()
        progress = ProgressCallback(
            f"training ({self.trainer.name}, DP-SGD)",
            enabled=self.job.context.show_progress and not verbose(),
        )
        progress.on_train_begin(None, state, control)
        self.model.train()
        window: list[float] = []
        for batch in self.batches():
            loss = self.step(batch)
            self.scheduler.step()
            window += [] if loss is None else [loss]
            state.global_step += 1
            state.num_input_tokens_seen = self.tokens
            if window and (
                state.global_step % self.opts.logging_steps == 0 or state.global_step == 1
            ):
                entry = {
                    "loss": sum(window) / len(window),
                    "learning_rate": self.scheduler.get_last_lr()[0],
                }
                self.log_history.append({**entry, "step": state.global_step})
                progress.on_log(None, state, control, logs=entry)
                window = []
            progress.on_step_end(None, state, control)
        progress.on_train_end(None, state, control)

    def eval_loss(self, records: list[Any]) -> float:
        """Mean per-row loss on held-out records (no privacy cost: they are not trained on)."""
        import torch

        rows = self.trainer.build_dataset(records, self.tokenizer, "eval").to_list()
        collate = collate_rows(self.tokenizer.pad_token_id)
        module = self.model._module
        module.eval()
        losses = []
        with torch.no_grad(), self.autocast():
            for start in range(0, len(rows), self.opts.batch_size):
                batch = {
                    k: v.to(self.device)
                    for k, v in collate(rows[start : start + self.opts.batch_size]).items()
                }
                logits = module(
                    input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
                ).logits
                losses += per_row_loss(logits, batch["labels"]).tolist()
        return sum(losses) / len(losses)

    def save(self, final: Path) -> Path:
        """The adapter and tokenizer in ``final``, written through a temporary folder."""
        from kinject_plugins.trainers.sft import sort_adapter_config

        staging = final.with_name(final.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        self.model._module.save_pretrained(str(staging))
        self.tokenizer.save_pretrained(staging)
        sort_adapter_config(staging)
        shutil.rmtree(final, ignore_errors=True)
        staging.rename(final)
        return final

    def privacy_metrics(self) -> dict[str, Any]:
        """What was spent: ε at δ by the accountant, and the settings it was computed from."""
        return {
            "dp_epsilon": float(self.engine.get_epsilon(self.delta)),
            "dp_delta": self.delta,
            "dp_noise_multiplier": round(self.noise, 4),
            "dp_max_grad_norm": self.dp.max_grad_norm,
            "dp_sample_rate": round(self.sample_rate, 6),
            "dp_steps": sum(int(entry[-1]) for entry in self.engine.accountant.history),
            "dp_rows": self.rows,
        }


def train_private(trainer: SFTTrainer, job: TrainJob) -> TrainResult:
    """``sft`` with ``trainer.dp`` set: DP-SGD on the LoRA adapter; ε spent in the metrics."""
    from kinject_plugins.trainers.sft import peak_memory_mb

    require_opacus()
    check_private(trainer.opts, trainer.name)
    if job.resume:
        log.warning(
            "sft: trainer.dp does not resume from checkpoints (the accountant starts over "
            "with the training); training from the start"
        )
    run = PrivateRun(trainer, job)
    with warnings.catch_warnings():
        for text in QUIET:
            warnings.filterwarnings("ignore", message=text)
        run.setup()
        started = time.perf_counter()  # the loop only, as sft's train_time_s
        run.loop()
    train_time = time.perf_counter() - started
    final = run.save(job.output_dir / "final")
    write_loss_history(run.log_history, job.output_dir)
    losses = [e["loss"] for e in run.log_history]
    params = list(run.model._module.parameters())
    metrics: dict[str, Any] = {
        "train_time_s": round(train_time, 3),
        "train_tokens": run.tokens,
        "tokens_per_s": round(run.tokens / train_time, 1) if train_time > 0 else 0.0,
        "trainable_params": sum(p.numel() for p in params if p.requires_grad),
        "total_params": sum(p.numel() for p in params),
        "peak_memory_mb": round(peak_memory_mb(), 1),
        "final_train_loss": losses[-1] if losses else float("nan"),
        "mean_train_loss": sum(losses) / len(losses) if losses else float("nan"),
        "steps": run.steps,
        **trainer.truncation_metrics(),
        **run.privacy_metrics(),
    }
    if job.eval:
        metrics["eval_loss"] = run.eval_loss(job.eval)
    return TrainResult(model_dir=final, base_model=job.base_model, adapter=True, metrics=metrics)
