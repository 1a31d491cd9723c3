"""The ``dpo`` trainer (and ``kto``, ``orpo``) on a tiny random model: options, pairs, the
reference, the held-out measure, a run through the engine and a comparison beside ``sft``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from kinject.components import TrainJob, TrainResult
from kinject.config import RunConfig, check_plugins
from kinject.context import RunContext
from kinject.errors import ConfigError
from kinject.evaluation import format_prompt
from kinject.plugins import Plugins
from kinject.records import Record
from kinject_plugins.trainers.dpo import DPOTrainer
from kinject_plugins.trainers.dpo.held_out import answer_logps, preference_metrics, score_pairs
from kinject_plugins.trainers.ppo.preferences import PreferencePair

#: (question, better answer, worse answer); the first two ask what the sample pack's eval asks
PAIRS = [
    (
        "Within how many days does the Harbor Court hear appeals?",
        "Within 21 days.",
        "Within 7 days.",
    ),
    ("How much notice must a Velorian tenant give?", "45 days notice.", "90 days notice."),
    ("Who founded the Harbor Court?", "Judge Imra Solt.", "Queen Talia."),
    ("Which river runs through Veloria?", "The Quell.", "The Amber."),
    ("What colour is the Velorian flag?", "Teal and amber.", "Red and white."),
    ("How long is the limitation period?", "Three years.", "Ten years."),
]


@pytest.fixture
def preferences_file(tmp_path: Path) -> Path:
    path = tmp_path / "prefs.jsonl"
    path.write_text(
        "".join(json.dumps({"question": q, "chosen": c, "rejected": r}) + "\n" for q, c, r in PAIRS)
    )
    return path


def pairs() -> list[PreferencePair]:
    return [PreferencePair(format_prompt(q), " " + c, " " + r, "file") for q, c, r in PAIRS]


def quick(**overrides: Any) -> dict[str, Any]:
    """Options for a training of seconds."""
    return {
        "max_steps": 2,
        "batch_size": 2,
        "max_length": 64,
        "learning_rate": 1e-2,
        "report_to": [],
        "save_steps": 100,
        "logging_steps": 1,
        "seed": 0,
        **overrides,
    }


def job(
    model: Path,
    context: RunContext,
    out: Path,
    records: list[Record] | None = None,
    **prior: TrainResult,
) -> TrainJob:
    return TrainJob(
        base_model=model, train=records or [], output_dir=out, context=context, prior=prior
    )


def test_registered_with_options_checked_in_one_line(kinject_plugins: Plugins) -> None:
    for name, method in (("dpo", "dpo"), ("kto", "kto"), ("orpo", "orpo")):
        trainer = kinject_plugins.create("trainer", name, {})
        assert isinstance(trainer, DPOTrainer) and trainer.opts.method == method
    assert kinject_plugins.create("trainer", "dpo", {"loss_type": "ipo"}).opts.loss_type == "ipo"
    bad = [
        ({"loss_type": "nope"}, "loss_type 'nope' is not one of method dpo's: sigmoid, hinge, ipo"),
        ({"method": "orpo", "loss_type": "ipo"}, "method orpo has one loss and no loss_type"),
        ({"method": "kto", "batch_size": 1}, "method kto needs batch_size of at least 2"),
        ({"beta": 0}, "strategy.beta: Input should be greater than 0"),
        ({"steps": 3}, "strategy.steps: Extra inputs are not permitted"),
    ]
    for options, message in bad:
        with pytest.raises(ConfigError) as caught:
            check_plugins(RunConfig(strategy="dpo", trainer=options), kinject_plugins)
        assert message in str(caught.value) and "\n" not in str(caught.value), str(caught.value)


def test_no_pairs_from_any_source_is_a_clear_error(
    tiny_model: Path, run_context: RunContext, tmp_path: Path
) -> None:
    qa = [Record(text="q a", kind="qa", meta={"question": "Who?", "answer": "Her."})]
    with pytest.raises(
        ConfigError, match="no preference pairs to train dpo on: add the negatives augmenter"
    ):
        DPOTrainer(**quick()).train(job(tiny_model, run_context, tmp_path / "out", qa))
    with pytest.raises(
        ConfigError, match=r"trainer dpo: preferences file .*missing.jsonl does not exist"
    ):
        DPOTrainer(**quick(preferences=str(tmp_path / "missing.jsonl"))).train(
            job(tiny_model, run_context, tmp_path)
        )


def test_the_reference_is_the_sft_policy_with_the_adapter_disabled(
    tiny_model: Path, adapter_result: TrainResult, run_context: RunContext, tmp_path: Path
) -> None:
    from kinject.models import load_causal_lm
    from kinject.trained import load_trained

    trainer = DPOTrainer(**quick())
    sft_job = job(tiny_model, run_context, tmp_path / "dpo", sft=adapter_result)
    start, info = trainer.starting_model(sft_job)
    assert start == tmp_path / "dpo" / "sft_model" and info == {
        "start": "sft",
        "sft_from": str(adapter_result.model_dir),
    }
    model, tokenizer = load_causal_lm(start)
    trl_trainer = trainer.build_trainer(sft_job, model, tokenizer, pairs(), seed=0)
    assert (
        trl_trainer.ref_model is None
    )  # no second model: the reference is the adapter switched off
    batch = trl_trainer._prepare_inputs(next(iter(trl_trainer.get_train_dataloader())))
    loss = trl_trainer.compute_loss(trl_trainer.model, batch)
    assert loss.item() == pytest.approx(math.log(2), abs=1e-4)  # policy == reference at step 0

    scores = score_pairs(trl_trainer.model, tokenizer, pairs())
    assert scores.margins(0.1) == pytest.approx([0.0] * len(PAIRS), abs=1e-4)
    prompts, chosen = [p.prompt for p in pairs()], [p.chosen for p in pairs()]
    sft_model, _ = load_trained(adapter_result, merge=True)
    assert scores.reference_chosen == pytest.approx(
        answer_logps(sft_model, tokenizer, prompts, chosen), abs=1e-3
    )
    base, _ = load_causal_lm(tiny_model)
    assert scores.reference_chosen != pytest.approx(
        answer_logps(base, tokenizer, prompts, chosen), abs=1e-3
    )


def test_preference_accuracy_and_margin_of_held_out_pairs() -> None:
    from kinject_plugins.trainers.dpo.held_out import PairScores

    # pair 1: chosen gained 2 nats, rejected lost 1 -> margin 0.1 * 3; pair 2: the other way round
    scores = PairScores(
        policy_chosen=[-1.0, -5.0],
        policy_rejected=[-4.0, -1.0],
        reference_chosen=[-3.0, -4.0],
        reference_rejected=[-3.0, -2.0],
    )
    metrics = preference_metrics(scores, beta=0.1)
    assert metrics["held_out_pairs"] == 2 and metrics["held_out_preference_accuracy"] == 0.5
    assert metrics["held_out_reward_margin"] == pytest.approx((0.3 - 0.2) / 2)
    assert (
        metrics["held_out_preference_accuracy_ci95_low"]
        < 0.5
        < metrics["held_out_preference_accuracy_ci95_high"]
    )
    assert (
        metrics["held_out_logp_accuracy_before"] == 0.0
        and metrics["held_out_logp_accuracy_after"] == 0.5
    )
    assert preference_metrics(PairScores([], [], [], []), beta=0.1) == {"held_out_pairs": 0}


@pytest.mark.parametrize("method", ["dpo", "kto", "orpo"])
def test_each_method_trains_from_the_base_and_scores_held_out_pairs(
    method: str, tiny_model: Path, run_context: RunContext, tmp_path: Path, preferences_file: Path
) -> None:
    result = DPOTrainer(
        **quick(method=method, preferences=str(preferences_file), held_out_ratio=0.34)
    ).train(job(tiny_model, run_context, tmp_path / "out"))
    m = result.metrics
    assert result.adapter and (result.model_dir / "adapter_model.safetensors").is_file()
    assert result.base_model == tiny_model and result.started_from is None and m["start"] == "base"
    assert (
        m["method"] == method
        and m["steps"] == 2
        and m["train_pairs"] == 4
        and m["held_out_pairs"] == 2
    )
    assert m["pairs_from_file"] == 6 and m["trainable_params"] > 0
    assert 0.0 <= m["held_out_preference_accuracy"] <= 1.0 and m["held_out_reward_margin"] != 0.0
    if method == "dpo":
        assert m["first_train_loss"] == pytest.approx(math.log(2), abs=1e-3)


def _engine_overrides(
    tiny_model: Path, preferences_file: Path, root: Path, strategy: str
) -> dict[str, Any]:
    sft = {"max_steps": 2, "batch_size": 2, "report_to": [], "save_steps": 100}
    return {
        "base_model": str(tiny_model),
        "evaluators": ["knowledge-qa"],
        "exporters": [],
        "augmenters": [],
        "cleaners": ["normalize"],
        "run_dir": str(root),
        "strategy": strategy,
        "forgetting": False,
        "strategy_options": {"sft": sft, "dpo": quick(preferences=str(preferences_file))},
    }


def test_inject_strategy_dpo_through_the_engine(
    registered_pack: Any,
    kinject_plugins: Plugins,
    tmp_path: Path,
    tiny_model: Path,
    preferences_file: Path,
) -> None:
    from kinject.pipeline import open_run, resolve_config, run_pipeline

    overrides = _engine_overrides(tiny_model, preferences_file, tmp_path / "run", "dpo")
    overrides["exporters"] = ["adapter"]
    config, pack = resolve_config(kinject_plugins, "sample", None, overrides)
    outcome = run_pipeline(open_run(config, kinject_plugins, pack, show_progress=False))
    metrics = json.loads((outcome.run_dir / "metrics.json").read_text())
    assert metrics["train"]["method"] == "dpo" and metrics["train"]["held_out_pairs"] > 0
    assert "knowledge-qa.accuracy" in metrics["trained"]
    assert TrainResult.load(outcome.run_dir).model_dir == outcome.run_dir / "model" / "final"
    assert "error" not in outcome.exports["adapter"]
    assert "Held out preference accuracy" in (outcome.run_dir / "report.md").read_text()


def test_compare_sft_then_dpo_on_the_sft_policy(
    registered_pack: Any,
    kinject_plugins: Plugins,
    tmp_path: Path,
    tiny_model: Path,
    preferences_file: Path,
) -> None:
    from kinject.compare import run_compare
    from kinject.pipeline import resolve_config

    overrides = _engine_overrides(tiny_model, preferences_file, tmp_path / "cmp", "sft")
    config, pack = resolve_config(kinject_plugins, "sample", None, overrides)
    outcome = run_compare(config, kinject_plugins, pack, ["sft", "dpo"], show_progress=False)
    rows = json.loads((outcome.root / "compare.json").read_text())
    assert not [name for name, row in rows.items() if "error" in row], rows
    dpo = outcome.results["dpo"]
    assert rows["dpo"]["train"]["start"] == "sft"
    assert rows["dpo"]["train"]["sft_from"] == str(outcome.results["sft"].model_dir)
    assert (
        dpo.base_model == outcome.root / "dpo" / "model" / "sft_model"
        and dpo.started_from == tiny_model
    )
    assert "| dpo |" in (outcome.root / "compare.md").read_text()


def test_resume_continues_from_the_last_complete_checkpoint(
    tiny_model: Path, run_context: RunContext, tmp_path: Path, preferences_file: Path
) -> None:
    options = quick(preferences=str(preferences_file), save_steps=1)
    DPOTrainer(**options).train(job(tiny_model, run_context, tmp_path / "out"))
    resumed_job = job(tiny_model, run_context, tmp_path / "out")
    resumed_job.resume = True
    resumed = DPOTrainer(**{**options, "max_steps": 3}).train(resumed_job)
    assert resumed.metrics["resumed_from_step"] == 2 and resumed.metrics["steps"] == 3


def test_a_retrained_adapter_in_the_same_folder_is_merged_again(
    tiny_model: Path, lora_adapter: Path, tmp_path: Path
) -> None:
    import shutil

    from safetensors.torch import load_file, save_file

    from kinject.models import load_causal_lm
    from kinject_plugins.trainers.ppo.policy import merged_sft_model

    adapter = tmp_path / "sft" / "final"
    shutil.copytree(lora_adapter, adapter)
    out = merged_sft_model(tiny_model, adapter, tmp_path / "sft_model")
    first = {k: v.clone() for k, v in load_causal_lm(out)[0].state_dict().items()}
    weights = adapter / "adapter_model.safetensors"
    save_file({k: v * 2 for k, v in load_file(weights).items()}, weights)  # "retrained"
    merged_sft_model(tiny_model, adapter, out)
    again = load_causal_lm(out)[0].state_dict()
    assert any(not (first[k] == again[k]).all() for k in first)
