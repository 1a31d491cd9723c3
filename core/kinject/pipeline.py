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
from kinject.stages import fingerprint


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


def train_stage(context: RunContext, manifest: Manifest, prepared: PreparedData, resume: bool,
                prior: dict[str, TrainResult] | None = None) -> tuple[Trainer, TrainResult]:
    """Train (or load the finished result of an identical earlier training).

    ``prior``: results this training may build on (``inject compare`` hands the rows before it).
    """
    config = context.config
    trainer: Trainer = context.plugins.create("trainer", config.strategy, config.trainer)
    trainer.setup(context)
    out_dir = context.run_dir / "model"
    fp = fingerprint("train", prepared.fingerprint, config.base_model, config.strategy, config.trainer, config.seed)
    hook = context.plugins.pm.hook
    hook.stage_started(stage="train", context=context)
    cached = TrainResult.cached(out_dir, fp, context.run_dir)
    if cached is not None:
        result = cached
        stats = {**result.metrics, "skipped": True}
    else:
        if not resume and (out_dir / "checkpoints").exists():
            shutil.rmtree(out_dir / "checkpoints")
        base = resolve_model(config.base_model)
        if config.launcher == "accelerate":
            result = train_with_launcher(config, context.run_dir, resume, prior or {})
        else:
            job = TrainJob(base, prepared.train, out_dir, context, eval=prepared.eval, reference=load_reference(config),
                           resume=resume, prior=dict(prior or {}))
            result = trainer.train(job)
        result.save(context.run_dir, out_dir, fp)
        stats = {**result.metrics, "skipped": False}
    manifest.stage("train", stats)
    hook.stage_finished(stage="train", context=context, stats=stats)
    return trainer, result


def export_stage(context: RunContext, manifest: Manifest, result: TrainResult) -> dict[str, Any]:
    """Run every exporter; one failing export is recorded and the others still happen."""
    hook = context.plugins.pm.hook
    hook.stage_started(stage="export", context=context)
    exports: dict[str, Any] = {}
    for step in context.config.exporters:
        exporter = context.plugins.create("exporter", step.name, step.options)
        try:
            exporter.setup(context)
            paths = exporter.export(result, context.run_dir / "export" / step.name, context)
            # relative to the run directory, like the training result, so a moved run still points at its files
            exports[step.name] = {"paths": [run_relative(Path(p), context.run_dir) for p in paths]}
        except (KinjectError, OSError, RuntimeError, ValueError) as exc:
            exports[step.name] = {"error": f"{type(exc).__name__}: {exc}"}
    manifest.stage("export", exports)
    hook.stage_finished(stage="export", context=context, stats=exports)
    return exports
