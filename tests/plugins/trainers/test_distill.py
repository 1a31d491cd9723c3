"""The ``distill`` trainer on a tiny random model: layer dropping, the loss, teachers, resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kinject.components import TrainJob, TrainResult
from kinject.context import RunContext
from kinject.errors import ConfigError
from kinject.records import Record
from kinject_plugins.trainers.distill import (
    TEACHER_DIR,
    DistillationLoss,
    DistillTrainer,
    prior_sft_result,
)
from kinject_plugins.trainers.student import drop_layers, every_other_layer

TEXTS = [
    "The Harbor Court of Veloria hears appeals within 21 days of judgment.",
    "Tenants in Veloria must give 45 days notice before leaving.",
]


def records() -> list[Record]:
    qa = Record(
        text="q",
        kind="qa",
        meta={"question": "Who founded the Harbor Court?", "answer": "Judge Imra Solt"},
    )
    return [Record(text=t) for t in TEXTS] + [qa]


def make_trainer(**options: Any) -> DistillTrainer:
    quick = {"batch_size": 2, "report_to": [], "save_steps": 100, "logging_steps": 1}
    defaults: dict[str, Any] = {
        **quick,
        "max_steps": 4,
        "speed_tokens": 4,
        "teacher_options": {**quick, "max_steps": 4, "lora_dropout": 0.0},
    }
    return DistillTrainer(**{**defaults, **options})


def run(
    trainer: DistillTrainer, model: Path, ctx: RunContext, out: Path, resume: bool = False
) -> TrainResult:
    return trainer.train(
        TrainJob(base_model=model, train=records(), output_dir=out, context=ctx, resume=resume)
    )


def test_drop_layers_keeps_the_chosen_layers_weights(tiny_model: Path) -> None:
    import torch

    from kinject.models import load_causal_lm

    model, tokenizer = load_causal_lm(tiny_model)
    assert every_other_layer(5) == [0, 2, 4]
    student = drop_layers(model, [1])
    assert student.config.num_hidden_layers == 1 and len(student.model.layers) == 1
    assert model.config.num_hidden_layers == 2  # the source model is untouched
    assert torch.equal(
        student.model.layers[0].mlp.up_proj.weight, model.model.layers[1].mlp.up_proj.weight
    )
    ids = tokenizer("The contract is void.", return_tensors="pt")["input_ids"]
    assert student(input_ids=ids).logits.shape == model(input_ids=ids).logits.shape
    out = student.generate(
        ids,
        max_new_tokens=3,
        min_new_tokens=3,
        do_sample=False,
        pad_token_id=tokenizer.pad_token_id,
    )
    assert out.shape[1] == ids.shape[1] + 3
    with pytest.raises(ConfigError, match="keep_layers"):
        drop_layers(model, [0, 7])


def test_loss_is_zero_against_itself_and_plain_cross_entropy_without_the_teacher(
    tiny_model: Path,
) -> None:
    import torch

    from kinject.models import load_causal_lm

    model, tokenizer = load_causal_lm(tiny_model)
    ids = tokenizer("Tenants must give notice.", return_tensors="pt")["input_ids"]
    labels = ids.clone()
    labels[0, :2] = -100
    inputs = {"input_ids": ids, "labels": labels}
    with torch.no_grad():
        kl_only, _ = DistillationLoss(model, alpha=1.0, temperature=2.0)(model, inputs, None)
        ce_only, _ = DistillationLoss(model, alpha=0.0, temperature=2.0)(model, inputs, None)
        reference = model(input_ids=ids, labels=labels).loss
    assert float(kl_only) == pytest.approx(0.0, abs=1e-6)
    assert float(ce_only) == pytest.approx(float(reference), rel=1e-5)


def test_sft_teacher_then_half_depth_student(
    tiny_model: Path, run_context: RunContext, tmp_path: Path
) -> None:
    result = run(make_trainer(), tiny_model, run_context, tmp_path / "out")
    assert not result.adapter
    assert (result.model_dir / "model.safetensors").is_file()
    assert (tmp_path / "out" / TEACHER_DIR / "final" / "adapter_model.safetensors").is_file()
    m = result.metrics
    assert m["steps"] == 4 and m["train_tokens"] > 0
    assert m["student_layers"] == 1 and m["teacher_layers"] == 2
    assert m["student_params"] < m["teacher_params"]
    assert 0 < m["student_disk_mb"] < m["teacher_disk_mb"]
    assert m["student_tokens_per_s"] > 0 and m["teacher_tokens_per_s"] > 0
    assert result.extra["kind"] == "distill" and result.extra["teacher"].startswith("sft:")
    handle = DistillTrainer().load_for_eval(result, run_context)
    assert handle.model.config.num_hidden_layers == 1


def test_resume_continues_and_reuses_the_teacher(
    tiny_model: Path, run_context: RunContext, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run(make_trainer(max_steps=2, save_steps=2), tiny_model, run_context, out)
    teacher_result = out / TEACHER_DIR / "result.json"
    written = teacher_result.stat().st_mtime_ns
    second = run(make_trainer(max_steps=4, save_steps=2), tiny_model, run_context, out, resume=True)
    assert second.metrics["resumed_from_step"] == 2
    assert second.metrics["steps"] == 4
    assert teacher_result.stat().st_mtime_ns == written


def test_builds_on_the_sft_result_the_comparison_hands_over(
    tiny_model: Path, run_context: RunContext, tmp_path: Path
) -> None:
    from kinject_plugins.trainers.sft import SFTTrainer

    sft = SFTTrainer(max_steps=2, batch_size=2, report_to=[], save_steps=100)
    done = sft.train(
        TrainJob(
            base_model=tiny_model, train=records(), output_dir=tmp_path / "sft", context=run_context
        )
    )
    out = tmp_path / "distill"
    job = TrainJob(
        base_model=tiny_model,
        train=records(),
        output_dir=out,
        context=run_context,
        prior={"sft": done},
    )
    result = make_trainer(max_steps=1).train(job)
    assert result.extra["teacher"] == f"sft:{done.model_dir}"
    assert not (out / TEACHER_DIR).exists()
    # an sft result on another base model is no teacher for this one: distill trains its own
    other = TrainResult(done.model_dir, tmp_path / "another-base", done.adapter)
    assert (
        prior_sft_result(TrainJob(tiny_model, records(), out, run_context, prior={"sft": other}))
        is None
    )


def test_named_teacher_and_a_student_with_another_vocabulary(
    tiny_model: Path, run_context: RunContext, tmp_path: Path
) -> None:
    from kinject.models import build_tiny_model

    named = run(
        make_trainer(teacher=str(tiny_model), max_steps=1),
        tiny_model,
        run_context,
        tmp_path / "named",
    )
    assert named.extra["teacher"] == str(tiny_model)
    other = build_tiny_model(tmp_path / "other-vocab", vocab_size=300)
    with pytest.raises(ConfigError, match="share a tokenizer"):
        run(
            make_trainer(teacher=str(tiny_model), student=str(other)),
            tiny_model,
            run_context,
            tmp_path / "bad",
        )


def test_only_full_training_of_the_student() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="method must be full"):
        DistillTrainer(method="lora")


@pytest.mark.slow
def test_compare_runs_sft_ewc_distill_and_rag_side_by_side(
    registered_pack: Any, kinject_plugins: Any, tmp_path: Path, tiny_model: Path
) -> None:
    from kinject.compare import run_compare
    from kinject.pipeline import resolve_config

    general = tmp_path / "general.jsonl"
    general.write_text(
        '{"text": "Paris is the capital of France."}\n{"text": "A week has seven days."}\n'
    )
    quick = {"max_steps": 2, "batch_size": 2, "report_to": [], "save_steps": 100}
    overrides = {
        "base_model": str(tiny_model),
        "evaluators": ["knowledge-qa"],
        "exporters": [],
        "augmenters": [],
        "cleaners": ["normalize"],
        "run_dir": str(tmp_path / "cmp"),
        "strategy": "sft",
        "forgetting": False,
        "reference_set": str(general),
        "strategy_options": {
            "sft": quick,
            "ewc": quick,
            "distill": {**quick, "speed_tokens": 4},
            "rag": {"k": 1},
        },
    }
    config, pack = resolve_config(kinject_plugins, "sample", None, overrides)
    strategies = ["sft", "ewc", "distill", "rag"]
    outcome = run_compare(config, kinject_plugins, pack, strategies, show_progress=False)
    rows = json.loads((outcome.root / "compare.json").read_text())
    assert list(rows) == strategies
    assert not [name for name, row in rows.items() if "error" in row], rows
    assert rows["distill"]["train"]["student_params"] < rows["distill"]["train"]["teacher_params"]
    assert rows["distill"]["train"]["train_tokens"] > 0
    assert rows["rag"]["train"]["trainable_params"] == 0
    md = (outcome.root / "compare.md").read_text()
    for name in strategies:
        assert f"| {name} |" in md
    assert "failed" not in md
    # distill learned from the sft run beside it instead of training its own teacher
    assert not (outcome.root / "distill" / "model" / TEACHER_DIR).exists()
