"""Knowledge-injection benchmark: do augmented facts stick, at equal training tokens?

Fictional-fact corpora (``corpora/<domain>/corpus.md``: invented statutes, a drug, a company)
and held-out multiple-choice questions phrased differently from every training text
(``corpora/<domain>/eval.jsonl``). Each condition builds its training set with the augmenters,
repeats it to the same token budget as the largest condition, trains the ``sft`` trainer (LoRA)
on the base model and measures closed-book MC accuracy (log-likelihood) and exact-match
generation, retention on the general set, tokens trained, wall time and peak memory.

    python bench/knowledge/run.py --quick                  # one domain, a few minutes on a CPU
    python bench/knowledge/run.py --model smollm2-135m     # every domain, every condition

Writes ``bench/results/knowledge.json`` and ``bench/results/knowledge.md``.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from kinject.components import TrainJob  # noqa: E402
from kinject.config import RunConfig  # noqa: E402
from kinject.context import RunContext  # noqa: E402
from kinject.evaluation import EvalItem, EvalModel, load_eval_items  # noqa: E402
from kinject.pipeline import load_reference  # noqa: E402
from kinject.plugins import Plugins, build_plugins  # noqa: E402
from kinject.records import Record  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent / "results"
DOMAINS = ("statutes", "drugs", "companies")


@dataclass
class Condition:
    """One row of the ablation: which augmenters make its training set."""

    name: str
    augmenters: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    keep_documents: bool = True
    #: the trainer and its options beyond the shared ones (epochs, batch size)
    trainer: str = "sft"
    trainer_options: dict[str, Any] = field(default_factory=dict)
    #: train on the condition's records repeated to the shared token budget (not for rag)
    equal_tokens: bool = True


def conditions(ks: list[int], qa_options: dict[str, Any] | None = None) -> list[Condition]:
    rows = [Condition("no augmentation")]
    rows += [Condition(f"paraphrase x{k}", [("paraphrase", {"k": k})]) for k in ks]
    mid = 5 if 5 in ks else max(ks)
    # QA first, so its questions come from the source documents, not from the rewrites.
    qa = [("qa-generate", {"phrasings": 3, **(qa_options or {})}), ("paraphrase", {"k": mid})]
    rows.append(Condition(f"paraphrase x{mid} + QA", qa))
    # the same data with the ewc trainer: Fisher penalty + 20% general-text replay against forgetting
    rows.append(Condition(f"paraphrase x{mid} + QA, ewc + replay", qa, trainer="ewc",
                          trainer_options={"replay_ratio": 0.2}))
    # retrieval over the documents, no training: the baseline every injection has to beat
    rows.append(Condition("rag (no training)", trainer="rag", equal_tokens=False))
    return rows


def load_corpus(domains: list[str]) -> tuple[list[Record], list[EvalItem]]:
    docs, items = [], []
    for domain in domains:
        path = HERE / "corpora" / domain / "corpus.md"
        docs.append(Record(text=path.read_text(encoding="utf-8"), source={"uri": str(path.relative_to(HERE))}))
        items += load_eval_items(HERE / "corpora" / domain / "eval.jsonl")
    return docs, items


def build_training_set(condition: Condition, docs: list[Record], context: RunContext) -> tuple[list[Record], dict[str, Any]]:
    """Documents plus what the condition's augmenters add (as the engine appends them)."""
    records = list(docs)
    stats: dict[str, Any] = {}
    for name, options in condition.augmenters:
        augmenter = context.plugins.create("augmenter", name, options)
        augmenter.setup(context)
        records += list(augmenter.augment(records))
        stats[name] = {k: v for k, v in getattr(augmenter, "stats", {}).items() if k != "under_k"}
    return records, stats


def count_tokens(records: list[Record], tokenizer: Any) -> int:
    return sum(len(tokenizer(r.text)["input_ids"]) for r in records)


def repeat_to_budget(records: list[Record], tokenizer: Any, budget: int) -> list[Record]:
    """Cycle through ``records`` until their tokens reach ``budget`` (equal-token comparison)."""
    out: list[Record] = []
    total, i = 0, 0
    sizes = [len(tokenizer(r.text)["input_ids"]) for r in records]
    while total < budget:
        out.append(records[i % len(records)])
        total += sizes[i % len(records)]
        i += 1
    return out


def evaluator(plugins: Plugins, name: str, options: dict[str, Any]) -> Any:
    """The registered evaluator, or (while its registration has not landed) the builtin class."""
    if name in plugins.registry("evaluator"):
        return plugins.create("evaluator", name, options)
    if name == "knowledge-qa":
        from kinject_plugins.evaluators.knowledge_qa import KnowledgeQAEvaluator

        return KnowledgeQAEvaluator(**options)
    from kinject_plugins.evaluators.retention import RetentionEvaluator

    return RetentionEvaluator(**options)


def evaluate(plugins: Plugins, model: EvalModel, items: list[EvalItem], context: RunContext, retention_limit: int) -> dict[str, Any]:
    knowledge = evaluator(plugins, "knowledge-qa", {"generate": True, "include_items": True, "max_new_tokens": 16})
    metrics = {"knowledge": knowledge.evaluate(model, items, context)}
    try:
        retention = evaluator(plugins, "retention", {"limit": retention_limit})
        retention.setup(context)
        metrics["retention"] = retention.evaluate(model, [], context)
    except Exception as exc:  # the general set may be missing in a partial checkout
        metrics["retention"] = {"error": str(exc)}
    return metrics


def missed(metrics: dict[str, Any]) -> list[str]:
    """Ids of the held-out questions the model got wrong (multiple choice)."""
    return [row["id"] for row in metrics["knowledge"].get("items", []) if not row.get("correct")]


def headline(metrics: dict[str, Any]) -> dict[str, Any]:
    k, r = metrics["knowledge"], metrics["retention"]
    return {"mc_accuracy": k.get("accuracy"), "exact_match": k.get("em"), "contains": k.get("contains"),
            "retention": r.get("accuracy")}


def load_base(model_dir: Path) -> EvalModel:
    from kinject.models import load_causal_lm

    model, tokenizer = load_causal_lm(model_dir)
    model.eval()
    return EvalModel(model=model, tokenizer=tokenizer, label="base")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from kinject.models import build_tiny_model, resolve_model

    work = Path(tempfile.mkdtemp(prefix="kinject-bench-"))
    model_dir = build_tiny_model(work / "tiny") if args.model == "tiny" else resolve_model(args.model)
    plugins = build_plugins()
    context = RunContext(run_dir=work / "run", config=RunConfig(seed=args.seed), plugins=plugins, show_progress=False)
    docs, items = load_corpus(args.domains)
    reference = load_reference(context.config)
    base = load_base(model_dir)
    started = time.perf_counter()
    base_metrics = evaluate(plugins, base, items, context, args.retention_limit)
    base_eval_s = time.perf_counter() - started
    print(f"base: {headline(base_metrics)} ({base_eval_s:.0f}s)", flush=True)

    qa_options = json.loads(args.qa) if args.qa else None
    sets = {c.name: build_training_set(c, docs, context) for c in conditions(args.ks, qa_options)}
    budget = max(count_tokens(records, base.tokenizer) for records, _ in sets.values())
    rows = []
    for condition in conditions(args.ks, qa_options):
        if args.only and not any(fnmatch.fnmatchcase(condition.name, pattern) for pattern in args.only):
            continue
        records, aug_stats = sets[condition.name]
        train = repeat_to_budget(records, base.tokenizer, budget) if condition.equal_tokens else records
        t0 = time.perf_counter()
        shared = {"epochs": args.epochs, "batch_size": args.batch_size, "report_to": [], "save_steps": 10_000,
                  "logging_steps": 50, **({"learning_rate": args.learning_rate} if args.learning_rate else {})}
        options = {**(shared if condition.trainer != "rag" else {}), **condition.trainer_options}
        trainer = plugins.create("trainer", condition.trainer, options)
        trainer.setup(context)
        out_dir = work / condition.name.replace(" ", "_").replace(",", "")
        result = trainer.train(TrainJob(base_model=model_dir, train=train, output_dir=out_dir, context=context,
                                        reference=reference))
        trained = trainer.load_for_eval(result, context)
        metrics = evaluate(plugins, trained, items, context, args.retention_limit)
        row = {"condition": condition.name, "unique_records": len(records), "train_records": len(train),
               **headline(metrics), "train_tokens": result.metrics.get("train_tokens"),
               "train_time_s": result.metrics.get("train_time_s"), "wall_s": round(time.perf_counter() - t0, 1),
               "peak_memory_mb": result.metrics.get("peak_memory_mb"), "final_loss": result.metrics.get("final_train_loss"),
               "augmenters": aug_stats, "missed": missed(metrics)}
        rows.append(row)
        print(f"{condition.name}: {json.dumps({k: v for k, v in row.items() if k not in ('augmenters', 'missed')})}", flush=True)
        del trained
    return {"model": args.model, "quick": args.quick, "domains": args.domains, "facts_eval_items": len(items),
            "epochs": args.epochs, "token_budget_per_epoch": budget, "seed": args.seed,
            "learning_rate": args.learning_rate, "qa_options": qa_options,
            "base": headline(base_metrics), "base_eval_s": round(base_eval_s, 1), "rows": rows,
            "command": " ".join(["python", "bench/knowledge/run.py", *sys.argv[1:]])}


def pct(value: Any) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def markdown(report: dict[str, Any]) -> str:
    base = report["base"]
    lines = [
        f"Model `{report['model']}`, domains {', '.join(report['domains'])}, {report['facts_eval_items']} held-out "
        f"questions, {report['epochs']} epochs over a budget of {report['token_budget_per_epoch']} tokens per epoch.",
        "",
        "| condition | MC acc % | exact match % | retention % (change) | tokens trained | train s | wall s | peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| base model (no training) | {pct(base['mc_accuracy'])} | {pct(base['exact_match'])} | {pct(base['retention'])} | 0 | - | - | - |",
    ]
    for row in report["rows"]:
        drop = "" if row["retention"] is None or base["retention"] is None else f" ({100 * (row['retention'] - base['retention']):+.1f})"
        lines.append(f"| {row['condition']} | {pct(row['mc_accuracy'])} | {pct(row['exact_match'])} | {pct(row['retention'])}{drop} "
                     f"| {row['train_tokens'] or 0} | {row['train_time_s']} | {row['wall_s']} | {row['peak_memory_mb']} |")
    lines += ["", f"Command: `{report['command']}`"]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m", help="tiny (random, plumbing only) or a model alias/path")
    parser.add_argument("--quick", action="store_true", help="one domain, k in 1,5, fewer retention items")
    parser.add_argument("--domains", nargs="+", choices=DOMAINS, default=None)
    parser.add_argument("--ks", nargs="+", type=int, default=None, help="paraphrase k values (default 1 3 5 10)")
    parser.add_argument("--epochs", type=float, default=None)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--learning-rate", type=float, default=None, help="trainer learning rate (default: the trainer's)")
    parser.add_argument("--qa", default=None, metavar="JSON",
                        help='extra qa-generate options for the QA rows, e.g. \'{"values_per_fact": 5}\'')
    parser.add_argument("--only", nargs="+", default=None, metavar="NAME",
                        help="train only the conditions with one of these names (shell patterns: 'paraphrase*'); "
                             "the token budget still comes from every condition")
    parser.add_argument("--retention-limit", type=int, default=None)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    args.domains = args.domains or (["drugs"] if args.quick else list(DOMAINS))
    args.ks = args.ks or ([1, 5] if args.quick else [1, 3, 5, 10])
    args.epochs = args.epochs or 5.0
    args.retention_limit = args.retention_limit or (40 if args.quick else 1000)
    names = [c.name for c in conditions(args.ks)]
    if args.only and not any(fnmatch.fnmatchcase(name, pattern) for name in names for pattern in args.only):
        parser.error(f"--only {' '.join(args.only)} matches no condition; the conditions are: {', '.join(names)}")
    if args.qa:
        try:
            if not isinstance(json.loads(args.qa), dict):
                raise ValueError("not an object")
        except ValueError as exc:
            parser.error(f"--qa must be a JSON object of qa-generate options ({exc})")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "knowledge.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    table = markdown(report)
    (args.out / "knowledge.md").write_text(table, encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
