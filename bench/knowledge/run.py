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

Suites of real text (``--suite DIR``, repeatable; written by ``tatqa.py`` and ``medquad.py`` from
../shared/data) have rows of their own and report the ``tune`` and ``held_out`` halves apart, in
``knowledge-<suite>.json`` / ``.md``; see :mod:`suite_bench`::

    python bench/knowledge/tatqa.py ../shared/data/finance/tatqa_dataset_dev.json --out
    bench/results/suites/tatqa
    python bench/knowledge/run.py --suite bench/results/suites/tatqa [--conditions 'rules*']
    [--teacher MODEL]
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# the sibling modules, when imported by path
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from ablation import (  # noqa: E402
    FILLS,
    Condition,
    Training,
    build_training_set,
    count_tokens,
    evaluate,
    headline,
    load_base,
    missed,
    pct,
    repeat_to_budget,
    train_and_evaluate,
)
from suite_bench import (  # noqa: E402
    DEFAULT_EPOCHS,
    DEFAULT_RETENTION_LIMIT,
    DEFAULT_TOKEN_BUDGET,
    run_suite,
    suite_row_names,
)
from suite_bench import markdown as suite_markdown  # noqa: E402
from suite_format import read_suite  # noqa: E402

from kinject.config import RunConfig  # noqa: E402
from kinject.context import RunContext  # noqa: E402
from kinject.evaluation import EvalItem, load_eval_items  # noqa: E402
from kinject.pipeline import load_reference  # noqa: E402
from kinject.plugins import build_plugins  # noqa: E402
from kinject.records import Record  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent / "results"
DOMAINS = ("statutes", "drugs", "companies")


def conditions(ks: list[int], qa_options: dict[str, Any] | None = None) -> list[Condition]:
    rows = [Condition("no augmentation")]
    rows += [Condition(f"paraphrase x{k}", [("paraphrase", {"k": k})]) for k in ks]
    mid = 5 if 5 in ks else max(ks)
    # QA first, so its questions come from the source documents, not from the rewrites.
    qa = [("qa-generate", {"phrasings": 3, **(qa_options or {})}), ("paraphrase", {"k": mid})]
    rows.append(Condition(f"paraphrase x{mid} + QA", qa))
    # the same data with the ewc trainer: Fisher penalty + 20% general-text replay against
    # forgetting
    rows.append(
        Condition(
            f"paraphrase x{mid} + QA, ewc + replay",
            qa,
            trainer="ewc",
            trainer_options={"replay_ratio": 0.2},
        )
    )
    # retrieval over the documents, no training: the baseline every injection has to beat
    rows.append(Condition("rag (no training)", trainer="rag", equal_tokens=False))
    return rows


def load_corpus(domains: list[str]) -> tuple[list[Record], list[EvalItem]]:
    docs, items = [], []
    for domain in domains:
        path = HERE / "corpora" / domain / "corpus.md"
        docs.append(
            Record(
                text=path.read_text(encoding="utf-8"), source={"uri": str(path.relative_to(HERE))}
            )
        )
        items += load_eval_items(HERE / "corpora" / domain / "eval.jsonl")
    return docs, items


def run(args: argparse.Namespace) -> dict[str, Any]:
    from kinject.models import build_tiny_model, resolve_model

    work = Path(tempfile.mkdtemp(prefix="kinject-bench-"))
    model_dir = (
        build_tiny_model(work / "tiny") if args.model == "tiny" else resolve_model(args.model)
    )
    plugins = build_plugins()
    context = RunContext(
        run_dir=work / "run", config=RunConfig(seed=args.seed), plugins=plugins, show_progress=False
    )
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
        if args.only and not any(
            fnmatch.fnmatchcase(condition.name, pattern) for pattern in args.only
        ):
            continue
        records, aug_stats = sets[condition.name]
        train = (
            repeat_to_budget(records, base.tokenizer, budget) if condition.equal_tokens else records
        )
        t0 = time.perf_counter()
        result, metrics = train_and_evaluate(
            condition, train, Training(model_dir, work, context, reference, items, args)
        )
        row = {
            "condition": condition.name,
            "unique_records": len(records),
            "train_records": len(train),
            **headline(metrics),
            "train_tokens": result.metrics.get("train_tokens"),
            "train_time_s": result.metrics.get("train_time_s"),
            "wall_s": round(time.perf_counter() - t0, 1),
            "peak_memory_mb": result.metrics.get("peak_memory_mb"),
            "final_loss": result.metrics.get("final_train_loss"),
            "augmenters": aug_stats,
            "missed": missed(metrics),
        }
        rows.append(row)
        print(
            f"{condition.name}: "
            f"{json.dumps({k: v for k, v in row.items() if k not in ('augmenters', 'missed')})}",
            flush=True,
        )
    return {
        "model": args.model,
        "quick": args.quick,
        "domains": args.domains,
        "facts_eval_items": len(items),
        "epochs": args.epochs,
        "token_budget_per_epoch": budget,
        "seed": args.seed,
        "learning_rate": args.learning_rate,
        "qa_options": qa_options,
        "base": headline(base_metrics),
        "base_eval_s": round(base_eval_s, 1),
        "rows": rows,
        "command": " ".join(["python", "bench/knowledge/run.py", *sys.argv[1:]]),
    }


def markdown(report: dict[str, Any]) -> str:
    base = report["base"]
    lines = [
        f"Model `{report['model']}`, domains {', '.join(report['domains'])}, "
        f"{report['facts_eval_items']} held-out "
        f"questions, {report['epochs']} epochs over a budget of "
        f"{report['token_budget_per_epoch']} tokens per epoch.",
        "",
        "| condition | MC acc % | exact match % | retention % (change) | tokens trained | train s "
        "| wall s | peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| base model (no training) | {pct(base['mc_accuracy'])} | {pct(base['exact_match'])} | "
        f"{pct(base['retention'])} | 0 | - | - | - |",
    ]
    for row in report["rows"]:
        drop = (
            ""
            if row["retention"] is None or base["retention"] is None
            else f" ({100 * (row['retention'] - base['retention']):+.1f})"
        )
        lines.append(
            f"| {row['condition']} | {pct(row['mc_accuracy'])} | {pct(row['exact_match'])} | "
            f"{pct(row['retention'])}{drop} "
            f"| {row['train_tokens'] or 0} | {row['train_time_s']} | {row['wall_s']} | "
            f"{row['peak_memory_mb']} |"
        )
    lines += ["", f"Command: `{report['command']}`"]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default="smollm2-135m", help="tiny (random, plumbing only) or a model alias/path"
    )
    parser.add_argument(
        "--quick", action="store_true", help="one domain, k in 1,5, fewer retention items"
    )
    parser.add_argument("--domains", nargs="+", choices=DOMAINS, default=None)
    parser.add_argument(
        "--ks", nargs="+", type=int, default=None, help="paraphrase k values (default 1 3 5 10)"
    )
    parser.add_argument("--epochs", type=float, default=None)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument(
        "--learning-rate",
        type=float,
        default=None,
        help="trainer learning rate (default: the trainer's)",
    )
    parser.add_argument(
        "--qa",
        default=None,
        metavar="JSON",
        help="extra qa-generate options for the QA rows, e.g. '{\"values_per_fact\": 5}'",
    )
    parser.add_argument(
        "--suite",
        type=Path,
        action="append",
        default=None,
        metavar="DIR",
        help="a suite folder (corpus/, eval.jsonl, split.json) instead of the fictional domains; "
        "repeatable",
    )
    parser.add_argument(
        "--teacher",
        default=None,
        metavar="MODEL",
        help="suites: run the 'stronger model backend' row with this generator model (a GPU job)",
    )
    parser.add_argument(
        "--token-budget",
        type=int,
        default=None,
        metavar="TOKENS",
        help="suites: cap on the tokens per epoch of every trained row (default "
        f"{DEFAULT_TOKEN_BUDGET})",
    )
    parser.add_argument(
        "--only",
        "--conditions",
        dest="only",
        nargs="+",
        default=None,
        metavar="NAME",
        help="train only the conditions with one of these names (shell patterns: 'paraphrase*'); "
        "the token budget still comes from every condition",
    )
    parser.add_argument(
        "--passage-passes",
        type=int,
        default=1,
        metavar="R",
        help="suites: an augmented row reads its passages R times per epoch and fills the rest "
        "of the token budget with augmented records (default 1)",
    )
    parser.add_argument(
        "--fill",
        choices=FILLS,
        default="sample",
        help="suites: how an augmented row that does not fit the budget picks its records: "
        "sample (a seeded sample of all of them, the default) or qa-first (the question-answer "
        "pairs before the rewrites)",
    )
    parser.add_argument("--retention-limit", type=int, default=None)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.suite:
        return suite_args(parser, args)
    args.domains = args.domains or (["drugs"] if args.quick else list(DOMAINS))
    args.ks = args.ks or ([1, 5] if args.quick else [1, 3, 5, 10])
    args.epochs = args.epochs or 5.0
    args.retention_limit = args.retention_limit or (40 if args.quick else 1000)
    names = [c.name for c in conditions(args.ks)]
    if args.only and not any(
        fnmatch.fnmatchcase(name, pattern) for name in names for pattern in args.only
    ):
        parser.error(
            f"--only {' '.join(args.only)} matches no condition; the conditions are: "
            f"{', '.join(names)}"
        )
    if args.qa:
        try:
            if not isinstance(json.loads(args.qa), dict):
                raise ValueError("not an object")
        except ValueError as exc:
            parser.error(f"--qa must be a JSON object of qa-generate options ({exc})")
    return args


def suite_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    """Suite mode's defaults and checks (the fictional-domain options do not apply)."""
    if args.domains or args.ks or args.quick or args.qa:
        parser.error(
            "--suite runs its own rows; --domains, --ks, --quick and --qa are for the fictional "
            "corpora"
        )
    for path in args.suite:
        try:
            read_suite(path)
        except ValueError as exc:
            parser.error(str(exc))
    args.epochs = args.epochs or DEFAULT_EPOCHS
    args.token_budget = args.token_budget if args.token_budget is not None else DEFAULT_TOKEN_BUDGET
    args.retention_limit = args.retention_limit or DEFAULT_RETENTION_LIMIT
    names = suite_row_names()
    if args.only and not any(
        fnmatch.fnmatchcase(name, pattern) for name in names for pattern in args.only
    ):
        parser.error(
            f"--conditions {' '.join(args.only)} matches no row; the rows are: {', '.join(names)}"
        )
    return args


def main_suites(args: argparse.Namespace) -> int:
    for path in args.suite:
        report = run_suite(path, args)
        args.out.mkdir(parents=True, exist_ok=True)
        name = f"knowledge-{report['suite']}"
        (args.out / f"{name}.json").write_text(
            json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8"
        )
        table = suite_markdown(report)
        (args.out / f"{name}.md").write_text(table, encoding="utf-8")
        print(table)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.suite:
        return main_suites(args)
    report = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "knowledge.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    table = markdown(report)
    (args.out / "knowledge.md").write_text(table, encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
