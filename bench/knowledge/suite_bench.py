"""Suite mode of the knowledge benchmark: real text, questions split by document into two halves.

    python bench/knowledge/tatqa.py ../shared/data/finance/tatqa_dataset_dev.json --out
    bench/results/suites/tatqa
    python bench/knowledge/medquad.py ../shared/data/medical/medquad_subset.json --out
    bench/results/suites/medquad
    python bench/knowledge/run.py --suite bench/results/suites/tatqa --suite
    bench/results/suites/medquad   # smollm2-135m
    python bench/knowledge/run.py --suite bench/results/suites/tatqa --conditions 'rules*' 'no aug*'
    python bench/knowledge/run.py --suite bench/results/suites/tatqa --teacher MODEL             # +
    the GPU row
    python bench/knowledge/run.py --suite bench/results/suites/tatqa --model tiny --token-budget
    3000 --retention-limit 5

A suite (see ``suite_format``) is read as the engine reads a corpus folder: each ``corpus/*.md``
file goes through the ``text`` source with its default options (title from the ``#`` line,
sections of at most 2,000 characters, source uri = the file), then the engine's chunker cuts the
records to the ``sft`` trainer's ``max_length`` (title and section on every passage).
The rows: the base model; ``rag (no training)`` over the passages; ``no augmentation`` (the
passages only); ``rules backend`` (qa-generate, then paraphrase, both ``backend: rules``);
``model backend`` (the same with ``backend: model``: the embedded base model writes); and
``stronger model backend`` (``backend: model`` with ``model: <--teacher>``), "not run (needs a
GPU)" without ``--teacher``. A row whose augmenter refuses its options (a backend this checkout
does not have) is reported as not run, with the error.

Equal tokens: every trained row trains on the same number of tokens, the largest training set's
(the ``no augmentation`` and ``rules backend`` sets are always built for it, whatever
``--conditions`` selects), capped by ``--token-budget`` (default 60,000, with 1 epoch) but never
below twice the passages' tokens: a set smaller than the budget is repeated, a larger one keeps
every passage and a seeded sample of its augmented records. With the defaults (40 documents, ~80
questions, 21-24k tokens of passages for smollm2) a suite is three trainings of 60k tokens on
smollm2-135m, roughly 5-10 minutes each on a 2-core CPU, five evaluations of a minute or two, plus
the ``model backend``'s generation, whose length the backend decides.

Reported per row, for the ``tune`` and the ``held_out`` halves apart: MC accuracy (log-likelihood,
with n and the 95% Wilson interval), exact match of the greedy answer, retention and its change
from the base, tokens trained, seconds; and per augmented row the data-quality figures of
:func:`data_quality`. Tune on ``tune``; quote ``held_out``.
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from ablation import (
    Condition,
    Training,
    build_training_set,
    count_tokens,
    evaluate,
    fit_to_budget,
    load_base,
    missed,
    train_and_evaluate,
)
from suite_format import HALVES, Suite, read_suite

from kinject.chunk_stage import TokenBudget, chunk_stage, fit_records, trainer_max_length
from kinject.config import RunConfig
from kinject.context import RunContext
from kinject.evaluation import EvalItem, load_eval_items
from kinject.pipeline import load_reference
from kinject.plugins import build_plugins
from kinject.records import Record
from kinject.scoring import wilson_interval

BASE = "base (no training)"
NEEDS_GPU = "stronger model backend"
#: rows whose training sets are built even when not selected: the token budget comes from them
BUDGET_ROWS = ("no augmentation", "rules backend")
DEFAULT_TOKEN_BUDGET = 60_000
DEFAULT_EPOCHS = 1.0
DEFAULT_RETENTION_LIMIT = 200
#: answers served by one string are counted on documents with at least this many QA records
MIN_QA_PER_DOCUMENT = 3


def suite_conditions(teacher: str | None = None) -> list[Condition]:
    """The trained and retrieval rows of a suite, in report order (the base row comes first)."""

    def generated(name: str, **options: Any) -> Condition:
        # QA first, so its questions come from the passages, not from the rewrites
        return Condition(
            name,
            [("qa-generate", {"phrasings": 3, **options}), ("paraphrase", {"k": 5, **options})],
        )

    return [
        Condition("rag (no training)", trainer="rag", equal_tokens=False),
        Condition("no augmentation"),
        generated("rules backend", backend="rules"),
        generated("model backend", backend="model"),
        generated(NEEDS_GPU, backend="model", **({"model": teacher} if teacher else {})),
    ]


def suite_row_names() -> list[str]:
    return [BASE, *(c.name for c in suite_conditions())]


def selected(name: str, only: list[str] | None) -> bool:
    return not only or any(fnmatch.fnmatchcase(name, pattern) for pattern in only)


def load_passages(
    suite: Suite, context: RunContext, budget: TokenBudget
) -> tuple[list[Record], dict[str, Any]]:
    """The suite's documents, read by the ``text`` source as ``inject`` reads a corpus folder (its
    default options: sections of at most 2,000 characters), then cut by the engine's chunker."""
    source = context.plugins.create("source", "text", {})
    source.setup(context)
    records = [record for path in suite.documents for record in source.read(str(path))]
    return chunk_stage(records, context.config, budget)


def fitted(built: Built, context: RunContext, budget: TokenBudget) -> Built:
    """The training set as the engine's split stage leaves it: rewrites longer than the trainer's
    length cut again, QA pairs longer than it dropped (counted under ``stats['fit']``)."""
    records, stats = built
    counts: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    kept = []
    for record in fit_records(records, context.config, budget, counts):
        if isinstance(record, Record):
            kept.append(record)
        else:
            dropped[record.reason] += 1
    fit = {"recut": counts["recut"], "dropped": dict(dropped)}
    return kept, {**stats, **({"fit": fit} if counts or dropped else {})}


# -- scores --------------------------------------------------------------------------------------


def half_scores(metrics: dict[str, Any], items: list[EvalItem]) -> dict[str, dict[str, Any]]:
    """MC accuracy (n, 95% Wilson interval, per-character variant) and exact match per half."""
    half_of = {item.id: item.meta.get("half") for item in items}
    rows = metrics.get("knowledge", {}).get("items", [])
    out: dict[str, dict[str, Any]] = {}
    for half in HALVES:
        mine = [r for r in rows if half_of.get(r["id"]) == half and "correct" in r]
        hits, n = sum(bool(r["correct"]) for r in mine), len(mine)
        generated = [r for r in mine if "em" in r]
        out[half] = {
            "n": n,
            "hits": hits,
            "mc_accuracy": hits / n if n else None,
            "ci95": list(wilson_interval(hits, n)),
            "mc_accuracy_norm": sum(bool(r["correct_norm"]) for r in mine) / n if n else None,
            "exact_match": sum(bool(r["em"]) for r in generated) / len(generated)
            if generated
            else None,
        }
    return out


def data_quality(stats: dict[str, dict[str, Any]], records: list[Record]) -> dict[str, Any]:
    """Figures of the augmented data, from the augmenters' ``stats`` (missing: None) and the QA
    records.
    """
    para, qa = stats.get("paraphrase", {}), stats.get("qa-generate", {})
    total, under = para.get("facts_total"), para.get("facts_under_k")
    k_share = para.get("facts_at_k_share")
    if k_share is None and isinstance(total, int) and isinstance(under, int) and total > 0:
        k_share = 1 - under / total
    named = qa.get("named_subject_share")
    if named is None and isinstance(qa.get("named_subject"), int) and qa.get("questions"):
        named = qa["named_subject"] / qa["questions"]
    drops: dict[str, int] = Counter()
    for name, values in stats.items():
        # "dropped" (the filters' counts) where an augmenter has it, else "rejected": they overlap
        for reason, n in (values.get("dropped") or values.get("rejected") or {}).items():
            drops[f"{name}: {reason}"] += n
    return {
        "facts_with_k_phrasings": k_share,
        "k": para.get("k"),
        "named_subject_share": named,
        "drops": dict(drops),
        "top_answer": top_answer_share(records),
    }


def top_answer_share(records: list[Record]) -> dict[str, Any] | None:
    """The largest share of one document's generated questions that one answer string serves."""
    uri_of = {r.id: str(r.source.get("uri", "")) for r in records}
    answers: dict[str, Counter[str]] = defaultdict(Counter)
    for r in records:
        if r.kind == "qa" and r.meta.get("answer"):
            document = uri_of.get(str(r.meta.get("source_id"))) or str(r.source.get("uri", ""))
            answers[document][" ".join(str(r.meta["answer"]).split())] += 1
    best: dict[str, Any] | None = None
    for document, counts in sorted(answers.items()):
        n = sum(counts.values())
        answer, top = counts.most_common(1)[0]
        if n >= MIN_QA_PER_DOCUMENT and (best is None or top / n > best["share"]):
            best = {
                "share": top / n,
                "document": Path(document).stem,
                "answer": answer,
                "questions": n,
            }
    return best


# -- the run -------------------------------------------------------------------------------------


def suite_context(model_dir: Path, work: Path, seed: int) -> RunContext:
    """The run context every suite script builds its training sets in: the engine's defaults
    with ``seed`` and the base model, the registered plugins, no progress bars."""
    config = RunConfig(seed=seed, base_model=str(model_dir))
    return RunContext(
        run_dir=work / "run", config=config, plugins=build_plugins(), show_progress=False
    )


def run_suite(path: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Every selected row of one suite; returns the report (see :func:`markdown`)."""
    from kinject.models import build_tiny_model, resolve_model

    suite = read_suite(path)
    work = Path(tempfile.mkdtemp(prefix=f"kinject-bench-{suite.name}-"))
    model_dir = (
        build_tiny_model(work / "tiny") if args.model == "tiny" else resolve_model(args.model)
    )
    context = suite_context(model_dir, work, args.seed)
    config = context.config
    base = load_base(model_dir)
    lengths = TokenBudget(base.tokenizer, trainer_max_length(config, context.plugins))
    docs, chunk_stats = load_passages(suite, context, lengths)
    items = load_eval_items(suite.eval_path)
    setup = Training(model_dir, work, context, load_reference(config), items, args)
    print(
        f"{suite.name}: {len(suite.documents)} documents, {len(docs)} passages, {len(items)} "
        "questions",
        flush=True,
    )
    t0 = time.perf_counter()
    rows = [
        score_row(
            BASE,
            evaluate(context.plugins, base, items, context, args.retention_limit),
            items,
            time.perf_counter() - t0,
        )
    ]
    print(f"{BASE}: {brief(rows[0])}", flush=True)
    sets, seconds = build_sets(args, docs, context, lengths)
    sizes = {
        name: count_tokens(built[0], base.tokenizer)
        for name, built in sets.items()
        if isinstance(built, tuple)
    }
    largest, passages = max(sizes.values(), default=0), count_tokens(docs, base.tokenizer)
    budget = token_budget(largest, passages, args.token_budget)
    print(
        f"token budget: {budget} tokens x {args.epochs:g} epoch(s) = {budget * args.epochs:.0f} "
        "tokens per trained row "
        f"(largest training set {largest}, passages {passages}, --token-budget "
        f"{args.token_budget})",
        flush=True,
    )
    for condition in suite_conditions(args.teacher):
        if not selected(condition.name, args.only):
            continue
        built = sets.get(condition.name)
        if not isinstance(built, tuple):
            rows.append({"condition": condition.name, "status": built or "not run"})
        else:
            rows.append(run_row(condition, built, docs, budget, base.tokenizer, setup))
            rows[-1]["augment_s"] = seconds.get(condition.name)
        print(f"{condition.name}: {brief(rows[-1])}", flush=True)
    for row in rows[1:]:
        retention, base_retention = row.get("retention"), rows[0]["retention"]
        if retention is not None and base_retention is not None:
            row["retention_change"] = retention - base_retention
    return {
        "suite": suite.name,
        "path": str(path),
        "model": args.model,
        "documents": len(suite.documents),
        "passages": len(docs),
        "chunk": chunk_stats,
        "questions": dict(Counter(i.meta.get("half") for i in items)),
        "epochs": args.epochs,
        "token_budget_per_epoch": budget,
        "passage_passes": args.passage_passes,
        "fill": args.fill,
        "largest_training_set_tokens": largest,
        "passage_tokens": passages,
        "token_cap": args.token_budget,
        "seed": args.seed,
        "teacher": args.teacher,
        "rows": rows,
        "command": " ".join(["python", "bench/knowledge/run.py", *sys.argv[1:]]),
    }


Built = tuple[list[Record], dict[str, Any]]


def token_budget(largest: int, passages: int, cap: int | None) -> int:
    """The largest training set's tokens, capped by ``cap`` but never below twice the passages'
    (so that an augmented row trains on at least as many augmented tokens as passage tokens)."""
    return min(largest, max(cap, 2 * passages)) if cap else largest


def build_sets(
    args: argparse.Namespace, docs: list[Record], context: RunContext, lengths: TokenBudget
) -> tuple[dict[str, Built | str], dict[str, float]]:
    """Each selected condition's training set, or why it is not run (an augmenter that fails to
    start or to run is a row "not run: <error>", not a crash), and the seconds each took."""
    out: dict[str, Built | str] = {}
    seconds: dict[str, float] = {}
    for condition in suite_conditions(args.teacher):
        if not selected(condition.name, args.only) and condition.name not in BUDGET_ROWS:
            continue
        if condition.name == NEEDS_GPU and not args.teacher:
            out[condition.name] = "not run (needs a GPU)"
            continue
        t0 = time.perf_counter()
        try:
            out[condition.name] = fitted(
                build_training_set(condition, docs, context), context, lengths
            )
        # an options error of a backend this checkout lacks, or a failing generator
        except Exception as exc:
            message = " ".join(str(exc).split())[:300]
            out[condition.name] = f"not run: {type(exc).__name__}: {message}"
        seconds[condition.name] = round(time.perf_counter() - t0, 1)
    return out, seconds


def run_row(
    condition: Condition,
    built: Built,
    docs: list[Record],
    budget: int,
    tokenizer: Any,
    setup: Training,
) -> dict[str, Any]:
    records, stats = built
    train = (
        fit_to_budget(
            records,
            len(docs),
            tokenizer,
            budget,
            setup.args.seed,
            setup.args.passage_passes,
            setup.args.fill,
        )
        if condition.equal_tokens
        else records
    )
    t0 = time.perf_counter()
    result, metrics = train_and_evaluate(condition, train, setup)
    row = score_row(condition.name, metrics, setup.items, time.perf_counter() - t0)
    row.update(
        {
            "unique_records": len(records),
            "train_records": len(train),
            "train_tokens": result.metrics.get("train_tokens"),
            "train_time_s": result.metrics.get("train_time_s"),
            "final_loss": result.metrics.get("final_train_loss"),
            "augmenters": stats,
        }
    )
    if condition.augmenters:
        row["quality"] = data_quality(stats, records)
    return row


def score_row(
    name: str, metrics: dict[str, Any], items: list[EvalItem], seconds: float
) -> dict[str, Any]:
    return {
        "condition": name,
        "status": "run",
        "halves": half_scores(metrics, items),
        "retention": metrics.get("retention", {}).get("accuracy"),
        "wall_s": round(seconds, 1),
        "missed": missed(metrics),
    }


def brief(row: dict[str, Any]) -> str:
    if row.get("status") != "run":
        return str(row.get("status"))
    halves = " ".join(f"{h} {cell(row['halves'][h])}" for h in HALVES)
    return (
        f"{halves}; retention {pct(row.get('retention'))}; {row.get('train_tokens') or 0} "
        f"tokens; {row['wall_s']}s"
    )


# -- the report ----------------------------------------------------------------------------------


def pct(value: Any) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def cell(half: dict[str, Any]) -> str:
    lo, hi = half["ci95"]
    return f"{pct(half['mc_accuracy'])} [{100 * lo:.0f}, {100 * hi:.0f}] (n={half['n']})"


def markdown(report: dict[str, Any]) -> str:
    """The suite's tables: scores per half, then the augmented rows' data quality."""
    q = report["questions"]
    lines = [
        f"Suite `{report['suite']}` ({report['path']}): {report['documents']} documents "
        f"({report['passages']} passages), "
        f"{q.get('tune', 0)} tune / {q.get('held_out', 0)} held-out questions; model "
        f"`{report['model']}`; every trained row "
        f"{report['epochs']:g} epoch(s) over {report['token_budget_per_epoch']} tokens (largest "
        "training set "
        f"{report['largest_training_set_tokens']} tokens"
        + (
            f"; augmented rows read the passages {report['passage_passes']} times per epoch"
            if report.get("passage_passes", 1) > 1
            else ""
        )
        + (
            "; a set larger than that keeps its QA pairs before its rewrites"
            if report.get("fill") == "qa-first"
            else ""
        )
        + "). MC: log-likelihood accuracy % [95% "
        "Wilson interval].",
        "",
        "| condition | tune MC % | tune EM % | held-out MC % | held-out EM % | retention % "
        "(change) | tokens trained | augment s | train+eval s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["rows"]:
        if row.get("status") != "run":
            lines.append(f"| {row['condition']} | {row.get('status')} | | | | | | | |")
            continue
        tune, held = row["halves"]["tune"], row["halves"]["held_out"]
        change = row.get("retention_change")
        retention = pct(row.get("retention")) + (
            "" if change is None else f" ({100 * change:+.1f})"
        )
        lines.append(
            f"| {row['condition']} | {cell(tune)} | {pct(tune['exact_match'])} | {cell(held)} | "
            f"{pct(held['exact_match'])} | {retention} | {row.get('train_tokens') or 0} | "
            f"{row.get('augment_s') if row.get('augment_s') is not None else '-'} | "
            f"{row['wall_s']} |"
        )
    quality = [row for row in report["rows"] if row.get("quality")]
    if quality:
        lines += [
            "",
            "| augmented row | facts with >= k phrasings | questions naming their subject | drops "
            "per filter | "
            "largest share of one document's questions with one answer |",
            "|---|---:|---:|---|---|",
        ]
        lines += [quality_line(row) for row in quality]
    lines += ["", f"Command: `{report['command']}`"]
    return "\n".join(lines) + "\n"


def quality_line(row: dict[str, Any]) -> str:
    q = row["quality"]
    k = f"{pct(q['facts_with_k_phrasings'])}" + (f" (k={q['k']})" if q.get("k") is not None else "")
    drops = (
        ", ".join(
            f"{reason} {n}" for reason, n in sorted(q["drops"].items(), key=lambda kv: -kv[1])
        )
        or "none"
    )
    top = q.get("top_answer")
    share = (
        "n/a"
        if not top
        else f'{pct(top["share"])} ({top["document"]}: "{top["answer"][:40]}", {top["questions"]} '
        "questions)"
    )
    return f"| {row['condition']} | {k} | {pct(q['named_subject_share'])} | {drops} | {share} |"
