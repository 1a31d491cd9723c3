"""What every row of the knowledge benchmark does: build its training set, fit it to the shared
token budget, train, and score the model (closed-book MC and exact match, retention)."""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kinject.chunking import TEXT_KINDS, passage_text
from kinject.components import TrainJob, TrainResult
from kinject.context import RunContext
from kinject.evaluation import EvalItem, EvalModel
from kinject.plugins import Plugins
from kinject.records import Record


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


def build_training_set(
    condition: Condition, docs: list[Record], context: RunContext
) -> tuple[list[Record], dict[str, Any]]:
    """Documents plus what the condition's augmenters add (as the engine appends them)."""
    records = list(docs)
    stats: dict[str, Any] = {}
    for name, options in condition.augmenters:
        augmenter = context.plugins.create("augmenter", name, options)
        augmenter.setup(context)
        records += list(augmenter.augment(records))
        stats[name] = {k: v for k, v in getattr(augmenter, "stats", {}).items() if k != "under_k"}
    return records, stats


def training_text(record: Record) -> str:
    """The text a trainer's row holds: a passage with its title line (``passage_text``), else the
    text.
    """
    return passage_text(record) if record.kind in TEXT_KINDS else record.text


def count_tokens(records: list[Record], tokenizer: Any) -> int:
    return sum(len(tokenizer(training_text(r))["input_ids"]) for r in records)


def repeat_to_budget(records: list[Record], tokenizer: Any, budget: int) -> list[Record]:
    """Cycle through ``records`` until their tokens reach ``budget`` (equal-token comparison)."""
    out: list[Record] = []
    total, i = 0, 0
    sizes = [len(tokenizer(training_text(r))["input_ids"]) for r in records]
    while total < budget:
        out.append(records[i % len(records)])
        total += sizes[i % len(records)]
        i += 1
    return out


#: how ``fit_to_budget`` draws the augmented records it keeps
FILLS = ("sample", "qa-first")


def fit_to_budget(
    records: list[Record],
    documents: int,
    tokenizer: Any,
    budget: int,
    seed: int,
    passes: int = 1,
    fill: str = "sample",
) -> list[Record]:
    """``records`` repeated to ``budget`` tokens when they fit in it; otherwise the first
    ``documents`` records (the corpus itself), ``passes`` times, and a seeded sample of the
    others, in their order, up to the budget.

    ``fill`` is how the sample is drawn: ``sample``, every augmented record alike; ``qa-first``,
    the question-answer records (``kind == "qa"``) before the rewrites, each group in seeded
    order. A rewrite restates a whole passage in a few hundred tokens where a QA pair states one
    fact in a few dozen, so a uniform sample of a set made mostly of rewrites trains few of its
    facts' questions."""
    if fill not in FILLS:
        raise ValueError(f"fill must be one of {', '.join(FILLS)}, not {fill!r}")
    sizes = [len(tokenizer(training_text(r))["input_ids"]) for r in records]
    if sum(sizes) <= budget:
        return repeat_to_budget(records, tokenizer, budget)
    total = passes * sum(sizes[:documents])
    extra = list(range(documents, len(records)))
    random.Random(seed).shuffle(extra)
    if fill == "qa-first":
        extra.sort(key=lambda i: records[i].kind != "qa")  # stable: seeded order within a group
    keep: list[int] = []
    for i in extra:
        if total >= budget:
            break
        keep.append(i)
        total += sizes[i]
    return records[:documents] * passes + [records[i] for i in sorted(keep)]


def evaluator(plugins: Plugins, name: str, options: dict[str, Any]) -> Any:
    """The registered evaluator, or (while its registration has not landed) the builtin class."""
    if name in plugins.registry("evaluator"):
        return plugins.create("evaluator", name, options)
    if name == "knowledge-qa":
        from kinject_plugins.evaluators.knowledge_qa import KnowledgeQAEvaluator

        return KnowledgeQAEvaluator(**options)
    from kinject_plugins.evaluators.retention import RetentionEvaluator

    return RetentionEvaluator(**options)


def evaluate(
    plugins: Plugins,
    model: EvalModel,
    items: list[EvalItem],
    context: RunContext,
    retention_limit: int,
) -> dict[str, Any]:
    knowledge = evaluator(
        plugins, "knowledge-qa", {"generate": True, "include_items": True, "max_new_tokens": 16}
    )
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
    return {
        "mc_accuracy": k.get("accuracy"),
        "exact_match": k.get("em"),
        "contains": k.get("contains"),
        "retention": r.get("accuracy"),
    }


def load_base(model_dir: Path) -> EvalModel:
    from kinject.models import load_causal_lm

    model, tokenizer = load_causal_lm(model_dir)
    model.eval()
    return EvalModel(model=model, tokenizer=tokenizer, label="base")


@dataclass
class Training:
    """What every trained row shares: the base model, a work folder, the run context, the
    reference set (EWC, replay), the questions, and the command-line settings."""

    model_dir: Path
    work: Path
    context: RunContext
    reference: list[Record]
    items: list[EvalItem]
    args: argparse.Namespace


def train_and_evaluate(
    condition: Condition, train: list[Record], setup: Training
) -> tuple[TrainResult, dict[str, Any]]:
    """Train the condition's trainer on ``train`` and score the trained model."""
    args, context = setup.args, setup.context
    shared = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "report_to": [],
        "save_steps": 10_000,
        "logging_steps": 50,
        **({"learning_rate": args.learning_rate} if args.learning_rate else {}),
    }
    options = {**(shared if condition.trainer != "rag" else {}), **condition.trainer_options}
    trainer = context.plugins.create("trainer", condition.trainer, options)
    trainer.setup(context)
    out_dir = setup.work / condition.name.replace(" ", "_").replace(",", "")
    result = trainer.train(
        TrainJob(
            base_model=setup.model_dir,
            train=train,
            output_dir=out_dir,
            context=context,
            reference=setup.reference,
        )
    )
    trained = trainer.load_for_eval(result, context)
    metrics = evaluate(context.plugins, trained, setup.items, context, args.retention_limit)
    return result, metrics


def pct(value: Any) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"
