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
from kinject.stages import JsonCache, StageRunner, cached, fingerprint
from kinject.stats import count_of, intervals, outcomes, paired_outcomes, wilson_interval
from kinject.trained import weights_key

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
        with live_bar(
            f"{model.label} · {step.name}",
            total=n,
            enabled=context.show_progress,
            info=f"{n} questions",
        ) as bar:
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


def evaluate_models(
    context: RunContext,
    manifest: Manifest,
    trainer: Trainer,
    result: TrainResult,
    base_dir: Path | None = None,
) -> dict[str, Any]:
    """Evaluate base and trained models; writes ``metrics.json`` with before/after/delta.

    Each model's evaluation is cached by fingerprint in ``evaluation/base.json`` and
    ``evaluation/trained.json``. ``base_dir`` lets several runs (``inject compare``) share one
    evaluation of the base model; later runs on the same base model and questions load it from
    :mod:`kinject.eval_cache`.
    """
    evaluated: dict[str, Any] = {}

    def evaluate() -> dict[str, Any]:
        evaluators = build_evaluators(context)
        steps = [s.model_dump() for s, _ in evaluators]
        evaluated["steps"] = [s["name"] for s in steps]
        items = [i.id for i in context.eval_items]
        eval_dir = context.run_dir / "evaluation"
        base, evaluated["base_from"] = _base_evaluation(
            context, result, evaluators, steps, items, base_dir
        )
        trained_fp = fingerprint("trained", weights_key(result), steps, items)

        def trained_evaluation() -> dict[str, Any]:
            handle = trainer.load_for_eval(result, context)
            t_metrics, t_details = run_evaluators(handle, evaluators, context)
            del handle
            gc.collect()
            return {"metrics": t_metrics, "details": t_details}

        trained, _ = cached(JsonCache(eval_dir / "trained.json"), trained_fp, trained_evaluation)
        metrics = combine(base["metrics"], trained["metrics"])
        metrics["strategy"] = context.config.strategy
        metrics["eval_set"] = context.eval_origin
        add_statistics(metrics, base["details"], trained["details"])
        metrics["train"] = result.metrics
        metrics_text = json.dumps(metrics, indent=2)
        (context.run_dir / "metrics.json").write_text(metrics_text, encoding="utf-8")
        write_lm_eval_task(context, result, metrics)  # the same questions for lm-evaluation-harness
        manifest.set("headline", headline(metrics))
        return metrics

    def stats(_: dict[str, Any], __: bool, seconds: float) -> dict[str, Any]:
        return {
            "seconds": round(seconds, 2),
            "evaluators": evaluated["steps"],
            "base_evaluation": evaluated["base_from"],
        }

    return StageRunner(context, manifest).run("evaluate", evaluate, stats)


def _base_evaluation(
    context: RunContext,
    result: TrainResult,
    evaluators: list[tuple[Step, Evaluator]],
    steps: list[dict[str, Any]],
    items: list[str],
    base_dir: Path | None,
) -> tuple[dict[str, Any], str]:
    """The base model's evaluation and where it came from: ``run``, ``cache`` or ``computed``.

    Looked up first in the run (or the comparison's shared ``base_dir``), then across runs in
    :mod:`kinject.eval_cache`; a copy always lands in this run's ``evaluation/base.json``.
    """
    from kinject.models import load_causal_lm

    before = result.started_from or result.base_model
    base_fp = fingerprint("base", str(before), steps, items)
    eval_dir = context.run_dir / "evaluation"
    base_file = (base_dir or eval_dir) / "base.json"
    origin = "run"

    def evaluate_base() -> dict[str, Any]:
        model, tokenizer = load_causal_lm(before)
        model.eval()
        metrics, details = run_evaluators(EvalModel(model, tokenizer, "base"), evaluators, context)
        del model
        gc.collect()
        return {"metrics": metrics, "details": details}

    def shared_or_evaluated() -> dict[str, Any]:
        nonlocal origin
        shared = eval_cache.BaseEvaluations(Path(before))
        key = eval_cache.base_key(context, Path(before), evaluators)
        value, found = cached(shared, key, evaluate_base)
        origin = "cache" if found else "computed"
        return value

    base, _ = cached(JsonCache(base_file), base_fp, shared_or_evaluated)
    if base_file != eval_dir / "base.json":
        JsonCache(eval_dir / "base.json").save(base_fp, base)
    return base, origin


def combine(base: dict[str, float], trained: dict[str, float]) -> dict[str, Any]:
    delta = {k: round(trained[k] - base[k], 6) for k in trained if k in base}
    return {"base": base, "trained": trained, "delta": delta}


def known_split(
    base: dict[str, Any], trained: dict[str, Any], evaluator: str = "knowledge-qa"
) -> dict[str, Any]:
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
        out[name] = {
            "n": len(ids),
            "trained_correct": hits,
            "trained_accuracy": round(hits / len(ids), 4) if ids else None,
            "interval95": wilson_interval(hits, len(ids)),
        }
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
    metrics["intervals"] = {
        "base": intervals(metrics["base"]),
        "trained": intervals(metrics["trained"]),
    }


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
