"""The whole flow with stand-in trainer/evaluator/exporter plugins on a tiny model."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from kinject import hookimpl
from kinject.components import Evaluator, Exporter, Trainer, TrainJob, TrainResult
from kinject.context import RunContext
from kinject.domains import DomainPack
from kinject.errors import InputError
from kinject.evaluation import EvalItem, EvalModel
from kinject.pipeline import open_run, resolve_config, run_pipeline
from kinject.plugins import Plugins

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


class StandIns:
    @hookimpl
    def register_trainers(self, register: Callable[..., Any]) -> None:
        register(CopyTrainer)

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


def _run(plugins: Plugins, tmp_path: Path, tiny_model: Path, **extra: Any) -> RunContext:
    overrides = {"strategy": "copy", "base_model": str(tiny_model), "evaluators": ["count-params"], "exporters": ["failing"],
                 "augmenters": [], "cleaners": ["normalize"], "run_dir": str(tmp_path / "run"), "forgetting": False, **extra}
    config, pack = resolve_config(plugins, "sample", None, overrides)
    return open_run(config, plugins, pack, show_progress=False)


def test_full_flow_writes_report_metrics_manifest(stand_ins: DomainPack, kinject_plugins: Plugins, tmp_path: Path, tiny_model: Path) -> None:
    context = _run(kinject_plugins, tmp_path, tiny_model)
    outcome = run_pipeline(context)
    run = context.run_dir
    for name in ("manifest.json", "metrics.json", "report.md", "report.html", "data/sources.jsonl", "data/train.jsonl"):
        assert (run / name).exists(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["base"]["count-params.n_params"] == metrics["trained"]["count-params.n_params"] > 0
    assert metrics["trained"]["count-params.items"] == 2
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "finished"
    assert set(manifest["stages"]) >= {"sources", "cleaners", "augmenters", "train", "evaluate", "export"}
    assert manifest["inputs"] and manifest["versions"]["python"]
    assert "disk full" in outcome.exports["failing"]["error"]
    assert "FAILED" in (run / "report.md").read_text()


def test_rerun_skips_finished_stages(stand_ins: DomainPack, kinject_plugins: Plugins, tmp_path: Path, tiny_model: Path) -> None:
    run_pipeline(_run(kinject_plugins, tmp_path, tiny_model))
    run_pipeline(_run(kinject_plugins, tmp_path, tiny_model))
    assert len([c for c in CALLS if c.startswith("train")]) == 1
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert all(manifest["stages"][s]["skipped"] for s in ("sources", "cleaners", "augmenters", "train"))


def test_changed_cleaners_recompute_from_that_stage(stand_ins: DomainPack, kinject_plugins: Plugins, tmp_path: Path, tiny_model: Path) -> None:
    run_pipeline(_run(kinject_plugins, tmp_path, tiny_model))
    run_pipeline(_run(kinject_plugins, tmp_path, tiny_model, cleaners=["normalize", "exact-dedup"]))
    stages = json.loads((tmp_path / "run" / "manifest.json").read_text())["stages"]
    assert stages["sources"]["skipped"] and not stages["cleaners"]["skipped"]
    assert len([c for c in CALLS if c.startswith("train")]) == 2


def test_empty_corpus_is_a_clear_error(stand_ins: DomainPack, kinject_plugins: Plugins, tmp_path: Path, tiny_model: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "blank.md").write_text("", encoding="utf-8")
    context = _run(kinject_plugins, tmp_path, tiny_model, corpus=[str(empty)])
    with pytest.raises(InputError, match="produced no records"):
        run_pipeline(context)


def test_unsupported_file_is_quarantined_and_batch_continues(stand_ins: DomainPack, kinject_plugins: Plugins, tmp_path: Path, tiny_model: Path) -> None:
    corpus = tmp_path / "mixed"
    shutil.copytree(stand_ins.corpus, corpus)
    (corpus / "weird.xyz123").write_bytes(b"\x00\x01")
    context = _run(kinject_plugins, tmp_path, tiny_model, corpus=[str(corpus)])
    run_pipeline(context)
    lines = [json.loads(x) for x in (context.run_dir / "quarantine.jsonl").read_text().splitlines()]
    assert any(q["uri"].endswith("weird.xyz123") and q["reason"] for q in lines)
    assert (context.run_dir / "data" / "sources.jsonl").read_text().strip()
