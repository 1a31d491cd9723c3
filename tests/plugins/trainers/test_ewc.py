"""The ``ewc`` trainer on a tiny random model: the penalty holds important weights, replay,
sequential injection from a previous run, resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kinject.components import TrainJob, TrainResult
from kinject.context import RunContext
from kinject.errors import ConfigError
from kinject.records import Record, write_jsonl
from kinject_plugins.trainers.ewc import STATE_FILE, EWCTrainer, pick_replay

DOMAIN_A = [
    "The Harbor Court of Veloria hears appeals within 21 days of judgment.",
    "Tenants in Veloria must give 45 days notice before leaving.",
    "The Velorian flag is teal and amber.",
]
DOMAIN_B = [
    "A patient with a fever of 39 degrees should drink water and rest.",
    "The interest rate rose by 0.25 percent in March 2024.",
    "Earnest money secures a contract; an advance payment is part of the price.",
]
GENERAL = [
    "Paris is the capital of France.",
    "Water boils at 100 degrees at sea level.",
    "The sun rises in the east.",
    "A week has seven days.",
]


def docs(texts: list[str]) -> list[Record]:
    return [Record(text=t) for t in texts]


def make_trainer(**options: Any) -> EWCTrainer:
    defaults: dict[str, Any] = {
        "batch_size": 2,
        "logging_steps": 1,
        "report_to": [],
        "lora_dropout": 0.0,
        "save_steps": 100,
        "learning_rate": 3e-3,
    }
    return EWCTrainer(**{**defaults, **options})


def run(
    trainer: EWCTrainer,
    model: Path,
    ctx: RunContext,
    out: Path,
    train: list[Record],
    reference: list[Record] | None = None,
    resume: bool = False,
) -> TrainResult:
    job = TrainJob(
        base_model=model,
        train=train,
        output_dir=out,
        context=ctx,
        reference=docs(GENERAL) if reference is None else reference,
        resume=resume,
    )
    return trainer.train(job)


def adapter_weights(result: TrainResult) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(result.model_dir / "adapter_model.safetensors"))


def lm_loss(result: TrainResult, texts: list[str]) -> float:
    import torch

    from kinject.evaluation import load_eval_model

    handle = load_eval_model(result, "check")
    losses = []
    with torch.no_grad():
        for text in texts:
            ids = handle.tokenizer(text, return_tensors="pt")["input_ids"]
            losses.append(float(handle.model(input_ids=ids, labels=ids).loss))
    return sum(losses) / len(losses)


@pytest.mark.slow
def test_penalty_reduces_drift_of_high_fisher_parameters(
    tiny_model: Path, run_context: RunContext, tmp_path: Path
) -> None:
    import torch

    from kinject_plugins.trainers.fisher import EWCState

    steps = {"max_steps": 12, "replay_ratio": 0.0}
    plain = run(
        make_trainer(ewc_lambda=0.0, **steps),
        tiny_model,
        run_context,
        tmp_path / "plain",
        docs(DOMAIN_B),
    )
    held = run(
        make_trainer(ewc_lambda=1e5, **steps),
        tiny_model,
        run_context,
        tmp_path / "ewc",
        docs(DOMAIN_B),
    )
    state = EWCState.load(tmp_path / "ewc" / STATE_FILE)
    # saved adapters drop peft's adapter name from parameter names
    fisher = {k.replace(".default", ""): v for k, v in state.fisher.items()}
    anchors = {k.replace(".default", ""): v for k, v in state.anchors.items()}
    values = torch.cat([v.flatten() for v in fisher.values()])
    threshold = values.quantile(0.9)

    def drift(weights: dict[str, Any]) -> float:
        return sum(
            float(((weights[k] - anchors[k]).pow(2) * (fisher[k] >= threshold)).sum())
            for k in fisher
        )

    assert plain.metrics["steps"] == held.metrics["steps"] == 12
    d_plain, d_held = drift(adapter_weights(plain)), drift(adapter_weights(held))
    assert d_plain > 0
    assert d_held < 0.5 * d_plain
    assert held.metrics["fisher_weighted_drift"] < plain.metrics["fisher_weighted_drift"]
    assert held.metrics["fisher_samples"] == len(GENERAL) and held.metrics["fisher_mean"] > 0


@pytest.mark.slow
def test_sequential_injection_forgets_less_of_the_first_domain(
    tiny_model: Path, run_context: RunContext, tmp_path: Path
) -> None:
    run_a = tmp_path / "run-a"
    write_jsonl(run_a / "data" / "train.jsonl", docs(DOMAIN_A))
    first = run(
        make_trainer(ewc_lambda=0.0, replay_ratio=0.0, max_steps=24),
        tiny_model,
        run_context,
        run_a / "model",
        docs(DOMAIN_A),
    )
    loss_a_before = lm_loss(first, DOMAIN_A)
    then = {
        "init_adapter": str(run_a),
        "reference": str(run_a),
        "replay_ratio": 0.0,
        "max_steps": 24,
    }
    plain = run(
        make_trainer(ewc_lambda=0.0, **then),
        tiny_model,
        run_context,
        tmp_path / "b-plain",
        docs(DOMAIN_B),
    )
    held = run(
        make_trainer(ewc_lambda=1e5, **then),
        tiny_model,
        run_context,
        tmp_path / "b-ewc",
        docs(DOMAIN_B),
    )
    assert held.metrics["reference_records"] == len(DOMAIN_A)
    forgot_plain = lm_loss(plain, DOMAIN_A) - loss_a_before
    forgot_held = lm_loss(held, DOMAIN_A) - loss_a_before
    assert forgot_plain > 0, "training on B should hurt A without the penalty"
    assert forgot_held < forgot_plain
    # B was still learned on top of A's adapter: its loss fell from where A left it
    assert lm_loss(held, DOMAIN_B) < lm_loss(first, DOMAIN_B)


def test_replay_mixes_reference_records_into_training(
    tiny_model: Path, run_context: RunContext, tmp_path: Path
) -> None:
    result = run(
        make_trainer(max_steps=1, replay_ratio=1.0),
        tiny_model,
        run_context,
        tmp_path / "out",
        docs(DOMAIN_B),
    )
    assert result.metrics["replayed_records"] == len(DOMAIN_B)
    assert result.metrics["ewc_lambda"] == 1000.0


def test_pick_replay_is_seeded_and_cycles() -> None:
    reference = docs(GENERAL)
    picked = pick_replay(reference, n_train=10, ratio=0.5, seed=1)
    assert len(picked) == 5 and {r.text for r in picked} == set(GENERAL)
    assert [r.text for r in picked] == [r.text for r in pick_replay(reference, 10, 0.5, seed=1)]
    assert pick_replay(reference, n_train=3, ratio=0.1, seed=1) == []


def test_resume_reuses_fisher_and_continues_the_step_count(
    tiny_model: Path, run_context: RunContext, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first = run(
        make_trainer(max_steps=4, save_steps=2), tiny_model, run_context, out, docs(DOMAIN_B)
    )
    assert first.metrics["steps"] == 4
    state_file = out / STATE_FILE
    written = state_file.stat().st_mtime_ns
    second = run(
        make_trainer(max_steps=8, save_steps=2),
        tiny_model,
        run_context,
        out,
        docs(DOMAIN_B),
        resume=True,
    )
    assert second.metrics["resumed_from_step"] == 4
    assert second.metrics["steps"] == 8
    assert state_file.stat().st_mtime_ns == written
    assert second.metrics["fisher_mean"] == pytest.approx(first.metrics["fisher_mean"])


def test_missing_reference_is_a_config_error(
    tiny_model: Path, run_context: RunContext, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="ewc needs reference data"):
        run(
            make_trainer(max_steps=1),
            tiny_model,
            run_context,
            tmp_path / "out",
            docs(DOMAIN_B),
            reference=[],
        )


def test_init_adapter_without_an_adapter_names_the_path(
    tiny_model: Path, run_context: RunContext, tmp_path: Path
) -> None:
    empty = tmp_path / "not-a-run"
    empty.mkdir()
    with pytest.raises(ConfigError, match="holds no LoRA adapter"):
        run(
            make_trainer(max_steps=1, init_adapter=str(empty)),
            tiny_model,
            run_context,
            tmp_path / "out",
            docs(DOMAIN_B),
        )


def test_reference_file_with_a_broken_line_names_file_and_line(tmp_path: Path) -> None:
    from kinject.errors import InputError
    from kinject_plugins.trainers.previous_run import reference_records

    path = tmp_path / "ref.jsonl"
    path.write_text('{"text": "fine"}\nnot json\n', encoding="utf-8")
    with pytest.raises(InputError, match="line 2"):
        reference_records(path, "trainer ewc")
