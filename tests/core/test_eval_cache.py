"""The base model's evaluation, kept across runs: a later run loads it instead of recomputing."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from kinject import hookimpl
from kinject.components import Evaluator, TrainResult
from kinject.config import RunConfig
from kinject.context import RunContext
from kinject.evaluation import EvalItem, EvalModel
from kinject.manifest import Manifest
from kinject.scoring import evaluate_models

CALLS: list[str] = []


class CountingOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fail: bool = False
    weight: float = 1.0


class CountingEvaluator(Evaluator):
    """Records which model it judged; fails when told to."""

    name = "counting"
    Options = CountingOptions
    opts: CountingOptions

    def evaluate(
        self, model: EvalModel, items: Sequence[EvalItem], context: RunContext
    ) -> dict[str, Any]:
        CALLS.append(model.label)
        if self.opts.fail:
            raise RuntimeError("evaluator broke")
        return {"score": self.opts.weight * len(items)}


class _Plugin:
    @hookimpl
    def register_evaluators(self, register: Callable[..., Any]) -> None:
        register(CountingEvaluator)


class _Trainer:
    def load_for_eval(self, result: TrainResult, context: RunContext) -> EvalModel:
        return EvalModel(model=None, tokenizer=None, label="trained")


@pytest.fixture
def evaluate(
    tmp_path: Path, kinject_plugins, register_plugin, monkeypatch, tiny_model
) -> Callable[..., dict]:
    """``evaluate(run, strategy=..., questions=..., **options)``: one run's evaluate stage."""
    monkeypatch.setenv("KINJECT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KINJECT_EVAL_CACHE", "1")
    register_plugin(_Plugin(), name="counting")
    CALLS.clear()

    def run(name: str, strategy: str = "sft", questions: int = 3, **options: Any) -> dict:
        config = RunConfig(
            strategy=strategy, evaluators=[{"name": "counting", **options}], forgetting=False
        )
        run_dir = tmp_path / name
        run_dir.mkdir()
        context = RunContext(
            run_dir=run_dir, config=config, plugins=kinject_plugins, show_progress=False
        )
        context.eval_items = [
            EvalItem(id=f"q{i}", question=f"What is clause {i}?") for i in range(questions)
        ]
        result = TrainResult(model_dir=run_dir / "final", base_model=tiny_model)
        manifest = Manifest(run_dir / "manifest.json")
        evaluate_models(context, manifest, _Trainer(), result)  # type: ignore[arg-type]
        return json.loads((run_dir / "manifest.json").read_text())["stages"]["evaluate"]

    return run


def test_a_second_run_loads_the_base_evaluation(evaluate, tmp_path):
    first = evaluate("run-sft")
    second = evaluate("run-ewc", strategy="ewc")
    assert CALLS == ["base", "trained", "trained"]
    assert (first["base_evaluation"], second["base_evaluation"]) == ("computed", "cache")
    base = json.loads((tmp_path / "run-ewc" / "evaluation" / "base.json").read_text())
    assert base["metrics"] == {"counting.score": 3.0}
    assert len(list((tmp_path / "home" / "cache" / "evaluations").glob("*.json"))) == 1


def test_other_questions_options_or_weights_are_evaluated_again(evaluate, tiny_model):
    evaluate("a")
    evaluate("b", questions=4)  # another eval set
    evaluate("c", weight=2.0)  # other evaluator options
    weights = next(tiny_model.glob("*.safetensors"))
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # the model re-saved
    try:
        evaluate("d")
    finally:
        os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert CALLS.count("base") == 4


def test_a_failed_evaluation_is_not_kept(evaluate):
    evaluate("a", fail=True)
    evaluate("b", fail=True)
    assert CALLS.count("base") == 2


def test_the_cache_can_be_turned_off(evaluate, monkeypatch):
    monkeypatch.setenv("KINJECT_EVAL_CACHE", "0")
    evaluate("a")
    evaluate("b")
    assert CALLS.count("base") == 2
