"""``distill``: a teacher that knows the domain teaches a smaller student.

One run, top to bottom: the teacher (an ``sft`` adapter trained first in this run, or the
``sft`` row ``inject compare`` trained before this one and handed over in ``TrainJob.prior``,
or any model ``kinject.models.resolve_model`` finds), merged and frozen -> the student (the teacher
with
every other decoder layer dropped, or a named model sharing the tokenizer) -> ``sft``'s
dataset and TRL trainer, with the loss ``alpha · T² · KL(teacher_T ‖ student_T) + (1 − alpha) · CE``
on the trained tokens -> the student saved as a whole model, with its size and speed beside
the teacher's in the metrics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, field_validator

from kinject.components import TrainJob, TrainResult
from kinject.errors import ConfigError
from kinject.stages import fingerprint
from kinject_plugins.trainers.sft import SFTOptions, SFTTrainer

TEACHER_DIR = "teacher"


class DistillOptions(SFTOptions):
    """``sft``'s options for training the student, plus the teacher, the student and the loss."""

    #: the student is always trained (and saved) whole
    method: Literal["lora", "full", "qlora"] = "full"
    #: a smaller network needs a larger step than full fine-tuning of the base
    learning_rate: float | None = Field(2e-4, gt=0.0)
    #: ``sft`` (train or reuse an sft adapter on the base) or a model spec (alias, dir, .gguf)
    teacher: str = "sft"
    #: options of the sft run that trains the teacher
    teacher_options: dict[str, Any] = Field(default_factory=dict)
    #: ``drop-layers`` (the teacher with layers dropped) or a model spec
    student: str = "drop-layers"
    #: layers the drop-layers student keeps; default every other one (0, 2, 4, ...)
    keep_layers: list[int] | None = None
    #: weight of the distillation term; ``1 - alpha`` goes to cross-entropy on the labels
    alpha: float = Field(0.5, ge=0.0, le=1.0)
    temperature: float = Field(2.0, gt=0.0)
    #: new tokens generated when timing teacher and student
    speed_tokens: int = Field(32, ge=1)

    @field_validator("method")
    @classmethod
    def _full_only(cls, value: str) -> str:
        if value != "full":
            raise ValueError("distill trains the student whole: method must be full")
        return value


class DistillTrainer(SFTTrainer):
    """Knowledge distillation: temperature-scaled KL to a teacher plus cross-entropy."""

    name = "distill"
    description = "teacher -> smaller student (layers dropped or a named model), KL + CE"
    Options: ClassVar[type[BaseModel]] = DistillOptions
    opts: DistillOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._job: TrainJob | None = None
        self._teacher: Any = None
        self._teacher_info: dict[str, Any] = {}
        self._loss: DistillationLoss | None = None

    def train(self, job: TrainJob) -> TrainResult:
        self._job = job
        try:
            result = super().train(job)
        finally:
            self._job = None
        result.extra.update(kind="distill", teacher=self._teacher_info.get("teacher", ""))
        self._teacher = None
        return result

    # -- teacher ------------------------------------------------------------------------------

    def load_model(self, base_model: Path) -> tuple[Any, Any]:
        """Load the teacher, then build the student; returns the student and its tokenizer."""
        from kinject.models import load_causal_lm, resolve_model
        from kinject_plugins.trainers.student import drop_layers, every_other_layer

        assert self._job is not None, "load_model is called from train()"
        self._teacher = self.load_teacher(self._job)
        if self.opts.student == "drop-layers":
            _, tokenizer = load_causal_lm(base_model)
            n_layers = self._teacher.config.num_hidden_layers
            keep = self.opts.keep_layers or every_other_layer(n_layers)
            student = drop_layers(self._teacher, keep)
        else:
            student, tokenizer = load_causal_lm(resolve_model(self.opts.student))
        check_same_vocabulary(self._teacher, student)
        return student, tokenizer

    def load_teacher(self, job: TrainJob) -> Any:
        """The teacher, merged, frozen and in eval mode."""
        from kinject.models import load_causal_lm, resolve_model

        if self.opts.teacher == "sft":
            from kinject.trained import load_trained

            result = prior_sft_result(job) or self.train_teacher(job)
            model, _ = load_trained(result, merge=True)
            disk = [result.base_model, result.model_dir] if result.adapter else [result.model_dir]
            self._teacher_info = {"teacher": f"sft:{result.model_dir}", "disk": disk}
        else:
            path = resolve_model(self.opts.teacher)
            model, _ = load_causal_lm(path)
            self._teacher_info = {"teacher": self.opts.teacher, "disk": [path]}
        model.eval()
        for param in model.parameters():
            param.requires_grad_(False)
        return model

    def train_teacher(self, job: TrainJob) -> TrainResult:
        """Train an ``sft`` adapter on the same data, or reuse the one this run already trained."""
        from dataclasses import replace

        out = job.output_dir / TEACHER_DIR
        key = fingerprint(
            str(job.base_model),
            [r.id for r in job.train],
            self.opts.teacher_options,
            self.seed_for(self.context),
        )
        cached = TrainResult.cached(out, key, self.context.run_dir)
        if cached is not None:
            return TrainResult(cached.model_dir, cached.base_model, cached.adapter)
        teacher_options = {"report_to": self.opts.report_to, **self.opts.teacher_options}
        teacher = SFTTrainer(**teacher_options)
        teacher.setup(self.context)
        result = teacher.train(replace(job, output_dir=out))
        result.save(self.context.run_dir, out, key)
        return result

    # -- training -----------------------------------------------------------------------------

    def build_trainer(
        self, job: TrainJob, model: Any, tokenizer: Any, train_data: Any, eval_data: Any
    ) -> Any:
        from kinject_plugins.trainers.loss_terms import replace_loss

        trainer = super().build_trainer(job, model, tokenizer, train_data, eval_data)
        self._teacher.to(trainer.args.device)
        self._loss = DistillationLoss(self._teacher, self.opts.alpha, self.opts.temperature)
        replace_loss(trainer, self._loss)
        return trainer

    def collect_metrics(self, trainer: Any, output: Any, started: float) -> dict[str, Any]:
        from kinject_plugins.trainers.student import (
            generation_speed,
            parameter_count,
            safetensors_mb,
        )

        metrics = super().collect_metrics(trainer, output, started)
        assert self._job is not None and self._loss is not None
        if not metrics["train_tokens"]:
            metrics["train_tokens"] = self._loss.tokens
            metrics["tokens_per_s"] = round(
                self._loss.tokens / max(metrics["train_time_s"], 1e-9), 1
            )
        tokenizer = trainer.processing_class
        student, teacher = trainer.model, self._teacher
        metrics.update(
            student_params=parameter_count(student),
            student_layers=int(student.config.num_hidden_layers),
            student_disk_mb=safetensors_mb(self._job.output_dir / "final"),
            student_tokens_per_s=generation_speed(student, tokenizer, self.opts.speed_tokens),
            teacher_params=parameter_count(teacher),
            teacher_layers=int(teacher.config.num_hidden_layers),
            teacher_disk_mb=safetensors_mb(*self._teacher_info.get("disk", [])),
            teacher_tokens_per_s=generation_speed(teacher, tokenizer, self.opts.speed_tokens),
            alpha=self.opts.alpha,
            temperature=self.opts.temperature,
        )
        return metrics


def prior_sft_result(job: TrainJob) -> TrainResult | None:
    """The ``sft`` result the comparison handed this job (``job.prior``), when it is on the same
    base.
    """
    result = job.prior.get("sft")
    if (
        result is None
        or result.base_model.resolve() != Path(job.base_model).resolve()
        or not result.model_dir.is_dir()
    ):
        return None
    return TrainResult(result.model_dir, result.base_model, result.adapter)


def check_same_vocabulary(teacher: Any, student: Any) -> None:
    """KL over next-token distributions needs one vocabulary on both sides."""
    t_vocab = teacher.get_output_embeddings().weight.shape[0]
    s_vocab = student.get_output_embeddings().weight.shape[0]
    if t_vocab != s_vocab:
        raise ConfigError(
            f"teacher and student must share a tokenizer: vocabularies of {t_vocab} and {s_vocab} "
            "tokens",
            source="trainer distill",
        )


class DistillationLoss:
    """``alpha·T²·KL(teacher ‖ student) + (1−alpha)·CE`` over the labelled tokens of a batch.

    Called as ``loss(model, inputs, num_items) -> (loss, student outputs)``; counts the tokens
    it trained on (``tokens``) because it replaces the TRL loss that counted them.
    """

    def __init__(self, teacher: Any, alpha: float, temperature: float) -> None:
        self.teacher = teacher
        self.alpha = alpha
        self.temperature = temperature
        self.tokens = 0

    def __call__(self, model: Any, inputs: dict[str, Any], num_items: Any) -> tuple[Any, Any]:
        import torch
        import torch.nn.functional as F

        # Everything but the labels goes to both models (padding-free batches carry sequence
        # bounds).
        feed = {k: v for k, v in inputs.items() if k != "labels"}
        feed["use_cache"] = False
        outputs = model(**feed)
        with torch.no_grad():
            teacher_logits = self.teacher(**feed).logits[:, :-1]
        targets = inputs["labels"][:, 1:]
        mask = targets != -100
        if model.training:
            self.tokens += int(inputs["input_ids"].numel())
        student_logits = outputs.logits[:, :-1][mask].float()
        denominator = (
            mask.sum() if num_items is None else torch.as_tensor(num_items, device=mask.device)
        )
        denominator = denominator.clamp(min=1)
        ce = F.cross_entropy(student_logits, targets[mask], reduction="sum") / denominator
        t = self.temperature
        log_student = F.log_softmax(student_logits / t, dim=-1)
        log_teacher = F.log_softmax(teacher_logits[mask].float() / t, dim=-1)
        kl = F.kl_div(log_student, log_teacher, log_target=True, reduction="sum") / denominator
        return self.alpha * t**2 * kl + (1 - self.alpha) * ce, outputs
