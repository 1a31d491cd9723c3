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
    }


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
        "--batch-size", type=int, default=8, help="with --caps: questions generated together"
    )
    parser.add_argument("--json", type=Path)
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

    if args.caps:
        caps = answer_caps(base, context, [int(c) for c in args.caps.split(",")], args.batch_size)
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
        print(json.dumps({k: v for k, v in row.items() if k != "metrics"}), flush=True)

    names = [s.name for s, _ in evaluators]
    summary = {
        "model": args.model,
        "domain": args.domain,
        "questions": len(context.eval_items),
        "threads": torch.get_num_threads(),
        "trained": str(args.trained or "fresh LoRA adapter"),
        "rows": rows,
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
