"""``multistage``: several training stages in one run, each continuing from the one before.

The default plan is general -> domain -> instruction: plain LM on general text (so the
adapter starts from fluent language), EWC on the domain documents (holding what the general
stage learned), then SFT on the QA pairs (answering in the trained format). Each stage is a
whole ``sft`` or ``ewc`` run with its checkpoints and result under ``<output_dir>/<stage>/``; a LoRA
adapter is carried forward (``init_adapter``), a full model becomes the next stage's base.
On resume a finished stage is skipped and an interrupted one continues from its checkpoint.
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kinject.components import RESULT_FILE, Trainer, TrainJob, TrainResult
from kinject.errors import ConfigError
from kinject.records import Record
from kinject.stages import fingerprint
from kinject_plugins.trainers.continued_sft import ContinuedSFTTrainer
from kinject_plugins.trainers.ewc import EWCTrainer
from kinject_plugins.trainers.previous_run import reference_records

log = logging.getLogger(__name__)

#: strategies a stage can use: both continue from the previous stage's adapter
STAGE_TRAINERS: dict[str, type[ContinuedSFTTrainer]] = {
    "sft": ContinuedSFTTrainer,
    "ewc": EWCTrainer,
}
#: named data selections; anything else is a JSONL file or a previous run directory
DATA_KINDS: dict[str, tuple[str, ...] | None] = {
    "all": None,
    "documents": ("document", "passage"),
    "qa": ("qa",),
    "reference": (),
}
#: a finished stage's result, saved with the stage's fingerprint
DONE_FILE = RESULT_FILE


class StageSpec(BaseModel):
    """One stage: ``{name: domain, strategy: ewc, data: documents, options: {...}}``."""

    model_config = ConfigDict(extra="forbid")

    name: str
    strategy: Literal["sft", "ewc"] = "sft"
    #: ``all``, ``documents``, ``qa``, ``reference`` (the general text), or a JSONL / run directory
    data: str = "all"
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _folder_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", value):
            raise ValueError(
                f"stage name {value!r} must be letters, digits, '-' or '_' (it names a folder)"
            )
        return value


DEFAULT_STAGES = [
    StageSpec(name="general", strategy="sft", data="reference", options={"epochs": 1}),
    StageSpec(name="domain", strategy="ewc", data="documents", options={"replay_ratio": 0.0}),
    StageSpec(name="instruction", strategy="sft", data="qa"),
]


class MultiStageOptions(BaseModel):
    """Options of the ``multistage`` trainer."""

    model_config = ConfigDict(extra="forbid")

    stages: list[StageSpec] = Field(
        default_factory=lambda: [s.model_copy() for s in DEFAULT_STAGES], min_length=1
    )
    #: options given to every stage (a stage's own options win), e.g. ``{max_length: 256}``
    common: dict[str, Any] = Field(default_factory=dict)
    #: a stage with no data (say, no QA records) is skipped instead of failing the run
    skip_empty: bool = True

    @model_validator(mode="after")
    def _check_stages(self) -> MultiStageOptions:
        problems = []
        names = [s.name for s in self.stages]
        problems += [
            f"stage name {n!r} is used twice"
            for n in sorted({n for n in names if names.count(n) > 1})
        ]
        for stage in self.stages:
            try:
                STAGE_TRAINERS[stage.strategy](**{**self.common, **stage.options})
            except ValidationError as exc:
                problems += [
                    f"stage {stage.name}: {'.'.join(map(str, e['loc']))}: {e['msg']}"
                    for e in exc.errors()
                ]
        if problems:
            raise ValueError("; ".join(problems))
        return self


class MultiStageTrainer(Trainer):
    """General -> domain -> instruction (or any stage list), one adapter carried through."""

    name = "multistage"
    description = "several sft/ewc stages in one run (general -> domain -> instruction), resumable"
    Options: ClassVar[type[BaseModel]] = MultiStageOptions
    opts: MultiStageOptions

    def train(self, job: TrainJob) -> TrainResult:
        previous: TrainResult | None = None
        chain = fingerprint(str(job.base_model), self.context.seed)
        per_stage: dict[str, dict[str, Any]] = {}
        for stage in self.opts.stages:
            records = stage_records(stage, job.train, job.reference)
            chain = fingerprint(
                chain, stage.model_dump(), self.opts.common, [r.id for r in records]
            )
            if not records:
                if not self.opts.skip_empty:
                    raise ConfigError(
                        f"stage {stage.name} has no {stage.data} records",
                        source="trainer multistage",
                    )
                log.warning(
                    "multistage: stage %s has no %s records; skipped", stage.name, stage.data
                )
                per_stage[stage.name] = {"skipped": "no data"}
                continue
            result, skipped = self.run_stage(job, stage, records, previous, chain)
            per_stage[stage.name] = {**result.metrics, "skipped": skipped}
            previous = result
        if previous is None:
            raise ConfigError("no stage had any data to train on", source="trainer multistage")
        return TrainResult(
            previous.model_dir,
            previous.base_model,
            previous.adapter,
            metrics=combine_metrics(per_stage),
            extra={"kind": "multistage", "stages": [s.name for s in self.opts.stages]},
        )

    def run_stage(
        self,
        job: TrainJob,
        stage: StageSpec,
        records: list[Record],
        previous: TrainResult | None,
        key: str,
    ) -> tuple[TrainResult, bool]:
        """Train one stage, or load it when a resumed run finished it already."""
        folder = job.output_dir / stage.name
        finished = TrainResult.cached(folder, key, self.context.run_dir) if job.resume else None
        if finished is not None:
            log.info("multistage: stage %s finished earlier; skipped", stage.name)
            return finished, True
        if not job.resume:
            shutil.rmtree(folder, ignore_errors=True)
        options = {**self.opts.common, **stage.options}
        base = job.base_model
        if previous is not None and previous.adapter:
            options["init_adapter"] = str(previous.model_dir)
        elif previous is not None:
            base = previous.model_dir
        trainer = STAGE_TRAINERS[stage.strategy](**options)
        trainer.setup(self.context)
        eval_records = (
            stage_records(stage, job.eval, []) if stage.data in ("all", "documents", "qa") else []
        )
        stage_job = TrainJob(
            base,
            records,
            folder,
            self.context,
            eval=eval_records,
            reference=job.reference,
            resume=job.resume,
        )
        result = trainer.train(stage_job)
        result.save(self.context.run_dir, folder, key)
        return result, False


def stage_records(stage: StageSpec, train: list[Record], reference: list[Record]) -> list[Record]:
    """The records a stage trains on."""
    if stage.data not in DATA_KINDS:
        return reference_records(Path(stage.data), source=f"trainer multistage, stage {stage.name}")
    if stage.data == "reference":
        return list(reference)
    kinds = DATA_KINDS[stage.data]
    return list(train) if kinds is None else [r for r in train if r.kind in kinds]


def combine_metrics(per_stage: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Totals over the stages, the last stage's model figures, and every stage's numbers as
    ``<stage>/<key>``.
    """
    trained = [m for m in per_stage.values() if "steps" in m]
    last = trained[-1]
    out: dict[str, Any] = {
        "train_time_s": round(sum(m.get("train_time_s", 0.0) for m in trained), 3),
        "train_tokens": sum(m.get("train_tokens", 0) for m in trained),
        "steps": sum(m.get("steps", 0) for m in trained),
        "peak_memory_mb": max(m.get("peak_memory_mb", 0.0) for m in trained),
        "trainable_params": last.get("trainable_params", 0),
        "total_params": last.get("total_params", 0),
        "final_train_loss": last.get("final_train_loss"),
        "stages_trained": sum(1 for m in trained if not m.get("skipped")),
    }
    time_s = out["train_time_s"]
    out["tokens_per_s"] = round(out["train_tokens"] / time_s, 1) if time_s else 0.0
    for stage, metrics in per_stage.items():
        for key, value in metrics.items():
            if isinstance(value, int | float | str):
                out[f"{stage}/{key}"] = value
    return out
