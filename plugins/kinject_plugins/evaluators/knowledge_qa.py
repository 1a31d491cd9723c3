"""``knowledge-qa``: closed-book multiple choice by log-likelihood, plus greedy exact match.

For each item every choice is scored as the continuation ``" " + choice`` after
``model.prompt(item.question)`` (so a retrieval-augmented model sees its passages). The model's
answer is the choice with the highest total log-probability (``accuracy``); ``accuracy_norm``
divides each total by the choice's length in characters first, which removes the bias toward
short choices (lm-evaluation-harness's ``acc`` and ``acc_norm``). ``headline: norm`` makes the
normalised one the reported ``accuracy``.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kinject.components import Evaluator
from kinject_plugins.evaluators.generation import generate_answers
from kinject_plugins.evaluators.loglik import score_continuations

if TYPE_CHECKING:
    from kinject.context import RunContext
    from kinject.evaluation import EvalItem, EvalModel


class KnowledgeQAOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    headline: Literal["sum", "norm"] = Field(
        default="sum", description="which score `accuracy` reports: total log-prob or per-character"
    )
    batch_size: int = Field(default=16, ge=1, description="sequences scored per forward pass")
    generate: bool | None = Field(
        default=None,
        description="also greedy-generate answers for em/contains; default: when small",
    )
    generate_max_items: int = Field(
        default=200, ge=0, description="`generate: null` is on up to this"
    )
    max_new_tokens: int = Field(default=32, ge=1, le=1024)
    include_items: bool = Field(default=True, description="return per-item results under `items`")


class KnowledgeQAEvaluator(Evaluator):
    """Closed-book multiple-choice accuracy (log-likelihood) and greedy exact match."""

    name = "knowledge-qa"
    description = "closed-book multiple choice by log-likelihood; exact match of greedy answers"
    Options = KnowledgeQAOptions
    opts: KnowledgeQAOptions

    def evaluate(
        self, model: EvalModel, items: Sequence[EvalItem], context: RunContext
    ) -> dict[str, Any]:
        return score_knowledge_qa(model, items, self.opts)


def score_knowledge_qa(
    model: EvalModel, items: Sequence[EvalItem], opts: KnowledgeQAOptions
) -> dict[str, Any]:
    """The knowledge-qa metrics of ``model`` on ``items`` (shared with ``retention``)."""
    mc_items = [item for item in items if item.choices and item.answer is not None]
    rows = [_choice_row(item) for item in mc_items]
    pairs = [
        (model.prompt(item.question), " " + choice) for item in mc_items for choice in item.choices
    ]
    scores = iter(
        score_continuations(model.model, model.tokenizer, pairs, batch_size=opts.batch_size)
    )
    for item, row in zip(mc_items, rows, strict=True):
        logprobs = [next(scores).logprob for _ in item.choices]
        row.update(_judge_choices(item, logprobs))
    do_generate = (
        opts.generate if opts.generate is not None else len(items) <= opts.generate_max_items
    )
    metrics: dict[str, Any] = {"n": len(mc_items), "headline": opts.headline}
    if mc_items:
        metrics.update(_choice_metrics(rows, opts.headline))
    if do_generate and items:
        metrics.update(_generation_metrics(model, items, rows, mc_items, opts))
    if opts.include_items:
        metrics["items"] = rows
    return metrics


def _choice_row(item: EvalItem) -> dict[str, Any]:
    return {"id": item.id, "category": item.category or "uncategorized", "question": item.question}


def _judge_choices(item: EvalItem, logprobs: list[float]) -> dict[str, Any]:
    # the +1 keeps an (invalid) empty choice from dividing by zero
    normed = [lp / (len(choice) + 1) for lp, choice in zip(logprobs, item.choices, strict=True)]
    chosen = _argmax(logprobs)
    chosen_norm = _argmax(normed)
    return {
        "answer": item.answer,
        "chosen": chosen,
        "chosen_text": item.choices[chosen],
        "correct": chosen == item.answer,
        "chosen_norm": chosen_norm,
        "correct_norm": chosen_norm == item.answer,
        "logprobs": [round(lp, 4) for lp in logprobs],
    }


def _argmax(values: list[float]) -> int:
    """Index of the largest value; ties go to the first, so results are deterministic."""
    return max(range(len(values)), key=lambda i: (values[i], -i))


def _choice_metrics(rows: list[dict[str, Any]], headline: str) -> dict[str, Any]:
    n = len(rows)
    acc_sum = sum(r["correct"] for r in rows) / n
    acc_norm = sum(r["correct_norm"] for r in rows) / n
    key = "correct" if headline == "sum" else "correct_norm"
    by_category: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        by_category[r["category"]].append(bool(r[key]))
    return {
        "accuracy": acc_sum if headline == "sum" else acc_norm,
        "accuracy_sum": acc_sum,
        "accuracy_norm": acc_norm,
        "per_category": {
            cat: {"accuracy": sum(hits) / len(hits), "n": len(hits)}
            for cat, hits in sorted(by_category.items())
        },
    }


def _generation_metrics(
    model: EvalModel,
    items: Sequence[EvalItem],
    rows: list[dict[str, Any]],
    mc_items: list[EvalItem],
    opts: KnowledgeQAOptions,
) -> dict[str, Any]:
    gen_items = [item for item in items if item.reference]
    answers = generate_answers(model, gen_items, opts.max_new_tokens)
    by_id = {row["id"]: row for row in rows}
    em_hits = contains_hits = 0
    for item, answer in zip(gen_items, answers, strict=True):
        em, contains = exact_match(answer, item.reference), contains_match(answer, item.reference)
        em_hits += em
        contains_hits += contains
        row = by_id.get(item.id)
        if row is None:
            row = _choice_row(item)
            rows.append(row)
        row.update(
            {"generation": answer, "reference": item.reference, "em": em, "contains": contains}
        )
    n = len(gen_items)
    return {
        "em": em_hits / n if n else 0.0,
        "contains": contains_hits / n if n else 0.0,
        "n_generated": n,
    }


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation) | {"。", "，", "、", "；", "：", "？", "！", "“", "”", "（", "）"}


def normalize_answer(text: str) -> str:
    """SQuAD-style normal form: NFKC, lower case, no punctuation, no English articles."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(answer: str, reference: str) -> bool:
    """The answer and the reference are equal after :func:`normalize_answer`."""
    return normalize_answer(answer) == normalize_answer(reference)


def contains_match(answer: str, reference: str) -> bool:
    """The normalised reference occurs in the normalised answer (on word boundaries)."""
    ref, ans = normalize_answer(reference), normalize_answer(answer)
    if not ref:
        return False
    if ref.isascii():
        return f" {ref} " in f" {ans} "
    return ref in ans
