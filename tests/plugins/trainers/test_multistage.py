"""The ``multistage`` trainer: stages in order, the adapter carried forward, resume, validation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from kinject.components import TrainJob, TrainResult
from kinject.context import RunContext
from kinject.records import Record, write_jsonl
from kinject_plugins.trainers.multistage import DONE_FILE, MultiStageTrainer

QUICK = {"batch_size": 2, "report_to": [], "save_steps": 100, "lora_dropout": 0.0, "max_steps": 2}
GENERAL = [Record(text="Paris is the capital of France."), Record(text="A week has seven days.")]


def train_records(with_qa: bool = True) -> list[Record]:
    records = [Record(text="The Harbor Court of Veloria hears appeals within 21 days.")]
    if with_qa:
        records.append(
            Record(
                text="q",
                kind="qa",
                meta={"question": "Who founded the Harbor Court?", "answer": "Judge Imra Solt"},
            )
        )
    return records


def run(
    ctx: RunContext,
    model: Path,
    out: Path,
    resume: bool = False,
    with_qa: bool = True,
    **options: Any,
) -> TrainResult:
    trainer = MultiStageTrainer(**{"common": QUICK, **options})
    return trainer.train(
        TrainJob(
            base_model=model,
            train=train_records(with_qa),
            output_dir=out,
            context=ctx,
            reference=GENERAL,
            resume=resume,
        )
    )


def adapter(folder: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(folder / "final" / "adapter_model.safetensors"))


@pytest.mark.slow
def test_default_plan_runs_three_stages_in_order(
    tiny_model: Path, run_context: RunContext, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = run(run_context, tiny_model, out)
    for stage in ("general", "domain", "instruction"):
        assert (out / stage / "final" / "adapter_model.safetensors").is_file()
        assert (out / stage / DONE_FILE).is_file()
        assert result.metrics[f"{stage}/steps"] == 2
    assert result.model_dir == out / "instruction" / "final"
    assert result.adapter and result.base_model == tiny_model
    assert result.metrics["steps"] == 6 and result.metrics["stages_trained"] == 3
    assert result.metrics["domain/fisher_samples"] == len(GENERAL)  # the ewc stage
    assert result.extra == {"kind": "multistage", "stages": ["general", "domain", "instruction"]}


def test_each_stage_continues_from_the_previous_adapter(
    tiny_model: Path, run_context: RunContext, tmp_path: Path
) -> None:
    import torch

    frozen = {"learning_rate": 1e-12}
    stages = [
        {"name": "first", "data": "all", "options": {"learning_rate": 3e-3, "max_steps": 6}},
        {"name": "second", "data": "documents", "options": frozen},
        {"name": "third", "strategy": "ewc", "data": "qa", "options": frozen},
    ]
    out = tmp_path / "out"
    run(run_context, tiny_model, out, stages=stages)
    first, third = adapter(out / "first"), adapter(out / "third")
    assert first.keys() == third.keys()
    trained_b = [k for k in first if "lora_B" in k]
    # the first stage moved B away from zero
    assert any(first[k].abs().max() > 1e-4 for k in trained_b)
    # later stages barely train, so they must still hold the first stage's weights
    for key in first:
        assert torch.allclose(first[key], third[key], atol=1e-6), key


def test_resume_skips_finished_stages(
    tiny_model: Path, run_context: RunContext, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run(run_context, tiny_model, out)
    general_weights = (out / "general" / "final" / "adapter_model.safetensors").stat().st_mtime_ns
    (out / "instruction" / DONE_FILE).unlink()  # as if killed during the last stage
    resumed = run(run_context, tiny_model, out, resume=True)
    assert resumed.metrics["general/skipped"] is True and resumed.metrics["domain/skipped"] is True
    assert resumed.metrics["instruction/skipped"] is False
    assert resumed.metrics["stages_trained"] == 1
    assert (
        out / "general" / "final" / "adapter_model.safetensors"
    ).stat().st_mtime_ns == general_weights


def test_a_stage_without_data_is_skipped(
    tiny_model: Path, run_context: RunContext, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = run(run_context, tiny_model, out, with_qa=False)
    assert result.metrics["instruction/skipped"] == "no data"
    assert result.model_dir == out / "domain" / "final"


def test_stage_data_from_a_file(tiny_model: Path, run_context: RunContext, tmp_path: Path) -> None:
    data = tmp_path / "older-domain.jsonl"
    write_jsonl(data, [Record(text="Tenants in Veloria must give 45 days notice.")])
    result = run(
        run_context, tiny_model, tmp_path / "out", stages=[{"name": "old", "data": str(data)}]
    )
    assert result.metrics["old/steps"] == 2


def test_bad_stages_are_all_reported() -> None:
    stages = [
        {"name": "a", "options": {"lora_rank": 4}},
        {"name": "a", "strategy": "ewc", "options": {"ewc_lambda": -1}},
    ]
    with pytest.raises(ValidationError) as info:
        MultiStageTrainer(stages=stages)
    message = str(info.value)
    assert "used twice" in message and "lora_rank" in message and "ewc_lambda" in message
    with pytest.raises(ValidationError, match="names a folder"):
        MultiStageTrainer(stages=[{"name": "../x"}])
    with pytest.raises(ValidationError):
        MultiStageTrainer(stages=[{"name": "x", "strategy": "rag"}])
