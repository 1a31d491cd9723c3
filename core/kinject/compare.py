"""``inject compare``: every strategy on the same prepared data and the same evaluators."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kinject.compare_report import write_compare_report
from kinject.components import TrainResult
from kinject.config import RunConfig, check_plugins, merge
from kinject.context import RunContext
from kinject.domains import DomainPack
from kinject.errors import ConfigError, KinjectError
from kinject.manifest import Manifest
from kinject.pipeline import train_stage
from kinject.plugins import Plugins
from kinject.prepare import PreparedData, prepare_data
from kinject.report import write_report
from kinject.runs import plugin_versions, run_id_for
from kinject.scoring import evaluate_models


@dataclass
class CompareOutcome:
    root: Path
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    report: Path | None = None
    #: the trained result of each strategy that finished, handed to the ones after it
    results: dict[str, TrainResult] = field(default_factory=dict)


def strategy_config(config: RunConfig, strategy: str, root: Path) -> RunConfig:
    """The recipe for one strategy: its own trainer options, its own subdirectory."""
    options = merge(
        config.trainer if strategy == config.strategy else {},
        config.strategy_options.get(strategy, {}),
    )
    return config.model_copy(
        update={"strategy": strategy, "trainer": options, "run_dir": str(root / strategy)}
    )


def check_strategies(config: RunConfig, plugins: Plugins, strategies: list[str]) -> None:
    if not strategies:
        raise ConfigError(
            "--strategies is empty: name at least one, e.g. sft,rag", source="command line"
        )
    problems: list[str] = []
    for name in strategies:
        try:
            check_plugins(
                strategy_config(config, name, Path(".")), plugins, source=f"strategy {name}"
            )
        except ConfigError as exc:
            problems += [p for p in exc.problems if p not in problems]
    if problems:
        raise ConfigError(problems, source="compare")


def compare_root(config: RunConfig, strategies: list[str]) -> Path:
    if config.run_dir:
        return Path(config.run_dir)
    key = run_id_for(config.model_copy(update={"strategy": "+".join(strategies)}))
    return Path(config.runs_root) / f"compare-{key}"


def run_compare(
    config: RunConfig,
    plugins: Plugins,
    pack: DomainPack | None,
    strategies: list[str],
    resume: bool = False,
    show_progress: bool = True,
) -> CompareOutcome:
    """Prepare data once, then train and evaluate each strategy; one failing strategy is recorded.

    Each strategy's training gets the results of the strategies before it (``TrainJob.prior``):
    ``distill`` and ``rlhf`` build on the ``sft`` row instead of training an sft model again.
    """
    check_strategies(config, plugins, strategies)
    root = compare_root(config, strategies)
    root.mkdir(parents=True, exist_ok=True)
    context = RunContext(root, config, plugins, pack, show_progress=show_progress)
    manifest = Manifest(root / "manifest.json")
    manifest.start(root.name, {**config.dump(), "strategies": strategies}, plugin_versions(plugins))
    prepared = prepare_data(context, manifest)
    outcome = CompareOutcome(root)
    for name in strategies:
        outcome.rows[name] = _run_strategy(context, prepared, name, root, resume, outcome.results)
        _write(outcome, context)
    manifest.set("status", "finished")
    return outcome


def _run_strategy(
    context: RunContext,
    prepared: PreparedData,
    name: str,
    root: Path,
    resume: bool,
    results: dict[str, TrainResult],
) -> dict[str, Any]:
    """Train and evaluate one strategy; its result joins ``results`` when it trained."""
    config = strategy_config(context.config, name, root)
    sub = RunContext(
        root / name,
        config,
        context.plugins,
        context.domain,
        eval_items=context.eval_items,
        eval_origin=context.eval_origin,
        show_progress=context.show_progress,
    )
    sub.run_dir.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(sub.run_dir / "manifest.json")
    manifest.start(f"{root.name}/{name}", config.dump(), plugin_versions(context.plugins))
    start = time.perf_counter()
    try:
        trainer, result = train_stage(sub, manifest, prepared, resume, prior=dict(results))
        results[name] = result
        metrics = evaluate_models(sub, manifest, trainer, result, base_dir=root / "evaluation")
    except KinjectError as exc:
        manifest.set("status", f"failed: {exc}")
        return {"error": str(exc)}
    manifest.set("status", "finished")
    write_report(sub.run_dir)
    metrics["wall_time_s"] = round(time.perf_counter() - start, 1)
    metrics["artifact_mb"] = round(_dir_size(result.model_dir) / 2**20, 2)
    return metrics


def _dir_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def _write(outcome: CompareOutcome, context: RunContext) -> None:
    (outcome.root / "compare.json").write_text(
        json.dumps(outcome.rows, indent=2, default=str), encoding="utf-8"
    )
    outcome.report = write_compare_report(outcome.root, outcome.rows, context.config)
