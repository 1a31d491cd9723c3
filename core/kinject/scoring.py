"""The evaluate stage: the same evaluators on the base model and on the trained one."""

from __future__ import annotations

import gc
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kinject import eval_cache
from kinject.components import Evaluator, Trainer, TrainResult
from kinject.context import RunContext
from kinject.evaluation import EvalModel
from kinject.lm_eval_task import write_lm_eval_task
from kinject.manifest import Manifest
from kinject.stages import fingerprint
from kinject.stats import count_of, intervals, outcomes, paired_outcomes, wilson_interval

if TYPE_CHECKING:
    from kinject.config import Step


def flatten_metrics(prefix: str, value: Any, out: dict[str, float]) -> None:
    """Keep the numbers (nested dicts become dotted names); lists are details, not metrics."""
    if isinstance(value, int | float):  # bool included: a pass/fail counts as 0/1
        out[prefix] = float(value)
    elif isinstance(value, dict):
        for key, inner in value.items():
            flatten_metrics(f"{prefix}.{key}", inner, out)


def run_evaluators(
    model: EvalModel, evaluators: list[tuple[Step, Evaluator]], context: RunContext
) -> tuple[dict[str, float], dict[str, Any]]:
    """Metrics (flat) and details (per evaluator); one failing evaluator does not stop the rest.

    Each evaluator gets a bar (``base · knowledge-qa  0/40``) in the live display of the stage.
    """
    from kinject.progress import live_bar

    metrics: dict[str, float] = {}
    details: dict[str, Any] = {}
    n = len(context.eval_items)
    for step, evaluator in evaluators:
        start = time.perf_counter()
        with live_bar(f"{model.label} · {step.name}", total=n, enabled=context.show_progress,
                      info=f"{n} questions") as bar:
            try:
                result = evaluator.evaluate(model, context.eval_items, context)
            except Exception as exc:  # recorded in the report; the other evaluators still run
                details[step.name] = {"error": f"{type(exc).__name__}: {exc}"}
                bar.update(info="[red]failed")
                continue
            bar.finish()
        flatten_metrics(step.name, result, metrics)
        details[step.name] = {**result, "seconds": round(time.perf_counter() - start, 2)}
    return metrics, details


def evaluator_steps(context: RunContext) -> list[Step]:
    """The recipe's evaluators, plus ``retention`` when forgetting is measured (the default)."""
    from kinject.config import Step

    steps = list(context.config.evaluators)
    wanted = context.config.forgetting and "retention" in context.plugins.registry("evaluator")
    if wanted and all(s.name != "retention" for s in steps):
        steps.append(Step(name="retention"))
    return steps


def build_evaluators(context: RunContext) -> list[tuple[Step, Evaluator]]:
    """The run's evaluators, created and set up, each with its recipe step."""
    built = []
    for step in evaluator_steps(context):
        evaluator = context.plugins.create("evaluator", step.name, step.options)
        evaluator.setup(context)
        built.append((step, evaluator))
    return built


def _cached(path: Path, fp: str) -> dict[str, Any] | None:
    if path.exists():
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("fingerprint") == fp:
            return data  # type: ignore[no-any-return]
    return None


def _save(path: Path, fp: str, metrics: dict[str, float], details: dict[str, Any]) -> dict[str, Any]:
    data = {"fingerprint": fp, "metrics": metrics, "details": details}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    return data


def evaluate_models(
    context: RunContext, manifest: Manifest, trainer: Trainer, result: TrainResult, base_dir: Path | None = None
) -> dict[str, Any]:
    """Evaluate base and trained models; writes ``metrics.json`` with before/after/delta.

    ``base_dir`` lets several runs (``inject compare``) share one evaluation of the base model;
    later runs on the same base model and questions load it from :mod:`kinject.eval_cache`.
    """
    from kinject.models import load_causal_lm

    hook = context.plugins.pm.hook
    hook.stage_started(stage="evaluate", context=context)
    start = time.perf_counter()
    evaluators = build_evaluators(context)
    steps = [s.model_dump() for s, _ in evaluators]
    items = [i.id for i in context.eval_items]
    eval_dir = context.run_dir / "evaluation"

    before = result.started_from or result.base_model
    base_fp = fingerprint("base", str(before), steps, items)
    base_file = (base_dir or eval_dir) / "base.json"
    base = _cached(base_file, base_fp)
    base_from = "run" if base is not None else "computed"
    if base is None:
        shared_key = eval_cache.base_key(context, Path(before), evaluators)
        base = eval_cache.load(shared_key)
        if base is not None:
            base_from = "cache"
        else:
            model, tokenizer = load_causal_lm(before)
            model.eval()
            base_metrics, base_details = run_evaluators(EvalModel(model, tokenizer, "base"), evaluators, context)
            base = {"metrics": base_metrics, "details": base_details}
            eval_cache.store(shared_key, Path(before), base_metrics, base_details)
            del model
            gc.collect()
        base = _save(base_file, base_fp, base["metrics"], base["details"])
    if base_file != eval_dir / "base.json":
        _save(eval_dir / "base.json", base_fp, base["metrics"], base["details"])

    trained_fp = fingerprint("trained", str(result.model_dir), result.metrics, steps, items)
    trained = _cached(eval_dir / "trained.json", trained_fp)
    if trained is None:
        handle = trainer.load_for_eval(result, context)
        t_metrics, t_details = run_evaluators(handle, evaluators, context)
        trained = _save(eval_dir / "trained.json", trained_fp, t_metrics, t_details)
        del handle
        gc.collect()

    metrics = combine(base["metrics"], trained["metrics"])
    metrics["strategy"] = context.config.strategy
    metrics["eval_set"] = context.eval_origin
    add_statistics(metrics, base["details"], trained["details"])
    metrics["train"] = result.metrics
    (context.run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    write_lm_eval_task(context, result, metrics)  # the same questions for lm-evaluation-harness
    stats = {"seconds": round(time.perf_counter() - start, 2), "evaluators": [s["name"] for s in steps],
             "base_evaluation": base_from}
    manifest.stage("evaluate", stats)
    manifest.set("headline", headline(metrics))
    hook.stage_finished(stage="evaluate", context=context, stats=stats)
    return metrics


def combine(base: dict[str, float], trained: dict[str, float]) -> dict[str, Any]:
    delta = {k: round(trained[k] - base[k], 6) for k in trained if k in base}
    return {"base": base, "trained": trained, "delta": delta}


def known_split(base: dict[str, Any], trained: dict[str, Any], evaluator: str = "knowledge-qa") -> dict[str, Any]:
    """Trained accuracy on the questions the base model got wrong, and on those it got right.

    The gain on facts the base model did not know is the figure that says what was injected;
    the questions it already answered show whether training kept them.
    """
    before, after = _outcomes(base, evaluator), _outcomes(trained, evaluator)
    shared = [i for i in after if i in before]
    if not shared:
        return {}
    out: dict[str, Any] = {"n": len(shared)}
    for name, wanted in (("unknown_to_base", False), ("known_to_base", True)):
        ids = [i for i in shared if before[i] is wanted]
        hits = sum(after[i] for i in ids)
        out[name] = {"n": len(ids), "trained_correct": hits,
                     "trained_accuracy": round(hits / len(ids), 4) if ids else None,
                     "interval95": wilson_interval(hits, len(ids))}
    return out


def _outcomes(details: dict[str, Any], evaluator: str) -> dict[str, bool]:
    """Per-question right/wrong of one evaluator, by the outcome its headline accuracy counts."""
    part = details.get(evaluator) or {}
    key = "correct_norm" if part.get("headline") == "norm" else "correct"
    rows = part.get("items")
    return outcomes(rows, key) if isinstance(rows, list) else {}


def paired_tests(base: dict[str, Any], trained: dict[str, Any]) -> dict[str, Any]:
    """McNemar exact test of base vs trained for every evaluator with per-question outcomes."""
    out = {}
    for evaluator in trained:
        before, after = _outcomes(base, evaluator), _outcomes(trained, evaluator)
        if before and after and any(i in before for i in after):
            out[evaluator] = paired_outcomes(before, after)
    return out


def add_statistics(metrics: dict[str, Any], base: dict[str, Any], trained: dict[str, Any]) -> None:
    """The known/unknown split, the paired tests and the 95% intervals, into ``metrics``."""
    split = known_split(base, trained)
    if split:
        metrics["knowledge"] = split
    metrics["paired"] = paired_tests(base, trained)
    metrics["intervals"] = {"base": intervals(metrics["base"]), "trained": intervals(metrics["trained"])}


HEADLINE_KEYS = ("knowledge-qa.accuracy", "retention.accuracy", "rubric.score")


def headline(metrics: dict[str, Any]) -> dict[str, Any]:
    """The few numbers ``inject runs`` shows for a run."""
    out: dict[str, Any] = {}
    for key in HEADLINE_KEYS:
        if key in metrics["trained"]:
            out[key] = {"base": metrics["base"].get(key), "trained": metrics["trained"][key]}
            n = count_of(metrics["trained"], key)
            paired = (metrics.get("paired") or {}).get(key.split(".")[0]) or {}
            if n:
                out[key]["n"] = n
            if "p_value" in paired:
                out[key]["p_value"] = paired["p_value"]
    return out
