"""The ``rlhf`` trainer end to end on a tiny random model: SFT -> reward model -> PPO/GRPO."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from kinject.components import TrainJob, TrainResult
from kinject.context import RunContext
from kinject.domains import DomainPack
from kinject.evaluation import EvalItem, format_prompt
from kinject.plugins import Plugins
from kinject.records import Record
from kinject_plugins.trainers.rlhf import RLHFTrainer

FACTS = [
    ("What secures a contract?", "Earnest money secures a contract under Article 12."),
    ("How long is the notice period?", "The notice period is 30 days."),
    ("What is part of the price?", "An advance payment is part of the price."),
    ("When is a contract void?", "A contract is void when a party lacks capacity."),
    ("How much interest is due?", "Interest of 5 percent is due under Article 7."),
    ("Who pays the earnest money?", "The buyer pays the earnest money of 200 velors."),
]


def records() -> list[Record]:
    out = [Record(text=f"{q} {a}", kind="qa", meta={"question": q, "answer": a}) for q, a in FACTS]
    out.append(
        Record(
            text="x",
            kind="preference",
            meta={
                "prompt": format_prompt("How long is the notice period?"),
                "chosen": "30 days",
                "rejected": "60 days",
            },
        )
    )
    return out


@pytest.fixture
def legal_context(run_context: RunContext, tmp_path: Path) -> RunContext:
    terms = tmp_path / "terms.yaml"
    terms.write_text(
        yaml.safe_dump(
            {
                "terms": [
                    {"term": "earnest money", "confusables": ["advance payment"]},
                    {"term": "advance payment", "confusables": ["earnest money"]},
                ]
            }
        )
    )
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text(
        yaml.safe_dump(
            {
                "name": "t",
                "criteria": [
                    {"id": "confusions", "check": "confusions", "weight": 2},
                    {"id": "numbers", "check": "numeric_match", "weight": 2},
                    {
                        "id": "cite",
                        "check": "pattern",
                        "params": {"regex": r"Article \d+"},
                        "weight": 1,
                    },
                ],
            }
        )
    )
    run_context.domain = DomainPack(
        "t", "0", "test", corpus=tmp_path, eval=tmp_path / "eval.jsonl", terms=terms, rubric=rubric
    )
    run_context.eval_items = [
        EvalItem(id="1", question="What secures a sale?", answer_text="Earnest money.")
    ]
    return run_context


def tiny_options(**overrides: Any) -> dict[str, Any]:
    """Options for a run of seconds; a mapping given for a section updates that section."""
    rl = {"steps": 2, "max_new_tokens": 4, "save_steps": 1, "learning_rate": 1e-3}
    options: dict[str, Any] = {
        "sft": {"max_steps": 2, "batch_size": 4, "report_to": [], "save_steps": 100},
        "reward": {"epochs": 1, "batch_size": 4},
        "ppo": {**rl, "rollout_batch": 4, "minibatch_size": 2, "ppo_epochs": 1},
        "grpo": {**rl, "prompts_per_step": 2, "iterations": 1},
        "eval_prompts": 1,
    }
    for key, value in overrides.items():
        options[key] = (
            {**options[key], **value} if isinstance(value, dict) and key in options else value
        )
    return options


def run(
    model: Path, context: RunContext, out: Path, resume: bool = False, **options: Any
) -> TrainResult:
    trainer = RLHFTrainer(**tiny_options(**options))
    trainer.setup(context)
    return trainer.train(
        TrainJob(base_model=model, train=records(), output_dir=out, context=context, resume=resume)
    )


def test_registered_and_options_checked(kinject_plugins: Plugins) -> None:
    from kinject.errors import ConfigError

    assert isinstance(kinject_plugins.create("trainer", "rlhf", {}), RLHFTrainer)
    with pytest.raises((ConfigError, ValueError), match="no_such_option"):
        kinject_plugins.create("trainer", "rlhf", {"sft": {"no_such_option": 1}})
    with pytest.raises((ConfigError, ValueError), match="rl_algorithm"):
        kinject_plugins.create("trainer", "rlhf", {"rl_algorithm": "dpo"})


@pytest.mark.slow
def test_rlhf_end_to_end_then_resume(
    tiny_model: Path, legal_context: RunContext, tmp_path: Path
) -> None:
    out = tmp_path / "model"
    result = run(tiny_model, legal_context, out)
    m = result.metrics
    assert result.adapter and (result.model_dir / "adapter_model.safetensors").is_file()
    assert result.base_model == out / "sft_model" and result.started_from == tiny_model
    assert m["rl_algorithm"] == "ppo" and m["ppo_steps"] == 2
    assert m["rm_train_pairs"] > 0 and m["rm_held_out_pairs"] > 0 and 0.0 <= m["rm_accuracy"] <= 1.0
    for key in (
        "reward_before",
        "reward_after",
        "rubric_before",
        "rubric_after",
        "ppo_kl_last",
        "sft_steps",
    ):
        assert key in m, key
    assert any((out / "tensorboard").iterdir())
    assert json.loads((result.model_dir / "adapter_config.json").read_text())["r"] == 16
    model = RLHFTrainer().load_for_eval(result, legal_context)
    assert not hasattr(model.model, "peft_config")  # evaluated merged, as the hf export ships it

    sft_stamp = (out / "sft" / "result.json").stat().st_mtime
    resumed = run(tiny_model, legal_context, out, resume=True, ppo={"steps": 3})
    assert resumed.metrics["ppo_resumed_from_step"] == 2 and resumed.metrics["ppo_steps"] == 3
    assert (out / "sft" / "result.json").stat().st_mtime == sft_stamp


@pytest.mark.slow
def test_rlhf_grpo_from_a_finished_adapter(
    tiny_model: Path, legal_context: RunContext, tmp_path: Path
) -> None:
    first = run(tiny_model, legal_context, tmp_path / "first")
    result = run(
        tiny_model,
        legal_context,
        tmp_path / "grpo",
        rl_algorithm="grpo",
        grpo={"num_generations": 2, "steps": 1},
        init_adapter=str(first.model_dir.parent / "sft" / "final"),
    )
    assert result.metrics["rl_algorithm"] == "grpo"
    assert "grpo_reward_first" in result.metrics
    assert not (tmp_path / "grpo" / "sft").exists()
    assert (result.model_dir / "adapter_model.safetensors").is_file()
    assert not (result.model_dir / "ref").exists()


def test_starts_from_the_sft_row_the_comparison_hands_over(
    tiny_model: Path, legal_context: RunContext, tmp_path: Path
) -> None:
    adapter = tmp_path / "sft" / "final"
    adapter.mkdir(parents=True)
    sft = TrainResult(model_dir=adapter, base_model=tiny_model, adapter=True)
    job = TrainJob(
        base_model=tiny_model,
        train=records(),
        output_dir=tmp_path / "rlhf",
        context=legal_context,
        prior={"sft": sft},
    )
    start, metrics = RLHFTrainer().starting_adapter(job)
    assert start == adapter and metrics == {"sft_from": str(adapter)}
