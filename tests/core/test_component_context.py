"""Trainers, evaluators and exporters read the run from ``self.context``.

The engine sets each one up before using it; a method handed a context (``job.context``, the
``context`` argument) keeps it too, so a plugin called directly still works; read before either,
``self.context`` is a one-line PluginError.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from kinject import hookimpl
from kinject.components import Evaluator, Exporter, Trainer, TrainJob, TrainResult
from kinject.context import RunContext
from kinject.domains import DomainPack
from kinject.errors import PluginError
from kinject.evaluation import EvalItem, EvalModel
from kinject.pipeline import open_run, resolve_config, run_pipeline
from kinject.plugins import Plugins

#: (component, method, whether setup had run, whether self.context was the run's)
SEEN: list[tuple[str, str, bool, bool]] = []


class Watched:
    """Records, at each use, whether the engine set the component up first."""

    set_up = False

    def setup(self, context: RunContext) -> None:
        self.set_up = True

    def saw(self, method: str, context: RunContext | None) -> None:
        kept = self.__dict__.get("context")
        SEEN.append((self.name, method, self.set_up, kept is not None and kept is context))


class WatchedTrainer(Watched, Trainer):
    name = "watched-trainer"

    def train(self, job: TrainJob) -> TrainResult:
        self.saw("train", job.context)
        return TrainResult(job.base_model, job.base_model, adapter=False)

    def load_for_eval(self, result: TrainResult, context: RunContext) -> EvalModel:
        self.saw("load_for_eval", context)
        return super().load_for_eval(result, context)


class WatchedEvaluator(Watched, Evaluator):
    name = "watched-evaluator"

    def evaluate(
        self, model: EvalModel, items: Sequence[EvalItem], context: RunContext
    ) -> dict[str, Any]:
        self.saw("evaluate", context)
        return {"items": len(items), "run": self.context.run_dir.name}


class WatchedExporter(Watched, Exporter):
    name = "watched-exporter"

    def export(self, result: TrainResult, out_dir: Path, context: RunContext) -> list[Path]:
        self.saw("export", context)
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "run.txt"
        path.write_text(self.context.run_dir.name, encoding="utf-8")
        return [path]


class Watchers:
    @hookimpl
    def register_trainers(self, register: Callable[..., Any]) -> None:
        register(WatchedTrainer)

    @hookimpl
    def register_evaluators(self, register: Callable[..., Any]) -> None:
        register(WatchedEvaluator)

    @hookimpl
    def register_exporters(self, register: Callable[..., Any]) -> None:
        register(WatchedExporter)


@pytest.fixture
def watchers(register_plugin: Callable[..., Any], registered_pack: DomainPack) -> None:
    register_plugin(Watchers(), name="watchers")
    SEEN.clear()


def test_the_engine_sets_up_every_trainer_evaluator_and_exporter_before_use(
    watchers: None, kinject_plugins: Plugins, tmp_path: Path, tiny_model: Path
) -> None:
    overrides = {
        "strategy": "watched-trainer",
        "base_model": str(tiny_model),
        "evaluators": ["watched-evaluator"],
        "exporters": ["watched-exporter"],
        "augmenters": [],
        "cleaners": ["normalize"],
        "run_dir": str(tmp_path / "run"),
        "forgetting": False,
    }
    config, pack = resolve_config(kinject_plugins, "sample", None, overrides)
    run_pipeline(open_run(config, kinject_plugins, pack, show_progress=False))
    used = {(name, method) for name, method, _, _ in SEEN}
    assert used == {
        ("watched-trainer", "train"),
        ("watched-trainer", "load_for_eval"),
        ("watched-evaluator", "evaluate"),
        ("watched-exporter", "export"),
    }
    assert all(set_up and kept for _, _, set_up, kept in SEEN), SEEN
    assert (tmp_path / "run" / "export" / "watched-exporter" / "run.txt").read_text() == "run"


def test_a_direct_call_keeps_the_context_it_is_handed(
    run_context: RunContext, tmp_path: Path
) -> None:
    evaluator = WatchedEvaluator()
    no_model = EvalModel(model=None, tokenizer=None, label="none")
    assert evaluator.evaluate(no_model, [], context=run_context)["run"] == "run"
    assert evaluator.context is run_context and evaluator.seed == run_context.seed
    exporter = WatchedExporter()
    result = TrainResult(tmp_path, tmp_path, adapter=False)
    exporter.export(result, tmp_path / "out", run_context)
    assert exporter.context is run_context
    trainer = WatchedTrainer()
    trainer.train(job=TrainJob(tmp_path, [], tmp_path / "model", run_context))
    assert trainer.context is run_context
    assert SEEN[-1] == ("watched-trainer", "train", False, True)


@pytest.mark.parametrize("kind", [WatchedTrainer, WatchedEvaluator, WatchedExporter])
def test_context_read_before_setup_is_one_plugin_error_line(kind: type[Watched]) -> None:
    with pytest.raises(PluginError) as caught:
        _ = kind().context
    message = str(caught.value)
    assert "\n" not in message
    assert f"{kind.name!r}" in message and "test_component_context.py" in message
    assert "before setup(context)" in message


def test_a_builtin_exporter_without_any_context_says_so(
    adapter_result: TrainResult, tmp_path: Path
) -> None:
    from kinject_plugins.exporters.adapter import AdapterExporter

    with pytest.raises(PluginError, match=r"exporter 'adapter' \(.*adapter\.py\) was used before"):
        AdapterExporter().export(adapter_result, tmp_path / "out", None)


def test_data_stage_components_keep_none_before_setup() -> None:
    from kinject_plugins.cleaners.normalize import Normalize

    assert Normalize().context is None  # they may run in a worker without their context
