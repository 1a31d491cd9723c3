"""Evaluating one model on one eval set, outside a run (``inject eval``).

The model is anything ``--base-model`` accepts, or a run directory (its trained model, loaded by
the run's trainer: base + adapter, or ``rag``'s index). The evaluators are built and run exactly
as in a run's evaluate stage (:func:`kinject.scoring.run_evaluators`), and the results are
written the way a run writes them: ``evaluation/<label>.json`` (metrics, per-question details,
fingerprint), plus a ``report.md`` and a manifest that ``inject runs`` lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kinject.commands import is_run_dir, load_run_result, run_config
from kinject.config import RunConfig, build_config, check_plugins, merge_recipe
from kinject.context import RunContext
from kinject.errors import ConfigError
from kinject.eval_set import EVAL_SET_FILE
from kinject.evaluation import EvalItem, EvalModel, load_eval_items
from kinject.manifest import Manifest
from kinject.plugins import Plugins, require_domain
from kinject.runs import plugin_versions
from kinject.scoring import HEADLINE_KEYS, evaluator_steps, run_evaluators
from kinject.stages import JsonCache, StageRunner, fingerprint
from kinject.stats import intervals
from kinject.trained import weights_key

if TYPE_CHECKING:
    from kinject.domains import DomainPack


@dataclass
class EvalTarget:
    """The model ``inject eval`` measures: how to load it and what to call it."""

    spec: str
    label: str
    #: what identifies the weights (the cache key of the evaluation)
    key: str
    path: Path
    run_dir: Path | None = None
    run_config: RunConfig | None = None

    def load(self, context: RunContext) -> EvalModel:
        """The run's trained model through its trainer (base + adapter, rag's index), or the
        model.
        """
        from kinject.models import load_causal_lm

        if self.run_dir is not None and self.run_config is not None:
            trainer = context.plugins.create(
                "trainer", self.run_config.strategy, self.run_config.trainer
            )
            handle: EvalModel = trainer.load_for_eval(load_run_result(self.run_dir), context)
            handle.label = self.label
            return handle
        model, tokenizer = load_causal_lm(self.path)
        model.eval()
        return EvalModel(model, tokenizer, self.label)


@dataclass
class EvalOutcome:
    """Metrics of one model on one eval set, and where they were written."""

    out_dir: Path
    target: EvalTarget
    metrics: dict[str, float]
    details: dict[str, Any]
    eval_set: dict[str, Any]
    cached: bool
    report: Path


def eval_target(spec: str) -> EvalTarget:
    """A run directory, an alias, a model directory, a ``.gguf`` file or a cached hub id."""
    from kinject.models import resolve_model

    path = Path(spec).expanduser()
    if path.is_dir() and is_run_dir(path):
        config = run_config(path)
        result = load_run_result(path)
        key = fingerprint(str(result.model_dir), weights_key(result))
        return EvalTarget(
            spec, _safe_label(path.resolve().name), key, Path(result.model_dir), path, config
        )
    resolved = resolve_model(spec)
    name = spec if not path.exists() else path.resolve().name
    return EvalTarget(spec, _safe_label(name), str(resolved.resolve()), resolved)


def _safe_label(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name.replace("/", "--")).strip("-") or "model"


def eval_config(
    plugins: Plugins,
    target: EvalTarget,
    domain: str | None,
    evaluators: list[str] | None,
    settings: dict[str, Any],
) -> tuple[RunConfig, DomainPack | None]:
    """The run's recipe (for a run directory) or the domain's, with the command's evaluators."""
    base = target.run_config.dump() if target.run_config else {}
    for volatile in ("run_dir", "runs_root"):  # the evaluation gets its own directory
        base.pop(volatile, None)
    domain = domain or base.get("domain")
    pack = require_domain(plugins, domain) if domain else None
    layers = [base if base else (pack.load_recipe() if pack else {}), settings, {"domain": domain}]
    if evaluators is not None:
        layers.append({"evaluators": evaluators, "forgetting": False})
    config = build_config(merge_recipe(*layers), source="inject eval")
    check_plugins(config, plugins, "inject eval")
    return config, pack


def eval_items_for(
    eval_set: Path | None, pack: DomainPack | None, explicit_domain: bool, target: EvalTarget
) -> tuple[list[EvalItem], dict[str, Any]]:
    """``--eval-set``, else the domain's questions (when named), else the run's, else the run's
    domain's.
    """
    run_file = target.run_dir / EVAL_SET_FILE if target.run_dir else None
    if eval_set is not None:
        if not eval_set.is_file():
            raise ConfigError("eval set not found", source=str(eval_set))
        items, origin, label = load_eval_items(eval_set), "file", f"your eval set {eval_set}"
    elif pack is not None and (explicit_domain or run_file is None or not run_file.is_file()):
        items, origin, label = (
            load_eval_items(pack.eval),
            "pack",
            f"the {pack.name} pack's sample questions",
        )
    elif run_file is not None and run_file.is_file():
        items, origin, label = (
            load_eval_items(run_file),
            "run",
            f"the questions of run {target.run_dir}",
        )
    else:
        raise ConfigError(
            "no questions to ask: pass --eval-set FILE or --domain NAME", source="inject eval"
        )
    return items, {
        "origin": origin,
        "label": f"{label}: {len(items)} questions",
        "questions": len(items),
    }


def eval_dir(config: RunConfig, target: EvalTarget, items: list[EvalItem]) -> Path:
    """``--run-dir``, else ``runs/eval-<label>-<hash of model, evaluators and questions>``."""
    if config.run_dir:
        return Path(config.run_dir)
    key = fingerprint(
        target.key,
        [s.model_dump() for s in config.evaluators],
        config.forgetting,
        [i.id for i in items],
    )
    return Path(config.runs_root) / f"eval-{target.label}-{key[:8]}"


def evaluate_target(context: RunContext, target: EvalTarget) -> EvalOutcome:
    """Run the recipe's evaluators on one model; cached by model, evaluators and questions."""
    steps = evaluator_steps(context)
    fp = fingerprint(
        "eval", target.key, [s.model_dump() for s in steps], [i.id for i in context.eval_items]
    )
    manifest = Manifest(context.run_dir / "manifest.json")
    loaded: list[bool] = []

    def evaluate() -> dict[str, Any]:
        built = [
            (step, context.plugins.create("evaluator", step.name, step.options)) for step in steps
        ]
        for _, evaluator in built:
            evaluator.setup(context)
        metrics, details = run_evaluators(target.load(context), built, context)
        return {"metrics": metrics, "details": details}

    def stats(saved: dict[str, Any], skipped: bool, seconds: float) -> dict[str, Any]:
        loaded.append(skipped)
        config, versions = context.config.dump(), plugin_versions(context.plugins)
        manifest.start(context.run_dir.name, config, versions)
        evaluated = {"spec": target.spec, "label": target.label, "path": str(target.path)}
        manifest.set("evaluated_model", evaluated)
        manifest.set("eval_set", context.eval_origin)
        names = [s.name for s in steps]
        return {"seconds": round(seconds, 2), "evaluators": names, "skipped": skipped}

    cache = JsonCache(context.run_dir / "evaluation" / f"{target.label}.json")
    saved = StageRunner(context, manifest).run("evaluate", evaluate, stats, fp=fp, cache=cache)
    manifest.set(
        "headline", {k: {"value": v} for k, v in saved["metrics"].items() if k in HEADLINE_KEYS}
    )
    manifest.set("status", "evaluated")
    outcome = EvalOutcome(
        context.run_dir,
        target,
        saved["metrics"],
        saved["details"],
        context.eval_origin,
        loaded[0],
        context.run_dir / "report.md",
    )
    outcome.report.write_text(render_eval_report(outcome), encoding="utf-8")
    return outcome


def metric_line(key: str, metrics: dict[str, float]) -> str:
    """``knowledge-qa.accuracy: 50.0% (2 questions; 95% interval 9.5–90.5%)``."""
    from kinject.report_format import fmt

    counted = intervals(metrics).get(key)
    if counted is None:
        return f"{key}: {fmt(key, metrics[key])}"
    low, high = counted["interval95"]
    return (
        f"{key}: {fmt(key, metrics[key])} ({counted['n']} questions; 95% interval "
        f"{low * 100:.1f}–{high * 100:.1f}%)"
    )


def render_eval_report(outcome: EvalOutcome) -> str:
    """``report.md`` of one model's evaluation: headline lines, then every metric."""
    from kinject.report_format import fmt

    metrics, target = outcome.metrics, outcome.target
    out = [
        f"# kinject evaluation of `{target.label}`",
        "",
        f"Model **{target.spec}** ({target.path}).",
        f"Questions: {outcome.eval_set.get('label', '–')}.",
        "",
    ]
    out += [f"- {metric_line(k, metrics)}" for k in HEADLINE_KEYS if k in metrics] + [""]
    out += ["## Metrics", "", "| metric | value | questions | 95% interval |", "|---|---|---|---|"]
    counted = intervals(metrics)
    keys = sorted((k for k in metrics if not k.endswith(".n")), key=lambda k: (k.count("."), k))
    for key in keys:
        n, interval = counted.get(key, {}).get("n", "–"), counted.get(key, {}).get("interval95")
        shown = f"{interval[0] * 100:.1f}–{interval[1] * 100:.1f}%" if interval else "–"
        out.append(f"| {key} | {fmt(key, metrics[key])} | {n} | {shown} |")
    failed = {
        name: d["error"]
        for name, d in outcome.details.items()
        if isinstance(d, dict) and "error" in d
    }
    if failed:
        out += ["", "## Evaluators that failed", ""] + [
            f"- **{name}**: {error}" for name, error in failed.items()
        ]
    out += ["", f"Per-question results are in `evaluation/{target.label}.json`."]
    return "\n".join(out) + "\n"
