"""Evaluate-stage time per evaluator, for the base model and a trained one, as a run evaluates.

    python bench/eval_stage.py --model smollm2-135m --domain legal [--questions 20] [--json PATH]
    python bench/eval_stage.py --trained runs/legal-sft-1234abcd      # a finished run's model

The evaluators are the domain recipe's (plus ``retention``, as a run adds it), on the pack's
held-out questions. The trained model is a finished run's (``--trained``), or else the base with
a fresh LoRA adapter of the ``sft`` defaults (rank 16 on every linear layer; its zero-initialised
update leaves the answers as the base's, so both sides do the same generation work). The adapter
is timed as evaluation loads it (unmerged) and merged into the weights (``--merged``). Prints a
table of seconds per evaluator and model; ``--json PATH`` writes the same figures.

``--caps 32,24,16`` also times the greedy answers of the base model at each answer budget
(``max_new_tokens``) and counts the answers that differ from those at the first budget.

``--decoding`` times the greedy answers two ways on the same prompts, base and trained model
(merged, as a run evaluates it): ``generate`` over each batch until its longest answer is done,
as before, against the pruned decoding the evaluators use (a row leaves the batch once its
answer line is complete); it counts the answers that differ.

``--against RUN_DIR`` compares every question's outcome (choice picked, right or wrong, answer
generated, rubric score) and every metric with the run's own ``evaluation/base.json`` and
``evaluation/trained.json``, to show that a change to the evaluation code leaves the scores as
they were; ``--details PATH`` writes each model's per-question details.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("KINJECT_EVAL_CACHE", "0")  # time the evaluation, not the cache


def fresh_adapter(base: Path, folder: Path) -> Any:
    """A TrainResult for ``base`` plus an untrained LoRA adapter shaped like ``sft``'s default."""
    from peft import LoraConfig, get_peft_model

    from kinject.components import TrainResult
    from kinject.models import load_causal_lm

    model, _ = load_causal_lm(base)
    config = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM")
    get_peft_model(model, config).save_pretrained(str(folder))
    return TrainResult(model_dir=folder, base_model=base, adapter=True)


def timed_evaluation(label: str, load: Any, evaluators: list[Any], context: Any) -> dict[str, Any]:
    """Load a model, run every evaluator on it; seconds per evaluator (and for loading)."""
    from kinject.evaluation import EvalModel
    from kinject.scoring import run_evaluators
    from kinject_plugins.evaluators.generation import clear_answer_cache

    clear_answer_cache()  # each side generates its own answers, as in a run
    start = time.perf_counter()
    model, tokenizer = load()
    loaded = time.perf_counter() - start
    metrics, details = run_evaluators(EvalModel(model, tokenizer, label), evaluators, context)
    total = time.perf_counter() - start
    del model
    gc.collect()
    seconds = {name: part.get("seconds") for name, part in details.items()}
    errors = {name: part["error"] for name, part in details.items() if "error" in part}
    return {
        "model": label,
        "load_s": round(loaded, 2),
        "seconds": seconds,
        "total_s": round(total, 2),
        "metrics": metrics,
        "errors": errors,
        "details": details,
    }


#: per-question fields that are not outcomes (float noise, timings) and are compared apart
_NOT_OUTCOMES = {"logprobs", "seconds"}


def differences(mine: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """Per evaluator: questions whose outcome differs, metrics that differ, and the largest
    difference of a choice's log-probability, between two evaluations' details."""
    out: dict[str, Any] = {}
    for name, part in mine.items():
        other = theirs.get(name) or {}
        rows = {r["id"]: r for r in other.get("items", [])}
        changed, lp_diff = [], 0.0
        for row in part.get("items", []):
            before = rows.get(row["id"], {})
            if any(row.get(k) != before.get(k) for k in row if k not in _NOT_OUTCOMES):
                changed.append(row["id"])
            for a, b in zip(row.get("logprobs", []), before.get("logprobs", []), strict=False):
                lp_diff = max(lp_diff, abs(a - b))
        mine_m, theirs_m = _flat(part), _flat(other)
        out[name] = {
            "questions": len(part.get("items", [])),
            "missing": len(set(rows) - {r["id"] for r in part.get("items", [])}),
            "changed": changed,
            "metrics_changed": sorted(k for k in mine_m if mine_m[k] != theirs_m.get(k)),
            "max_logprob_diff": round(lp_diff, 6),
        }
    return out


def _flat(part: dict[str, Any]) -> dict[str, float]:
    from kinject.scoring import flatten_metrics

    flat: dict[str, float] = {}
    for key, value in part.items():
        if key not in _NOT_OUTCOMES:
            flatten_metrics(key, value, flat)
    return flat


def compare_with_run(rows: list[dict[str, Any]], run_dir: Path) -> dict[str, Any]:
    """Each timed model's details against the run's evaluation of the same model."""
    out = {}
    for row in rows:
        side = "base" if row["model"] == "base" else "trained"
        saved = json.loads((run_dir / "evaluation" / f"{side}.json").read_text(encoding="utf-8"))
        out[row["model"]] = differences(row["details"], saved["details"])
        print(json.dumps({"against": str(run_dir), "model": row["model"], **out[row["model"]]}))
    return out


def answer_caps(base: Path, context: Any, caps: list[int], batch_size: int) -> list[dict[str, Any]]:
    """Seconds of the base model's greedy answers at each budget; answers changed by the cut."""
    from kinject.evaluation import EvalModel
    from kinject.models import load_causal_lm
    from kinject_plugins.evaluators.generation import clear_answer_cache, generate_answers

    model, tokenizer = _eval_mode(load_causal_lm(base))
    handle = EvalModel(model, tokenizer, "base")
    items = [item for item in context.eval_items if item.reference]
    out, first = [], None
    for cap in caps:
        clear_answer_cache()
        start = time.perf_counter()
        answers = generate_answers(handle, items, cap, batch_size)
        seconds = time.perf_counter() - start
        first = first or answers
        lengths = [len(tokenizer(a, add_special_tokens=False)["input_ids"]) for a in answers]
        out.append(
            {
                "max_new_tokens": cap,
                "answers": len(answers),
                "seconds": round(seconds, 2),
                "changed": sum(a != b for a, b in zip(answers, first, strict=True)),
                "answer_tokens_max": max(lengths, default=0),
                "answer_tokens_mean": round(sum(lengths) / max(1, len(lengths)), 1),
            }
        )
        print(json.dumps(out[-1]), flush=True)
    return out


def decoding_ab(
    handles: list[Any], items: list[Any], batch_size: int, max_new_tokens: int = 32
) -> list[dict[str, Any]]:
    """Per model: seconds of ``generate`` on whole batches and of the pruned decoding, on the
    same prompts in the same batches, and the answers that differ between the two."""
    from kinject_plugins.evaluators import generation

    out = []
    for handle in handles:
        encoded = sorted(
            (generation.encode_prompt(handle.tokenizer, handle.prompt(i.question)) for i in items),
            key=len,
        )
        answers: dict[str, list[str]] = {}
        seconds: dict[str, float] = {}
        for name, decode in (
            ("generate", generation._generate_whole_batch),
            ("pruned", generation._decode_pruned),
        ):
            start = time.perf_counter()
            texts: list[str] = []
            for first in range(0, len(encoded), batch_size):
                rows = decode(handle, encoded[first : first + batch_size], max_new_tokens)
                texts += handle.tokenizer.batch_decode(rows, skip_special_tokens=True)
            seconds[name] = round(time.perf_counter() - start, 2)
            answers[name] = [generation.first_line(t) for t in texts]
        row = {
            "model": handle.label,
            "answers": len(encoded),
            "batch_size": batch_size,
            "generate_s": seconds["generate"],
            "pruned_s": seconds["pruned"],
            "ratio": round(seconds["generate"] / max(seconds["pruned"], 1e-9), 2),
            "changed": sum(
                a != b for a, b in zip(answers["generate"], answers["pruned"], strict=True)
            ),
        }
        print(json.dumps(row), flush=True)
        out.append(row)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default="smollm2-135m", help="base model: alias, directory or .gguf"
    )
    parser.add_argument("--domain", default="legal")
    parser.add_argument(
        "--questions", type=int, default=0, help="first N held-out questions (0: all)"
    )
    parser.add_argument(
        "--trained", type=Path, help="a finished run directory (its model is timed)"
    )
    parser.add_argument(
        "--merged", action="store_true", help="also time the adapter merged into the weights"
    )
    parser.add_argument("--skip-base", action="store_true")
    parser.add_argument(
        "--caps", default="", help="answer budgets to time on the base model, e.g. 32,24,16"
    )
    parser.add_argument(
        "--decoding", action="store_true", help="time generate against the pruned decoding"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="with --caps (default 8) or --decoding (default 32): questions generated together",
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--against", type=Path, help="a finished run directory whose evaluation to compare with"
    )
    parser.add_argument("--details", type=Path, help="write each model's per-question details")
    args = parser.parse_args(argv)

    import torch

    from kinject.components import TrainResult
    from kinject.context import RunContext
    from kinject.evaluation import load_eval_items
    from kinject.models import load_causal_lm, resolve_model
    from kinject.plugins import build_plugins
    from kinject.runs import resolve_config
    from kinject.scoring import build_evaluators
    from kinject.threads import configure_threads
    from kinject.trained import load_trained

    configure_threads()
    plugins = build_plugins()
    config, pack = resolve_config(plugins, args.domain, overrides={"base_model": args.model})
    assert pack is not None
    work = Path(tempfile.mkdtemp(prefix="kinject-bench-eval-"))
    context = RunContext(
        run_dir=work / "run", config=config, plugins=plugins, domain=pack, show_progress=False
    )
    items = load_eval_items(pack.eval)
    context.eval_items = items[: args.questions] if args.questions else items
    evaluators = build_evaluators(context)
    base = resolve_model(config.base_model)
    result = (
        TrainResult.load(args.trained) if args.trained else fresh_adapter(base, work / "adapter")
    )

    if args.decoding:
        from kinject.evaluation import EvalModel

        handles = [EvalModel(*_eval_mode(load_causal_lm(base)), "base")]
        handles.append(EvalModel(*_eval_mode(load_trained(result, merge=True)), "trained"))
        ab = decoding_ab(handles, context.eval_items, args.batch_size or 32)
        print(f"\n{'model':10}{'generate':>12}{'pruned':>10}{'ratio':>8}{'changed':>9}")
        for row in ab:
            print(
                f"{row['model']:10}{row['generate_s']:>11.2f}s{row['pruned_s']:>9.2f}s"
                f"{row['ratio']:>8.2f}{row['changed']:>6} of {row['answers']}"
            )
        if args.json:
            args.json.write_text(
                json.dumps({"model": args.model, "decoding": ab}, indent=2) + "\n",
                encoding="utf-8",
            )
        return 0
    if args.caps:
        caps = answer_caps(
            base, context, [int(c) for c in args.caps.split(",")], args.batch_size or 8
        )
        if args.json:
            args.json.write_text(
                json.dumps({"model": args.model, "caps": caps}, indent=2) + "\n", encoding="utf-8"
            )
        return 0
    rows = []
    if not args.skip_base:
        rows.append(
            timed_evaluation("base", lambda: _eval_mode(load_causal_lm(base)), evaluators, context)
        )
    rows.append(timed_evaluation("trained", lambda: load_trained(result), evaluators, context))
    if args.merged and result.adapter:
        rows.append(
            timed_evaluation(
                "trained (merged)", lambda: load_trained(result, merge=True), evaluators, context
            )
        )
    for row in rows:
        print(json.dumps({k: v for k, v in row.items() if k not in ("metrics", "details")}))
    against = compare_with_run(rows, args.against) if args.against else None
    if args.details:
        args.details.write_text(
            json.dumps({r["model"]: r["details"] for r in rows}, indent=1, ensure_ascii=False),
            encoding="utf-8",
        )

    names = [s.name for s, _ in evaluators]
    summary = {
        "model": args.model,
        "domain": args.domain,
        "questions": len(context.eval_items),
        "threads": torch.get_num_threads(),
        "trained": str(args.trained or "fresh LoRA adapter"),
        "rows": [{k: v for k, v in r.items() if k != "details"} for r in rows],
        "against": against,
    }
    print(
        f"\n{args.domain}: {len(context.eval_items)} questions, model={args.model}, "
        f"threads={summary['threads']}"
    )
    header = f"{'evaluator':16}" + "".join(f"{r['model']:>18}" for r in rows)
    print(header + "\n" + "-" * len(header))
    for name in [*names, "load", "total"]:
        cells = [
            r["load_s"]
            if name == "load"
            else r["total_s"]
            if name == "total"
            else r["seconds"].get(name)
            for r in rows
        ]
        print(f"{name:16}" + "".join(f"{'-' if c is None else f'{c:.1f} s':>18}" for c in cells))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return 0


def _eval_mode(loaded: tuple[Any, Any]) -> tuple[Any, Any]:
    loaded[0].eval()
    return loaded


if __name__ == "__main__":
    raise SystemExit(main())
