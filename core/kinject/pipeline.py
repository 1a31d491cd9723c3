"""One run from top to bottom: resolve the recipe, prepare data, train, evaluate, export, report."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kinject.components import Trainer, TrainJob, TrainResult
from kinject.config import RunConfig, build_config, check_plugins, load_yaml, merge_recipe
from kinject.context import RunContext
from kinject.domains import DomainPack
from kinject.manifest import Manifest
from kinject.plugins import Plugins, require_domain
from kinject.prepare import PreparedData, prepare_data
from kinject.records import Record
from kinject.scoring import evaluate_models
from kinject.stages import fingerprint

GENERAL_TEXT = Path(__file__).parent / "data" / "general_text.jsonl"


@dataclass
class RunOutcome:
    """What a finished run hands back to the CLI."""

    run_dir: Path
    metrics: dict[str, Any]
    report: Path
    exports: dict[str, Any] = field(default_factory=dict)


def resolve_config(
    plugins: Plugins,
    domain: str | None = None,
    config_path: Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> tuple[RunConfig, DomainPack | None]:
    """Merge domain recipe < recipe file < CLI flags, then validate everything at once."""
    file_layer = load_yaml(config_path) if config_path else {}
    domain = domain or file_layer.get("domain")
    pack = require_domain(plugins, domain) if domain else None
    pack_layer = pack.load_recipe() if pack else {}
    source = str(config_path) if config_path else (f"recipe of domain {domain}" if domain else "config")
    config = build_config(merge_recipe(pack_layer, file_layer, overrides or {}, {"domain": domain}), source)
    check_plugins(config, plugins, source)
    return config, pack


def run_id_for(config: RunConfig) -> str:
    """Same recipe, same run directory: that is what lets a re-run skip finished stages."""
    key = config.dump()
    for volatile in ("run_dir", "runs_root"):
        key.pop(volatile, None)
    return f"{config.domain or 'custom'}-{config.strategy}-{fingerprint(key)[:8]}"


def open_run(config: RunConfig, plugins: Plugins, pack: DomainPack | None, show_progress: bool = True) -> RunContext:
    run_dir = Path(config.run_dir) if config.run_dir else Path(config.runs_root) / run_id_for(config)
    run_dir.mkdir(parents=True, exist_ok=True)
    # the eval set is chosen (or built from the corpus) by the data stages: kinject.eval_set
    return RunContext(run_dir=run_dir, config=config, plugins=plugins, domain=pack, show_progress=show_progress)


def load_reference(config: RunConfig) -> list[Record]:
    """General text for strategies that protect old knowledge (EWC Fisher, replay)."""
    path = Path(config.reference_set) if config.reference_set else GENERAL_TEXT
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Record(text=row["text"], source={"uri": str(path)}, lineage=["reference"]) for row in rows]


def run_pipeline(context: RunContext, resume: bool = False) -> RunOutcome:
    """The whole flow for one strategy."""
    from kinject.report import write_report

    manifest = Manifest(context.run_dir / "manifest.json")
    manifest.start(context.run_dir.name, context.config.dump(), _plugin_versions(context.plugins))
    prepared = prepare_data(context, manifest)
    trainer, result = train_stage(context, manifest, prepared, resume)
    metrics = evaluate_models(context, manifest, trainer, result)
    exports = export_stage(context, manifest, result)
    manifest.set("status", "finished")
    report = write_report(context.run_dir)
    return RunOutcome(context.run_dir, metrics, report, exports)


def _plugin_versions(plugins: Plugins) -> dict[str, Any]:
    return {n: {"distribution": i.distribution, "version": i.version, "error": i.error} for n, i in plugins.info.items()}


def train_stage(context: RunContext, manifest: Manifest, prepared: PreparedData, resume: bool) -> tuple[Trainer, TrainResult]:
    """Train (or load the finished result of an identical earlier training)."""
    from kinject.models import resolve_model

    config = context.config
    trainer: Trainer = context.plugins.create("trainer", config.strategy, config.trainer)
    trainer.setup(context)
    out_dir = context.run_dir / "model"
    fp = fingerprint("train", prepared.fingerprint, config.base_model, config.strategy, config.trainer, config.seed)
    done = out_dir / "result.json"
    hook = context.plugins.pm.hook
    hook.stage_started(stage="train", context=context)
    if done.exists() and json.loads(done.read_text())["fingerprint"] == fp:
        result = load_result(done)
        stats = {**result.metrics, "skipped": True}
    else:
        if not resume and (out_dir / "checkpoints").exists():
            shutil.rmtree(out_dir / "checkpoints")
        base = resolve_model(config.base_model)
        if config.launcher == "accelerate":
            from kinject.launch import train_with_launcher

            result = train_with_launcher(config, context.run_dir, resume)
        else:
            job = TrainJob(base, prepared.train, out_dir, context, eval=prepared.eval, reference=load_reference(config), resume=resume)
            result = trainer.train(job)
        save_result(done, result, fp)
        stats = {**result.metrics, "skipped": False}
    manifest.stage("train", stats)
    hook.stage_finished(stage="train", context=context, stats=stats)
    return trainer, result


def save_result(path: Path, result: TrainResult, fp: str, run_dir: Path | None = None) -> None:
    """Write ``result.json``; paths inside the run directory are stored relative to it.

    ``run_dir`` defaults to the folder above ``model/``, so a moved run directory still loads.
    """
    root = (run_dir or path.parent.parent).resolve()
    data = {k: _portable(v, root) if isinstance(v, Path) else v for k, v in asdict(result).items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"fingerprint": fp, "result": data}, indent=2, default=str), encoding="utf-8")


def _portable(path: Path, root: Path) -> str:
    full = path.resolve()
    return full.relative_to(root).as_posix() if full.is_relative_to(root) else str(full)


def load_result(path: Path, run_dir: Path | None = None) -> TrainResult:
    """Read ``result.json`` written by :func:`save_result`; relative paths resolve against the run directory."""
    root = run_dir or path.parent.parent
    data = json.loads(path.read_text(encoding="utf-8"))["result"]
    for key in ("model_dir", "base_model", "started_from"):
        if data.get(key):
            data[key] = _resolve(data[key], root)
    return TrainResult(**data)


def _resolve(saved: str, root: Path) -> Path:
    inside = root / saved  # an absolute path stays as it is
    # results written before paths were relative to the run held the shell's working directory
    return Path(saved) if not inside.exists() and Path(saved).exists() else inside


def export_stage(context: RunContext, manifest: Manifest, result: TrainResult) -> dict[str, Any]:
    """Run every exporter; one failing export is recorded and the others still happen."""
    from kinject.errors import KinjectError

    hook = context.plugins.pm.hook
    hook.stage_started(stage="export", context=context)
    exports: dict[str, Any] = {}
    for step in context.config.exporters:
        exporter = context.plugins.create("exporter", step.name, step.options)
        try:
            exporter.setup(context)
            paths = exporter.export(result, context.run_dir / "export" / step.name, context)
            # relative to the run directory, like result.json, so a moved run still points at its files
            exports[step.name] = {"paths": [_portable(Path(p), context.run_dir.resolve()) for p in paths]}
        except (KinjectError, OSError, RuntimeError, ValueError) as exc:
            exports[step.name] = {"error": f"{type(exc).__name__}: {exc}"}
    manifest.stage("export", exports)
    hook.stage_finished(stage="export", context=context, stats=exports)
    return exports
