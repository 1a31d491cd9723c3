"""One run from top to bottom: resolve the recipe, prepare data, train, evaluate, export, report."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kinject.components import Trainer, TrainJob, TrainResult
from kinject.context import RunContext
from kinject.errors import KinjectError
from kinject.launch import train_with_launcher
from kinject.manifest import Manifest
from kinject.models import resolve_model
from kinject.paths import run_relative
from kinject.prepare import PreparedData, prepare_data
from kinject.report import write_report
from kinject.runs import load_reference, plugin_versions
from kinject.runs import open_run as open_run  # re-exported: a run is started from here
from kinject.runs import resolve_config as resolve_config
from kinject.scoring import evaluate_models
from kinject.stages import StageRunner, fingerprint


@dataclass
class RunOutcome:
    """What a finished run hands back to the CLI."""

    run_dir: Path
    metrics: dict[str, Any]
    report: Path
    exports: dict[str, Any] = field(default_factory=dict)


def run_pipeline(context: RunContext, resume: bool = False) -> RunOutcome:
    """The whole flow for one strategy."""
    manifest = Manifest(context.run_dir / "manifest.json")
    manifest.start(context.run_dir.name, context.config.dump(), plugin_versions(context.plugins))
    prepared = prepare_data(context, manifest)
    trainer, result = train_stage(context, manifest, prepared, resume)
    metrics = evaluate_models(context, manifest, trainer, result)
    exports = export_stage(context, manifest, result)
    manifest.set("status", "finished")
    report = write_report(context.run_dir)
    return RunOutcome(context.run_dir, metrics, report, exports)


@dataclass
class ResultCache:
    """The :class:`~kinject.stages.Cache` of the train stage: ``model/result.json``."""

    folder: Path
    run_dir: Path

    def load(self, fp: str) -> TrainResult | None:
        return TrainResult.cached(self.folder, fp, self.run_dir)

    def save(self, fp: str, value: TrainResult) -> TrainResult:
        value.save(self.run_dir, self.folder, fp)
        return value


def train_stage(
    context: RunContext,
    manifest: Manifest,
    prepared: PreparedData,
    resume: bool,
    prior: dict[str, TrainResult] | None = None,
) -> tuple[Trainer, TrainResult]:
    """Train (or load the finished result of an identical earlier training).

    ``prior``: results this training may build on (``inject compare`` hands the rows before it).
    """
    config = context.config
    trainer: Trainer = context.plugins.create("trainer", config.strategy, config.trainer)
    trainer.setup(context)
    out_dir = context.run_dir / "model"
    fp = fingerprint(
        "train",
        prepared.fingerprint,
        config.base_model,
        config.strategy,
        config.trainer,
        config.seed,
    )

    def train() -> TrainResult:
        if not resume and (out_dir / "checkpoints").exists():
            shutil.rmtree(out_dir / "checkpoints")
        base = resolve_model(config.base_model)
        if config.launcher == "accelerate":
            return train_with_launcher(config, context.run_dir, resume, prior or {})
        job = TrainJob(
            base,
            prepared.train,
            out_dir,
            context,
            eval=prepared.eval,
            reference=load_reference(config),
            resume=resume,
            prior=dict(prior or {}),
        )
        return trainer.train(job)

    def stats(result: TrainResult, skipped: bool, _: float) -> dict[str, Any]:
        return {**result.metrics, "skipped": skipped}

    runner = StageRunner(context, manifest)
    result = runner.run("train", train, stats, fp=fp, cache=ResultCache(out_dir, context.run_dir))
    return trainer, result


def export_stage(context: RunContext, manifest: Manifest, result: TrainResult) -> dict[str, Any]:
    """Run every exporter; one failing export is recorded and the others still happen.

    Not cached: exporters write files derived from the saved model, so each run writes them again.
    """

    def export() -> dict[str, Any]:
        exports: dict[str, Any] = {}
        for step in context.config.exporters:
            exporter = context.plugins.create("exporter", step.name, step.options)
            try:
                exporter.setup(context)
                paths = exporter.export(result, context.run_dir / "export" / step.name, context)
                # relative to the run directory, like the training result: a moved run finds them
                exports[step.name] = {
                    "paths": [run_relative(Path(p), context.run_dir) for p in paths]
                }
            except (KinjectError, OSError, RuntimeError, ValueError) as exc:
                exports[step.name] = {"error": f"{type(exc).__name__}: {exc}"}
        return exports

    return StageRunner(context, manifest).run("export", export, lambda exports, _, __: exports)
