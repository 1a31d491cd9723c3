"""``term-f1``: do the answer and the reference name the same domain terms?

Terms come from the domain pack's term list (or ``terms_path``); a synonym counts as its term,
so "deposit" in the answer matches "earnest money" in the reference when the term list says so.
Per item, precision is the share of the answer's terms the reference also names, recall the
share of the reference's terms the answer names. ``f1`` is micro-averaged over all items;
``macro_f1`` averages item F1 over the items where either side names a term.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from kinject.components import Evaluator
from kinject.errors import ConfigError
from kinject.rubric import TermMatcher
from kinject_plugins.evaluators.generation import GenerationOptions, generate_answers

if TYPE_CHECKING:
    from kinject.context import RunContext
    from kinject.domains import Term
    from kinject.evaluation import EvalItem, EvalModel


def domain_terms(context: RunContext, path: Path | None, evaluator: str) -> list[Term]:
    """The term list at ``path``, else the run's domain pack's; a ConfigError when neither."""
    from kinject.domains import DomainPack

    if path is not None:
        if not path.is_file():
            raise ConfigError(f"{evaluator}: term list not found: {path}", source="evaluators")
        pack = DomainPack(
            name="terms", version="", description="", corpus=path.parent, eval=path, terms=path
        )
        return pack.load_terms()
    if context.domain is not None and context.domain.terms is not None:
        return context.domain.load_terms()
    raise ConfigError(
        f"{evaluator}: needs a domain pack with a term list, or the `terms_path` option",
        source="evaluators",
    )


class TermF1Options(GenerationOptions):
    terms_path: Path | None = Field(
        default=None, description="a term list YAML instead of the domain's"
    )
    include_items: bool = True


class TermF1Evaluator(Evaluator):
    """Precision, recall and F1 of the domain terms in greedy answers against the reference."""

    name = "term-f1"
    description = "domain-term precision/recall/F1 of greedy answers against the reference"
    Options = TermF1Options
    opts: TermF1Options

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.matcher: TermMatcher | None = None

    def setup(self, context: RunContext) -> None:
        terms = domain_terms(context, self.opts.terms_path, self.name)
        if not terms:
            raise ConfigError(f"{self.name}: the term list is empty", source="evaluators")
        self.matcher = TermMatcher(terms)

    def evaluate(
        self, model: EvalModel, items: Sequence[EvalItem], context: RunContext
    ) -> dict[str, Any]:
        if self.matcher is None:
            self.setup(self.context)
        assert self.matcher is not None
        scored = [item for item in items if item.reference]
        answers = generate_answers(model, scored, self.opts.max_new_tokens, self.opts.batch_size)
        rows = [self._row(item, answer) for item, answer in zip(scored, answers, strict=True)]
        metrics = term_f1(rows)
        if self.opts.include_items:
            metrics["items"] = rows
        return metrics

    def _row(self, item: EvalItem, answer: str) -> dict[str, Any]:
        assert self.matcher is not None
        got, want = set(self.matcher.found_in(answer)), set(self.matcher.found_in(item.reference))
        return {
            "id": item.id,
            "generation": answer,
            "reference": item.reference,
            "answer_terms": sorted(got),
            "reference_terms": sorted(want),
            "matched": sorted(got & want),
        }


def term_f1(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Micro and macro precision/recall/F1 from rows with answer/reference/matched term lists."""
    tp = sum(len(r["matched"]) for r in rows)
    predicted = sum(len(r["answer_terms"]) for r in rows)
    relevant = sum(len(r["reference_terms"]) for r in rows)
    with_terms = [r for r in rows if r["answer_terms"] or r["reference_terms"]]
    item_f1 = [
        _f1(len(r["matched"]), len(r["answer_terms"]), len(r["reference_terms"]))
        for r in with_terms
    ]
    precision = tp / predicted if predicted else 0.0
    recall = tp / relevant if relevant else 0.0
    return {
        "f1": _f1(tp, predicted, relevant),
        "precision": precision,
        "recall": recall,
        "macro_f1": sum(item_f1) / len(item_f1) if item_f1 else 0.0,
        "n": len(rows),
        "n_with_terms": len(with_terms),
    }


def _f1(tp: int, predicted: int, relevant: int) -> float:
    return 2 * tp / (predicted + relevant) if predicted + relevant else 0.0
