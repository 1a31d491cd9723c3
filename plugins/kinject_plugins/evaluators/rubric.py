"""``rubric``: greedy answers scored with the domain pack's rubric (see :mod:`kinject.rubric`).

``score`` is the mean weighted rubric total over the eval items; ``pass_rate`` the share of
answers that pass every applicable criterion; ``criteria.<id>.pass_rate`` how often each
criterion passed where it applied, so a report shows *which* rule a model breaks.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from kinject.components import Evaluator
from kinject.errors import ConfigError
from kinject.rubric import Rubric, RubricScore
from kinject_plugins.evaluators.generation import GenerationOptions, generate_answers
from kinject_plugins.evaluators.term_f1 import domain_terms

if TYPE_CHECKING:
    from kinject.context import RunContext
    from kinject.evaluation import EvalItem, EvalModel


class RubricOptions(GenerationOptions):
    path: Path | None = Field(default=None, description="a rubric YAML instead of the domain's")
    terms_path: Path | None = Field(
        default=None, description="a term list YAML instead of the domain's"
    )
    include_items: bool = True


class RubricEvaluator(Evaluator):
    """The domain rubric's weighted score of the model's greedy answers."""

    name = "rubric"
    description = "greedy answers scored with the domain pack's rubric"
    Options = RubricOptions
    opts: RubricOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.rubric: Rubric | None = None

    def setup(self, context: RunContext) -> None:
        self.rubric = self._load(context)

    def _load(self, context: RunContext) -> Rubric:
        has_terms = self.opts.terms_path is not None or (
            context.domain is not None and context.domain.terms
        )
        terms = domain_terms(context, self.opts.terms_path, self.name) if has_terms else []
        if self.opts.path is not None:
            return Rubric.load(self.opts.path, terms)
        if context.domain is None or context.domain.rubric is None:
            raise ConfigError(
                "rubric: needs a domain pack with a rubric, or the `path` option",
                source="evaluators",
            )
        return Rubric.from_dict(
            context.domain.load_rubric(), terms, source=str(context.domain.rubric)
        )

    def evaluate(
        self, model: EvalModel, items: Sequence[EvalItem], context: RunContext
    ) -> dict[str, Any]:
        rubric = self.rubric or self._load(self.context)
        self.rubric = rubric
        answers = generate_answers(model, items, self.opts.max_new_tokens, self.opts.batch_size)
        scores = [
            rubric.score(i.question, a, i.reference) for i, a in zip(items, answers, strict=True)
        ]
        metrics = summarize(rubric, scores)
        if self.opts.include_items:
            metrics["items"] = [
                {
                    "id": i.id,
                    "question": i.question,
                    "generation": a,
                    "reference": i.reference,
                    "score": s.total,
                    "failures": s.failures,
                }
                for i, a, s in zip(items, answers, scores, strict=True)
            ]
        return metrics


def summarize(rubric: Rubric, scores: list[RubricScore]) -> dict[str, Any]:
    """Mean score, full-pass rate and per-criterion pass rates."""
    n = len(scores)
    criteria: dict[str, dict[str, float]] = {}
    for criterion in rubric.criteria:
        outcomes = [s.per_criterion.get(criterion.id) for s in scores]
        applied = [o for o in outcomes if o is not None]
        criteria[criterion.id] = {
            "pass_rate": sum(applied) / len(applied) if applied else 1.0,
            "applied": len(applied),
        }
    return {
        "score": sum(s.total for s in scores) / n if n else 0.0,
        "pass_rate": sum(not s.failures for s in scores) / n if n else 0.0,
        "n": n,
        "criteria": criteria,
    }
