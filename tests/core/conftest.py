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
        return TrainResult(
            final, job.base_model, adapter=False, metrics={"train_time_s": 0.1, "train_tokens": 10}
        )


class CountParams(Evaluator):
    name = "count-params"

    def evaluate(
        self, model: EvalModel, items: Sequence[EvalItem], context: RunContext
    ) -> dict[str, Any]:
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


# Invented reports of two invented firms: amounts, years, dates and names to ask about.
REPORTS = {
    "harbour-lights.md": (
        "# Harbour Lights Ltd annual review\n\n"
        "Harbour Lights Ltd opened its first workshop in Calder in 1994. "
        "Revenue of Harbour Lights Ltd rose to $48.2 million in 2021 from $41.7 million in 2020. "
        "The board appointed Mara Ellison as chief executive on 3 March 2019. "
        "Operating costs of the firm fell by 6.5% in 2021. "
        "Harbour Lights Ltd employed 1,240 people at the end of 2021.\n\n"
        "The workshop in Calder was enlarged in 2008 at a cost of $3.1 million. "
        "A second workshop opened in Brenna in 2012. "
        "Net profit of Harbour Lights Ltd reached $5.9 million in 2021, up 12.0% on 2020.\n"
    ),
    "northgate-mills.md": (
        "# Northgate Mills annual review\n\n"
        "Northgate Mills was founded in Ostry in 1971. "
        "Sales of Northgate Mills reached $96.4 million in 2021 against $88.0 million in 2020. "
        "The company named Tobias Wren as chair on 14 June 2018. "
        "Energy use at the Ostry mill dropped by 9.2% in 2021. "
        "Northgate Mills paid a dividend of $2.4 million in 2021.\n\n"
        "The Ostry mill was rebuilt in 1988 for $7.6 million. "
        "Northgate Mills opened a warehouse in Vell in 2015. "
        "Debt of Northgate Mills fell to $12.3 million in 2021, down 4.8% on 2020.\n"
    ),
}


@pytest.fixture
def user_corpus(tmp_path: Path) -> Path:
    """A folder of two short invented annual reviews: a user's corpus, not the pack's."""
    folder = tmp_path / "my-documents"
    folder.mkdir()
    for name, text in REPORTS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder
