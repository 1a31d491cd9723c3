"""Options of the ``dpo`` trainer (and of ``kto`` and ``orpo``, the same trainer with another
method). No torch here: recipes are checked without loading it."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Method = Literal["dpo", "kto", "orpo"]

#: the loss types TRL 1.16 accepts, by method (ORPO has one loss and no choice)
LOSS_TYPES: dict[str, tuple[str, ...]] = {
    "dpo": (
        "sigmoid",
        "hinge",
        "ipo",
        "exo_pair",
        "nca_pair",
        "robust",
        "bco_pair",
        "sppo_hard",
        "aot",
        "aot_unpaired",
        "apo_zero",
        "apo_down",
        "discopop",
        "sft",
        "sigmoid_norm",
    ),
    "kto": ("kto", "apo_zero_unpaired"),
    "orpo": (),
}


class DPOOptions(BaseModel):
    """Options of the ``dpo`` trainer (recipe key ``trainer:``)."""

    model_config = ConfigDict(extra="forbid")

    #: ``dpo`` (paired, reference = adapter disabled), ``kto`` (unpaired good/bad answers), or
    #: ``orpo`` (odds-ratio term added to the chosen answers' cross-entropy; no reference)
    method: Method = "dpo"
    #: TRL's loss type; None: ``sigmoid`` for dpo, ``kto`` for kto (orpo has none)
    loss_type: str | None = None
    #: strength of the pull to the reference (dpo, kto); the odds-ratio weight λ for orpo
    beta: float = Field(0.1, gt=0.0)
    #: start from this adapter (a finished run or an adapter folder), not the sft row or the base
    init_adapter: Path | None = None
    # -- preference pairs: the same three sources as rlhf
    preferences: Path | None = None
    rubric_pairs: bool = True
    held_out_ratio: float = Field(0.2, ge=0.0, lt=1.0)
    # -- the LoRA adapter put on the starting policy
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    target_modules: list[str] | Literal["all-linear"] = "all-linear"
    # -- the optimisation
    learning_rate: float = Field(5e-5, gt=0.0)
    epochs: float = Field(1.0, gt=0.0)
    #: stop after this many optimizer steps (overrides ``epochs``); None = use epochs
    max_steps: int | None = Field(None, ge=1)
    batch_size: int = Field(8, ge=1)
    gradient_accumulation: int = Field(1, ge=1)
    #: tokens of prompt plus answer; longer pairs are cut at the end
    max_length: int = Field(512, ge=8)
    warmup_ratio: float = Field(0.1, ge=0.0, lt=1.0)
    lr_scheduler: str = "cosine"
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    gradient_checkpointing: bool = False
    save_steps: int = Field(50, ge=1)
    save_total_limit: int | None = Field(2, ge=1)
    #: None: ["tensorboard"] when it is installed, else nothing
    report_to: list[str] | None = None
    logging_steps: int = Field(10, ge=1)
    #: None: the run's seed
    seed: int | None = None

    @model_validator(mode="after")
    def _check_loss_type(self) -> DPOOptions:
        allowed = LOSS_TYPES[self.method]
        if self.loss_type is None:
            self.loss_type = allowed[0] if allowed else None
        elif not allowed:
            raise ValueError(f"method {self.method} has one loss and no loss_type; remove it")
        elif self.loss_type not in allowed:
            raise ValueError(
                f"loss_type {self.loss_type!r} is not one of method {self.method}'s: "
                f"{', '.join(allowed)}"
            )
        if self.method == "kto" and self.batch_size < 2:
            raise ValueError(
                "method kto needs batch_size of at least 2 "
                "(its KL term pairs answers within a batch)"
            )
        return self


class KTOOptions(DPOOptions):
    """The ``kto`` trainer's options: ``dpo``'s, with ``method: kto``."""

    method: Method = "kto"


class ORPOOptions(DPOOptions):
    """The ``orpo`` trainer's options: ``dpo``'s, with ``method: orpo``."""

    method: Method = "orpo"
    #: ORPO trains from the SFT loss up, so it takes a larger step than DPO
    learning_rate: float = Field(2e-4, gt=0.0)
