"""Stand-in trainer, evaluator and exporter plugins for engine tests (no real training)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from kinject import hookimpl
from kinject.components import Evaluator, Exporter, Trainer, TrainJob, TrainResult
from kinject.context import RunContext
from kinject.domains import DomainPack
from kinject.evaluation import EvalItem, EvalModel

CALLS: list[str] = []


class CopyTrainer(Trainer):
    """Copies the base model as the 'trained' one and records what it was given."""

    name = "copy"

    def train(self, job: TrainJob) -> TrainResult:
        CALLS.append(f"train:{len(job.train)}:{job.resume}")
        final = job.output_dir / "final"
        if final.exists():
            shutil.rmtree(final)
        shutil.copytree(job.base_model, final)
        return TrainResult(final, job.base_model, adapter=False, metrics={"train_time_s": 0.1, "train_tokens": 10})


class CountParams(Evaluator):
    name = "count-params"

    def evaluate(self, model: EvalModel, items: Sequence[EvalItem], context: RunContext) -> dict[str, Any]:
        return {"n_params": sum(p.numel() for p in model.model.parameters()), "items": len(items)}


class FailingExporter(Exporter):
    name = "failing"

    def export(self, result: TrainResult, out_dir: Path, context: RunContext) -> list[Path]:
        raise RuntimeError("disk full")


class ShrinkTrainer(CopyTrainer):
    """Like ``copy`` but zeroes one layer, so it 'forgets' something measurable."""

    name = "shrink"

    def train(self, job: TrainJob) -> TrainResult:
        from kinject.models import load_causal_lm

        result = super().train(job)
        model, tokenizer = load_causal_lm(result.model_dir)
        first = next(model.parameters())
        first.data.zero_()
        model.save_pretrained(result.model_dir)
        return result


class StandIns:
    @hookimpl
    def register_trainers(self, register: Callable[..., Any]) -> None:
        register(CopyTrainer)
        register(ShrinkTrainer)

    @hookimpl
    def register_evaluators(self, register: Callable[..., Any]) -> None:
        register(CountParams)

    @hookimpl
    def register_exporters(self, register: Callable[..., Any]) -> None:
        register(FailingExporter)


@pytest.fixture
def stand_ins(register_plugin: Callable[..., Any], registered_pack: DomainPack) -> DomainPack:
    register_plugin(StandIns(), name="stand-ins")
    CALLS.clear()
    return registered_pack




@pytest.fixture
def train_calls(stand_ins: DomainPack) -> list[str]:
    """What the stand-in trainers were asked to do, in order."""
    return CALLS
